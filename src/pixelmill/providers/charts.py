"""Charts from structured data with matplotlib: bars, lines, areas, pies, donuts and stat cards.

Each chart gets its own ``matplotlib.figure.Figure`` and Agg canvas; pyplot and its global
figure registry are never touched, so charts render safely from several worker threads at once.
Styling (colours, font sizes, theme) is passed to each artist rather than set in the global
``rcParams``. The output is exactly ``width`` x ``height`` pixels for PNG; SVG keeps text as
paths, so it looks the same on machines without the DejaVu fonts.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image

from pixelmill.providers.media_deps import MATPLOTLIB_HINT, import_optional

ChartType = Literal["bar", "horizontal_bar", "line", "area", "pie", "donut", "stat_cards"]
Palette = Literal["vivid", "pastel", "ocean", "sunset", "forest", "mono"]
Theme = Literal["light", "dark"]
ChartFormat = Literal["png", "svg"]

PALETTES: dict[str, tuple[str, ...]] = {
    "vivid": ("#4C6EF5", "#F76707", "#12B886", "#E64980", "#FAB005", "#7950F2", "#15AABF", "#82C91E"),
    "pastel": ("#74C0FC", "#FFC078", "#8CE99A", "#F783AC", "#FFE066", "#B197FC", "#66D9E8", "#C0EB75"),
    "ocean": ("#0B7285", "#1971C2", "#3BC9DB", "#4263EB", "#15AABF", "#74C0FC", "#099268", "#A5D8FF"),
    "sunset": ("#C2255C", "#E8590C", "#F59F00", "#862E9C", "#F03E3E", "#FF922B", "#FCC419", "#D6336C"),
    "forest": ("#2B8A3E", "#5C940D", "#087F5B", "#E67700", "#66A80F", "#37B24D", "#A9E34B", "#0CA678"),
    "mono": ("#212529", "#495057", "#868E96", "#ADB5BD", "#343A40", "#6C757D", "#CED4DA", "#1C7ED6"),
}
THEMES: dict[str, dict[str, str]] = {
    "light": {"background": "#FFFFFF", "text": "#212529", "muted": "#6C757D", "grid": "#E9ECEF", "card": "#F8F9FA"},
    "dark": {"background": "#1A1B1E", "text": "#F1F3F5", "muted": "#ADB5BD", "grid": "#343A40", "card": "#25262B"},
}
UP_COLOUR, DOWN_COLOUR = "#2F9E44", "#E03131"
_SVG_SIZE = re.compile(r'width="[0-9.]+pt" height="[0-9.]+pt"')
DPI = 100


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """Everything one chart needs; values are validated by the caller (same lengths, pie non-negative)."""

    kind: ChartType
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    title: str = ""
    subtitle: str = ""
    palette: Palette = "vivid"
    colors: tuple[str, ...] = ()  # explicit colours win over the palette
    theme: Theme = "light"
    width: int = 1200
    height: int = 800
    value_labels: bool = True
    prefix: str = ""  # "$" in "$1.2k"
    suffix: str = ""  # "%" in "42%"
    x_label: str = ""
    y_label: str = ""
    deltas: tuple[float | None, ...] = field(default=())  # stat cards: change in percent, per label


def format_value(value: float, prefix: str = "", suffix: str = "") -> str:
    """A short human number: 1,234 / 12.3k / 4.5M / 0.25, with the unit around it."""
    magnitude = abs(value)
    for limit, scale, letter in ((1e12, 1e12, "T"), (1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if magnitude >= limit:
            text = f"{value / scale:.1f}".removesuffix(".0") + letter
            break
    else:
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{prefix}{text}{suffix}"


def _colours(spec: ChartSpec) -> list[str]:
    return list(spec.colors) or list(PALETTES[spec.palette])


def _font_sizes(spec: ChartSpec) -> dict[str, float]:
    """Font sizes in points that scale with the picture, so a 4K chart is not all margins."""
    unit = min(spec.width, spec.height) / DPI * 72 / 100  # points per 1% of the short side
    return {"title": 5.0 * unit, "subtitle": 3.0 * unit, "tick": 2.6 * unit, "label": 2.4 * unit, "big": 8.0 * unit}


def _style_axes(ax: Any, spec: ChartSpec, sizes: dict[str, float], *, grid_axis: str) -> None:
    colours = THEMES[spec.theme]
    ax.set_facecolor(colours["background"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(colours["grid"])
    ax.tick_params(colors=colours["muted"], labelsize=sizes["tick"], length=0, pad=sizes["tick"] * 0.6)
    ax.grid(axis=grid_axis, color=colours["grid"], linewidth=1)
    ax.set_axisbelow(True)
    if spec.x_label:
        ax.set_xlabel(spec.x_label, color=colours["muted"], fontsize=sizes["label"])
    if spec.y_label:
        ax.set_ylabel(spec.y_label, color=colours["muted"], fontsize=sizes["label"])
    ax.yaxis.set_major_formatter(_value_formatter(spec) if grid_axis == "y" else ax.yaxis.get_major_formatter())
    if grid_axis == "x":
        ax.xaxis.set_major_formatter(_value_formatter(spec))


def _value_formatter(spec: ChartSpec) -> Any:
    ticker = import_optional("matplotlib.ticker", MATPLOTLIB_HINT)
    return ticker.FuncFormatter(lambda value, _pos: format_value(value, spec.prefix, spec.suffix))


def _legend(ax: Any, spec: ChartSpec, sizes: dict[str, float]) -> None:
    if len(spec.series) > 1:
        colours = THEMES[spec.theme]
        legend = ax.legend(frameon=False, fontsize=sizes["label"], labelcolor=colours["text"])
        legend.set_zorder(5)


def _draw_bars(ax: Any, spec: ChartSpec, sizes: dict[str, float]) -> None:
    horizontal = spec.kind == "horizontal_bar"
    count = len(spec.series)
    width = 0.8 / count
    positions = list(range(len(spec.labels)))
    colours = _colours(spec)
    for index, series in enumerate(spec.series):
        offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
        # One series: a colour per bar reads better; several: a colour per series.
        colour = colours[index % len(colours)] if count > 1 else [colours[i % len(colours)] for i in positions]
        draw = ax.barh if horizontal else ax.bar
        bars = draw(offsets, series.values, width * 0.9, color=colour, label=series.name, zorder=3)
        if spec.value_labels:
            texts = [format_value(v, spec.prefix, spec.suffix) for v in series.values]
            ax.bar_label(bars, labels=texts, padding=3, fontsize=sizes["label"], color=THEMES[spec.theme]["text"])
    if horizontal:
        ax.set_yticks(positions, spec.labels)
        ax.invert_yaxis()  # first label on top, as it is read
    else:
        ax.set_xticks(positions, spec.labels)
        longest = max((len(label) for label in spec.labels), default=0)
        if longest * len(spec.labels) > 60:
            ax.tick_params(axis="x", labelrotation=30)
            for label in ax.get_xticklabels():
                label.set_horizontalalignment("right")
    ax.margins(**({"x": 0.12} if horizontal else {"y": 0.12}))
    _floor_at_zero(ax, spec, horizontal=horizontal)
    _style_axes(ax, spec, sizes, grid_axis="x" if horizontal else "y")
    _legend(ax, spec, sizes)


def _floor_at_zero(ax: Any, spec: ChartSpec, *, horizontal: bool) -> None:
    """Bars and areas of non-negative data start at zero; a margin below it would look like data."""
    if all(v >= 0 for series in spec.series for v in series.values):
        if horizontal:
            ax.set_xlim(left=0)
        else:
            ax.set_ylim(bottom=0)


def _draw_lines(ax: Any, spec: ChartSpec, sizes: dict[str, float]) -> None:
    colours = _colours(spec)
    positions = list(range(len(spec.labels)))
    line_width = max(1.5, sizes["label"] / 6)
    for index, series in enumerate(spec.series):
        colour = colours[index % len(colours)]
        ax.plot(positions, series.values, color=colour, linewidth=line_width, marker="o",
                markersize=line_width * 2.2, label=series.name, zorder=3)  # fmt: skip
        if spec.kind == "area":
            ax.fill_between(positions, series.values, color=colour, alpha=0.18, zorder=2)
        if spec.value_labels and len(positions) <= 16:
            for x, y in zip(positions, series.values, strict=True):
                ax.annotate(format_value(y, spec.prefix, spec.suffix), (x, y), textcoords="offset points",
                            xytext=(0, sizes["label"] * 0.8), ha="center", fontsize=sizes["label"] * 0.9,
                            color=THEMES[spec.theme]["text"])  # fmt: skip
    ax.set_xticks(positions, spec.labels)
    ax.margins(x=0.05, y=0.15)
    if spec.kind == "area":
        _floor_at_zero(ax, spec, horizontal=False)
    _style_axes(ax, spec, sizes, grid_axis="y")
    _legend(ax, spec, sizes)


def _draw_pie(ax: Any, spec: ChartSpec, sizes: dict[str, float]) -> None:
    colours = _colours(spec)
    values = spec.series[0].values
    theme = THEMES[spec.theme]
    ring = (
        {"width": 0.42, "edgecolor": theme["background"]}
        if spec.kind == "donut"
        else {"edgecolor": theme["background"]}
    )
    total = sum(values)
    wedges, _texts = ax.pie(values, colors=[colours[i % len(colours)] for i in range(len(values))],
                            startangle=90, counterclock=False, wedgeprops={**ring, "linewidth": 2})  # fmt: skip
    if spec.value_labels:
        for wedge, value in zip(wedges, values, strict=True):
            if total and value / total >= 0.04:  # thinner slices would not hold their label
                angle = math.radians((wedge.theta1 + wedge.theta2) / 2)
                radius = 0.79 if spec.kind == "donut" else 0.65
                ax.text(radius * math.cos(angle), radius * math.sin(angle), f"{100 * value / total:.0f}%",
                        ha="center", va="center", fontsize=sizes["label"], color="#FFFFFF", weight="bold")  # fmt: skip
    if spec.kind == "donut":
        ax.text(0, 0, format_value(total, spec.prefix, spec.suffix), ha="center", va="center",
                fontsize=sizes["subtitle"] * 1.3, color=theme["text"], weight="bold")  # fmt: skip
    legend_labels = [
        f"{label}  {format_value(v, spec.prefix, spec.suffix)}" for label, v in zip(spec.labels, values, strict=True)
    ]
    ax.legend(wedges, legend_labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
              fontsize=sizes["label"], labelcolor=theme["text"])  # fmt: skip
    ax.set_aspect("equal")


def _draw_stat_cards(fig: Any, spec: ChartSpec, sizes: dict[str, float], top: float) -> None:
    patches = import_optional("matplotlib.patches", MATPLOTLIB_HINT)
    theme = THEMES[spec.theme]
    colours = _colours(spec)
    values = spec.series[0].values
    count = len(values)
    aspect = spec.width / spec.height
    columns = max(1, min(count, round(math.sqrt(count * aspect / 1.6))))
    rows = math.ceil(count / columns)
    ax = fig.add_axes((0.0, 0.0, 1.0, top))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    gap_x, gap_y = 0.025, 0.025 * aspect
    cell_w, cell_h = (1 - gap_x) / columns, (1 - gap_y) / rows
    fit = min(1.0, 3.2 / max(columns, rows * 0.8))
    for index, value in enumerate(values):
        row, column = divmod(index, columns)
        x0, y1 = gap_x + column * cell_w, 1 - gap_y - row * cell_h
        x, y, w, h = x0, y1 - cell_h + gap_y, cell_w - gap_x, cell_h - gap_y
        ax.add_patch(patches.FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.015",
                                            facecolor=theme["card"], edgecolor=theme["grid"], linewidth=1))  # fmt: skip
        ax.add_patch(patches.Rectangle((x, y + h - 0.012), w, 0.012, facecolor=colours[index % len(colours)]))
        centre = x + w / 2
        ax.text(centre, y + h * 0.58, format_value(value, spec.prefix, spec.suffix), ha="center", va="center",
                fontsize=sizes["big"] * fit, weight="bold", color=colours[index % len(colours)])  # fmt: skip
        ax.text(centre, y + h * 0.3, spec.labels[index], ha="center", va="center",
                fontsize=sizes["subtitle"] * fit, color=theme["muted"])  # fmt: skip
        delta = spec.deltas[index] if index < len(spec.deltas) else None
        if delta is not None:
            arrow, colour = ("▲", UP_COLOUR) if delta >= 0 else ("▼", DOWN_COLOUR)
            ax.text(centre, y + h * 0.14, f"{arrow} {abs(delta):.1f}%".replace(".0%", "%"), ha="center",
                    va="center", fontsize=sizes["label"] * fit, color=colour)  # fmt: skip


def _figure(spec: ChartSpec) -> Any:
    """A drawn figure with its own Agg canvas (no pyplot, no shared state)."""
    figure_module = import_optional("matplotlib.figure", MATPLOTLIB_HINT)
    agg = import_optional("matplotlib.backends.backend_agg", MATPLOTLIB_HINT)
    theme = THEMES[spec.theme]
    sizes = _font_sizes(spec)
    fig = figure_module.Figure(figsize=(spec.width / DPI, spec.height / DPI), dpi=DPI, facecolor=theme["background"])
    agg.FigureCanvasAgg(fig)
    heading = _heading_height(spec, sizes)
    if spec.title:
        fig.text(0.03, 1 - 0.35 * heading, spec.title, fontsize=sizes["title"], weight="bold", color=theme["text"],
                 va="center")  # fmt: skip
    if spec.subtitle:
        fig.text(0.03, 1 - 0.78 * heading, spec.subtitle, fontsize=sizes["subtitle"], color=theme["muted"], va="center")
    top = 1 - heading
    if spec.kind == "stat_cards":
        _draw_stat_cards(fig, spec, sizes, top)
        return fig
    ax = fig.add_subplot()
    if spec.kind in ("pie", "donut"):
        _draw_pie(ax, spec, sizes)
    elif spec.kind in ("line", "area"):
        _draw_lines(ax, spec, sizes)
    else:
        _draw_bars(ax, spec, sizes)
    # Fit the axes, tick labels and legend below the heading, however long the labels are.
    fig.tight_layout(rect=(0.02, 0.02, 0.98, top), pad=0.6)
    return fig


def render_chart(spec: ChartSpec, fmt: ChartFormat = "png") -> bytes:
    """The chart as PNG or SVG bytes."""
    fig = _figure(spec)
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    fig.savefig(buffer, format=fmt, dpi=DPI, facecolor=THEMES[spec.theme]["background"], metadata=metadata)
    if fmt == "svg":
        # matplotlib sizes SVGs in points (72 per inch); state the pixel size asked for, which
        # browsers then honour, and keep the viewBox so the drawing scales to it.
        return _SVG_SIZE.sub(
            f'width="{spec.width}" height="{spec.height}"', buffer.getvalue().decode(), count=1
        ).encode()
    return buffer.getvalue()


def render_chart_image(spec: ChartSpec) -> Image.Image:
    """The chart as an RGB picture of exactly width x height, without a PNG round trip."""
    fig = _figure(spec)
    fig.canvas.draw()
    return Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")


def _heading_height(spec: ChartSpec, sizes: dict[str, float]) -> float:
    """Share of the height taken by title and subtitle."""
    points = (sizes["title"] * 1.8 if spec.title else 0) + (sizes["subtitle"] * 1.6 if spec.subtitle else 0)
    pixels = points * DPI / 72 + (0.03 * spec.height if points else 0.01 * spec.height)
    return min(0.3, pixels / spec.height)
