"""Infographic nodes: charts from structured data (matplotlib) and title-and-bullets cards (Pillow).

Charts take either one list of ``values`` or several named ``series``, one value per label; the
lengths are checked before the run so a mismatch is a 422 naming the field. SVG charts are stored
as ``image/svg+xml`` files; everything else is PNG.
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, FiniteFloat, ValidationInfo, field_validator

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY
from pixelmill.providers.cards import CardSpec, render_card
from pixelmill.providers.charts import (
    ChartFormat,
    ChartSpec,
    ChartType,
    Palette,
    Series,
    Theme,
    render_chart,
    render_chart_image,
)
from pixelmill.providers.local_media import MAX_CHART_SIDE
from pixelmill.providers.video_motion import Fit

HexColour = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
Label = Annotated[str, Field(max_length=80)]
MAX_POINTS = 60
MAX_SERIES = 8
SVG_MIME = "image/svg+xml"


class ChartSeries(BaseModel):
    """One named row of values, one per label."""

    name: str = Field(default="", max_length=60)
    values: list[FiniteFloat] = Field(min_length=1, max_length=MAX_POINTS)


class ChartOutput(BaseModel):
    image: ImageRef = Field(description="The chart (PNG, or SVG when asked)")


class CardOutput(BaseModel):
    image: ImageRef = Field(description="The card as a PNG")


def _check_length(values: list[float], info: ValidationInfo) -> None:
    labels = info.data.get("labels")
    if labels is not None and len(values) != len(labels):
        raise ValueError(f"has {len(values)} values for {len(labels)} labels")


@node("infographic.chart", version="1.0.0", category="infographic")
class InfographicChart(BaseNode):
    """Draw a chart from data: bar, horizontal bar, line, area, pie, donut or a grid of stat cards,
    with a title, a palette and value labels; PNG or SVG."""

    chart_type: ChartType = Field(default="bar", description="bar, horizontal_bar, line, area, pie, donut, stat_cards")
    labels: list[Label] = Field(min_length=1, max_length=MAX_POINTS, description="Category names, one per value")
    values: list[FiniteFloat] | None = Field(default=None, description="One value per label (a single series)")
    series: list[ChartSeries] | None = Field(
        default=None, max_length=MAX_SERIES, description="Several named series instead of values"
    )
    deltas: list[FiniteFloat | None] | None = Field(
        default=None, description="stat_cards: change in percent per label, shown as ▲/▼"
    )
    title: str = Field(default="", max_length=120)
    subtitle: str = Field(default="", max_length=200)
    palette: Palette = Field(default="vivid", description="Colour set")
    colors: list[HexColour] | None = Field(default=None, max_length=12, description="Explicit colours #RRGGBB")
    theme: Theme = Field(default="light", description="light or dark background")
    width: int = Field(default=1200, ge=320, le=MAX_CHART_SIDE, description="Width in pixels")
    height: int = Field(default=800, ge=240, le=MAX_CHART_SIDE, description="Height in pixels")
    format: ChartFormat = Field(default="png", description="png or svg")
    value_labels: bool = Field(default=True, description="Write each value on its bar, point or slice")
    value_prefix: str = Field(default="", max_length=8, description='Before each value, e.g. "$"')
    value_suffix: str = Field(default="", max_length=8, description='After each value, e.g. "%"')
    x_label: str = Field(default="", max_length=80)
    y_label: str = Field(default="", max_length=80)

    base_cost: ClassVar[int] = 10

    @field_validator("values")
    @classmethod
    def _values_match_labels(cls, values: list[float] | None, info: ValidationInfo) -> list[float] | None:
        if values is not None:
            _check_length(values, info)
        return values

    @field_validator("series")
    @classmethod
    def _series_match_labels(cls, series: list[ChartSeries] | None, info: ValidationInfo) -> list[ChartSeries] | None:
        if series is None:
            return None
        if not series:
            raise ValueError("needs at least one series")
        for row in series:
            _check_length(row.values, info)
        if len(series) > 1 and info.data.get("chart_type") in ("pie", "donut", "stat_cards"):
            raise ValueError(f"{info.data['chart_type']} charts show one series")
        return series

    @field_validator("deltas")
    @classmethod
    def _deltas_match_labels(cls, deltas: list[float | None] | None, info: ValidationInfo) -> list[float | None] | None:
        labels = info.data.get("labels")
        if deltas is not None and labels is not None and len(deltas) != len(labels):
            raise ValueError(f"has {len(deltas)} entries for {len(labels)} labels")
        return deltas

    def spec(self) -> ChartSpec:
        """The chart to draw; INVALID_INPUT naming the field when the data cannot make it."""
        if (self.values is None) == (self.series is None):
            raise PixelmillError(errors.INVALID_INPUT, "Give either values or series", field="values")
        rows = (
            tuple(Series(row.name, tuple(row.values)) for row in self.series)
            if self.series is not None
            else (Series("", tuple(self.values or ())),)
        )
        field = "series" if self.series is not None else "values"
        if self.chart_type in ("pie", "donut"):
            slices = rows[0].values
            if any(v < 0 for v in slices) or not math.fsum(slices) > 0:
                raise PixelmillError(
                    errors.INVALID_INPUT, "Pie values must be zero or more, and not all zero", field=field
                )
        return ChartSpec(
            kind=self.chart_type,
            labels=tuple(self.labels),
            series=rows,
            title=self.title,
            subtitle=self.subtitle,
            palette=self.palette,
            colors=tuple(self.colors or ()),
            theme=self.theme,
            width=self.width,
            height=self.height,
            value_labels=self.value_labels,
            prefix=self.value_prefix,
            suffix=self.value_suffix,
            x_label=self.x_label,
            y_label=self.y_label,
            deltas=tuple(self.deltas or ()),
        )

    async def run(self, ctx: NodeContext) -> ChartOutput:
        spec = self.spec()  # the executor adds node_id to any error raised here
        if self.format == "svg":
            data = await ctx.run_blocking(render_chart, spec, "svg")
            stored = await ctx.media.save_bytes(data, mime=SVG_MIME)
            fields = stored.model_dump(exclude={"kind"})
            fields.update(mime=SVG_MIME, width=self.width, height=self.height)
            return ChartOutput(image=ImageRef(**fields))
        picture = await ctx.run_blocking(render_chart_image, spec)
        return ChartOutput(image=await ctx.media.save_image(picture, format="png"))


@node("infographic.card", version="1.0.0", category="infographic")
class InfographicCard(BaseNode):
    """Lay out an info card: a title, bullet points and an optional picture (beside the text on wide
    canvases, under the title on tall ones), with fitted type sizes. PNG."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = IMAGE_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["image.convert"]

    title: str = Field(min_length=1, max_length=200, description="The headline")
    bullets: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=12, description="Points under the title"
    )
    image: ImageRef | None = Field(default=None, description="Optional picture")
    image_fit: Fit = Field(default="cover", description="cover crops the picture to its box; contain shows all of it")
    footer: str = Field(default="", max_length=160, description="Small print at the bottom")
    width: int = Field(default=1200, ge=320, le=MAX_CHART_SIDE, description="Width in pixels")
    height: int = Field(default=675, ge=320, le=MAX_CHART_SIDE, description="Height in pixels")
    palette: Palette = Field(default="vivid", description="Colour set; its first colour is the accent")
    accent: HexColour | None = Field(default=None, description="Accent colour #RRGGBB instead of the palette's")
    theme: Theme = Field(default="light", description="light or dark background")

    base_cost: ClassVar[int] = 10

    async def run(self, ctx: NodeContext) -> CardOutput:
        picture = await ctx.media.load_image(self.image) if self.image is not None else None
        spec = CardSpec(
            title=self.title,
            bullets=tuple(self.bullets),
            footer=self.footer,
            width=self.width,
            height=self.height,
            palette=self.palette,
            accent=self.accent,
            theme=self.theme,
            image_fit=self.image_fit,
        )
        card = await ctx.run_blocking(render_card, spec, picture)
        return CardOutput(image=await ctx.media.save_image(card, format="png"))
