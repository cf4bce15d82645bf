"""``pixelmill gen`` (text to image, video, voice, music, infographic, text) and ``pixelmill edit``
(image to image: style, enhance, reframe, upscale, remove-bg, variations)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pixelmill.cli.client_common import (
    JsonOption,
    OutputOption,
    errors_to_exit_codes,
    make_client,
    parse_assignments,
    print_json,
)

if TYPE_CHECKING:
    from pixelmill.client import Client
    from pixelmill.client.models import Generation

gen_app = typer.Typer(help="Generate media from a prompt.", no_args_is_help=True)
edit_app = typer.Typer(
    help="Edit an image: style, enhance, reframe, upscale, remove-bg, variations.", no_args_is_help=True
)

ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="A model id from `pixelmill models`")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="Extra setting key=value (repeatable)")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the result")]


def _generate(
    generation_type: str,
    prompt: str,
    *,
    model: str | None,
    settings: dict[str, Any],
    output: Path | None,
    as_json: bool,
    timeout: float,
    mode: str | None = None,
    source: Path | None = None,
) -> None:
    with errors_to_exit_codes(as_json), make_client() as client:
        file_id = client.files.upload(source).id if source is not None else None
        run = None
        if as_json:
            generation = _create_and_wait(
                client,
                generation_type,
                prompt,
                model=model,
                settings=settings,
                mode=mode,
                file_id=file_id,
                timeout=timeout,
            )
        else:
            from pixelmill.cli.client_progress import show_until_finished

            created = client.generations.create(
                generation_type, prompt, model=model, settings=settings, mode=mode, file_id=file_id
            )
            run = show_until_finished(client, created.id, timeout=timeout)
            generation = client.generations.get(created.id)
        if generation.status != "completed":
            from pixelmill.client.errors import RunFailed

            # The run says why (its error and node); the progress display may have read it already.
            raise RunFailed(run if run is not None else client.runs.get(generation.id))
        files = _save(client, generation, output)
    if as_json:
        print_json({**generation.model_dump(mode="json"), "files": [str(p) for p in files]})
    elif generation.output_type == "text" and output is None:
        typer.echo(generation.outputs[0] if generation.outputs else "")
    else:
        for path in files:
            typer.echo(str(path))


def _create_and_wait(
    client: Client,
    generation_type: str,
    prompt: str,
    *,
    model: str | None,
    settings: dict[str, Any],
    mode: str | None,
    file_id: str | None,
    timeout: float,
) -> Generation:
    """With nothing to show, the create itself waits (``Prefer: wait``, at most 60 s on the server):
    a quick generation costs one request instead of a create and a poll. A longer one is then
    polled on the light status route until ``timeout``. The wait stays well inside the client's
    60 s read timeout, so a server answering at the end of its wait is never cut off."""
    import time

    deadline = time.monotonic() + timeout
    wait = min(timeout, 50.0)
    generation = client.generations.create(
        generation_type, prompt, model=model, settings=settings, mode=mode, file_id=file_id, wait=wait
    )
    if generation.finished:
        return generation
    return client.generations.wait(generation.id, timeout=max(0.0, deadline - time.monotonic()))


def _save(client: Client, generation: Generation, output: Path | None) -> list[Path]:
    """Media outputs to ``output`` (a file for one output; a directory, or ``<stem>_N`` names, for several)."""
    if generation.output_type == "text" or generation.output_type == "json":
        if output is None:
            return []
        output.write_text(str(generation.outputs[0]) if generation.outputs else "")
        return [output]
    urls = [str(u) for u in generation.outputs]
    if output is None:
        output = Path.cwd()
    if len(urls) == 1 and not output.is_dir():
        return [client.files.download(urls[0], output)]
    if output.is_dir():
        return [client.files.download(url, output) for url in urls]
    suffix = output.suffix
    return [client.files.download(url, output.with_name(f"{output.stem}_{i}{suffix}")) for i, url in enumerate(urls, 1)]


def _size_settings(size: str | None, aspect: str | None, seed: int | None, extra: list[str] | None) -> dict[str, Any]:
    settings = parse_assignments(extra or [], dotted=False)
    for key, value in (("size", size), ("aspect_ratio", aspect), ("seed", seed)):
        if value is not None:
            settings[key] = value
    return settings


def _gen_command(generation_type: str, summary: str) -> None:
    def command(
        prompt: Annotated[str, typer.Argument(help="What to make")],
        model: ModelOption = None,
        size: Annotated[str | None, typer.Option("--size", help="WIDTHxHEIGHT, e.g. 512x512")] = None,
        aspect: Annotated[str | None, typer.Option("--aspect", help="Aspect ratio, e.g. 16:9")] = None,
        seed: Annotated[int | None, typer.Option("--seed", help="Same seed, same result")] = None,
        setting: SetOption = None,
        output: OutputOption = None,
        timeout: TimeoutOption = 600.0,
        as_json: JsonOption = False,
    ) -> None:
        _generate(
            generation_type,
            prompt,
            model=model,
            settings=_size_settings(size, aspect, seed, setting),
            output=output,
            as_json=as_json,
            timeout=timeout,
        )

    command.__doc__ = summary
    gen_app.command(generation_type)(command)


for _type, _summary in (
    ("image", "Generate an image."),
    ("video", "Generate a short video."),
    ("voice", "Speak the prompt."),
    ("music", "Compose music matching the prompt."),
    ("infographic", "Render an infographic card (first line the title, further lines bullets)."),
    ("text", "Generate text; printed unless -o is given."),
):
    _gen_command(_type, _summary)


ImageArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The source image")]


def _edit(mode: str, image: Path, settings: dict[str, Any], output: Path | None, as_json: bool, timeout: float) -> None:
    _generate(
        "image",
        "",
        model=None,
        settings=settings,
        output=output,
        as_json=as_json,
        timeout=timeout,
        mode=mode,
        source=image,
    )


@edit_app.command("style")
def edit_style(
    image: ImageArgument,
    style: Annotated[
        str, typer.Option("--style", help="oil_paint, cartoon, sketch, watercolor, pixel_art, …")
    ] = "oil_paint",
    setting: SetOption = None,
    output: OutputOption = None,
    timeout: TimeoutOption = 600.0,
    as_json: JsonOption = False,
) -> None:
    """Restyle an image."""
    _edit("style", image, {**parse_assignments(setting or [], dotted=False), "style": style}, output, as_json, timeout)


@edit_app.command("enhance")
def edit_enhance(
    image: ImageArgument,
    setting: SetOption = None,
    output: OutputOption = None,
    timeout: TimeoutOption = 600.0,
    as_json: JsonOption = False,
) -> None:
    """Sharpen, denoise and lift local contrast."""
    _edit("enhance", image, parse_assignments(setting or [], dotted=False), output, as_json, timeout)


@edit_app.command("reframe")
def edit_reframe(
    image: ImageArgument,
    aspect: Annotated[str, typer.Option("--aspect", help="Target aspect ratio, e.g. 16:9")] = "16:9",
    setting: SetOption = None,
    output: OutputOption = None,
    timeout: TimeoutOption = 600.0,
    as_json: JsonOption = False,
) -> None:
    """Crop or pad to another aspect ratio."""
    settings = {**parse_assignments(setting or [], dotted=False), "aspect_ratio": aspect}
    _edit("reframe", image, settings, output, as_json, timeout)


@edit_app.command("upscale")
def edit_upscale(
    image: ImageArgument,
    factor: Annotated[int, typer.Option("--factor", help="2 or 4")] = 2,
    setting: SetOption = None,
    output: OutputOption = None,
    timeout: TimeoutOption = 600.0,
    as_json: JsonOption = False,
) -> None:
    """Enlarge 2x or 4x."""
    _edit(
        "upscale", image, {**parse_assignments(setting or [], dotted=False), "factor": factor}, output, as_json, timeout
    )


@edit_app.command("remove-bg")
def edit_remove_bg(
    image: ImageArgument,
    setting: SetOption = None,
    output: OutputOption = None,
    timeout: TimeoutOption = 600.0,
    as_json: JsonOption = False,
) -> None:
    """Cut the subject out onto a transparent background."""
    _edit("remove_background", image, parse_assignments(setting or [], dotted=False), output, as_json, timeout)


@edit_app.command("variations")
def edit_variations(
    image: ImageArgument,
    count: Annotated[int, typer.Option("--count", help="How many variants")] = 4,
    setting: SetOption = None,
    output: OutputOption = None,
    timeout: TimeoutOption = 600.0,
    as_json: JsonOption = False,
) -> None:
    """Several styled variants of one image."""
    _edit(
        "variations",
        image,
        {**parse_assignments(setting or [], dotted=False), "count": count},
        output,
        as_json,
        timeout,
    )
