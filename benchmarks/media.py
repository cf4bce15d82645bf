"""Seconds to make each kind of media on the CPU, against a baseline measured in the same run.

    .venv/bin/python benchmarks/media.py [--repeat 2] [--only video,speech,music,chart]

Figures (best of ``--repeat``):
- video: a 5 s 720p (1280x720, 24 fps) Ken Burns video of one image, made the way ``video.from_image``
  makes it (frames rendered with Pillow on a helper thread, encoded with PyAV's libx264 in chunks of
  ``CHUNK_FRAMES``, fast-start MP4). Baseline: the
  same frames piped raw to the ``ffmpeg`` command line with the same encoder settings. "frames only"
  is the rendering alone, so the encoder's share can be read off.
- speech: a ~10 s clip through ``providers.espeak.synthesize`` (voice check, stdin, temp WAV).
  Baseline: the bare ``espeak-ng`` command writing the same WAV.
- music: a 10 s piece composed and synthesised to WAV; no outside baseline exists, so the figure
  is the real-time factor (seconds of audio per second of work).
- chart: a 1200x800 bar chart PNG as ``infographic.chart`` draws it. Baseline: a bare matplotlib
  bar chart of the same data and size (default styling, one Figure, Agg, savefig).
Peak memory is the process's maximum resident set after each section (it only grows, so a jump
belongs to the section where it shows; the ffmpeg and espeak-ng child processes are not counted).
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pixelmill.nodes.video import CHUNK_FRAMES
from pixelmill.providers import espeak
from pixelmill.providers.audio_encode import read_wav, write_wav
from pixelmill.providers.charts import ChartSpec, Series, render_chart
from pixelmill.providers.media_deps import require_program
from pixelmill.providers.music import compose
from pixelmill.providers.music_synth import render
from pixelmill.providers.video_encode import Mp4Writer, probe_video
from pixelmill.providers.video_motion import KenBurns, frame_size

VIDEO_SECONDS, FPS = 5.0, 24
CRF, PRESET = 20, "veryfast"  # what Mp4Writer uses by default
SPEECH_TEXT = (  # about ten seconds at espeak-ng's default 175 words per minute
    "Pixelmill is a self hosted server for generative media. It turns text into speech, still images "
    "into video, and data into charts, with no network and no graphics card."
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SALES = (12.0, 15.5, 9.8, 22.1, 18.0, 25.4, 21.0, 19.5, 23.3, 27.8, 30.2, 35.0)


@dataclass
class Row:
    name: str
    seconds: float
    baseline: str = ""
    baseline_seconds: float | None = None
    note: str = ""


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def photo() -> Image.Image:
    """A deterministic, photo-like 1600x1000 picture (gradients, shapes, grain) so x264 has real work."""
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 1600, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, 1000, dtype=np.float32)[:, None]
    base = np.empty((1000, 1600, 3), dtype=np.uint8)
    base[..., 0] = x * 200 + 30
    base[..., 1] = y * 160 + 40
    base[..., 2] = (x + y) * 60 + 80
    picture = Image.fromarray(base)
    draw = ImageDraw.Draw(picture)
    for _ in range(60):
        x0, y0 = int(rng.integers(0, 1500)), int(rng.integers(0, 900))
        size = int(rng.integers(20, 220))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((x0, y0, x0 + size, y0 + size), fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(2))
    grain = rng.integers(-8, 9, (1000, 1600, 3), dtype=np.int16)
    return Image.fromarray(np.clip(np.asarray(picture) + grain, 0, 255).astype(np.uint8))


def camera(source: Image.Image) -> KenBurns:
    size = frame_size("720p", "16:9")
    return KenBurns(source, out_size=size, duration_seconds=VIDEO_SECONDS, fps=FPS, motion="zoom_in", zoom=1.3)


def video_pixelmill(source: Image.Image) -> bytes:
    frames = camera(source)
    pictures = iter(frames)
    with Mp4Writer(frames.out_size, FPS, crf=CRF, preset=PRESET) as writer:
        while writer.write_from(pictures, CHUNK_FRAMES) == CHUNK_FRAMES:
            pass  # the node reports progress and checks for a cancel here
        return writer.finish()


def video_ffmpeg_cli(source: Image.Image, ffmpeg: str) -> bytes:
    frames = camera(source)
    width, height = frames.out_size
    with tempfile.TemporaryDirectory() as workdir:
        out = Path(workdir) / "out.mp4"
        args = [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}"]
        args += ["-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF)]
        args += ["-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)]
        process = subprocess.Popen(args, stdin=subprocess.PIPE)
        assert process.stdin is not None
        for frame in frames:
            process.stdin.write(frame.tobytes())
        process.stdin.close()
        if process.wait() != 0:
            raise RuntimeError("ffmpeg failed")
        return out.read_bytes()


def bench_video(repeat: int) -> list[Row]:
    source = photo()
    ffmpeg = require_program("ffmpeg")
    ours = video_pixelmill(source)
    theirs = video_ffmpeg_cli(source, ffmpeg)
    mine, cli = probe_video(ours), probe_video(theirs)
    assert (mine.frame_count, cli.frame_count) == (round(VIDEO_SECONDS * FPS),) * 2
    render_only = best_of(repeat, lambda: sum(1 for _ in camera(source)))
    note = f"{mine.frame_count} frames, {len(ours) / 1e6:.2f} MB (CLI {len(theirs) / 1e6:.2f} MB)"
    return [
        Row("video 5 s 720p (frames only)", render_only),
        Row(
            "video 5 s 720p",
            best_of(repeat, lambda: video_pixelmill(source)),
            "ffmpeg CLI, same frames",
            best_of(repeat, lambda: video_ffmpeg_cli(source, ffmpeg)),
            note,
        ),
    ]


def bench_speech(repeat: int) -> list[Row]:
    program = require_program("espeak-ng")
    seconds = read_wav(espeak.synthesize(SPEECH_TEXT)).duration_seconds

    def bare() -> None:
        with tempfile.TemporaryDirectory() as workdir:
            subprocess.run(
                [program, "--stdin", "-b", "1", "-v", "en-us", "-w", f"{workdir}/out.wav"],
                input=SPEECH_TEXT.encode(),
                check=True,
            )

    return [
        Row(
            f"speech {seconds:.1f} s clip",
            best_of(repeat, lambda: espeak.synthesize(SPEECH_TEXT)),
            "bare espeak-ng command",
            best_of(repeat, bare),
        )
    ]


def bench_music(repeat: int) -> list[Row]:
    def make() -> bytes:
        score = compose(duration_seconds=10.0, mood="happy", key="D", seed=1)
        return write_wav(render(score, instrument="piano", seed=1))

    elapsed = best_of(repeat, make)
    return [Row("music 10 s clip", elapsed, note=f"{10.0 / elapsed:.1f}x real time")]


def bench_chart(repeat: int) -> list[Row]:
    spec = ChartSpec(kind="bar", labels=MONTHS, series=(Series("Sales", SALES),), title="Monthly sales", width=1200)

    def bare() -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(12, 8), dpi=100)
        FigureCanvasAgg(fig)
        fig.add_subplot().bar(MONTHS, SALES)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    render_chart(spec)  # the first chart pays for font loading; both sides measure warm
    bare()
    return [
        Row(
            "chart 1200x800 PNG",
            best_of(repeat, lambda: render_chart(spec)),
            "bare matplotlib bar chart",
            best_of(repeat, bare),
        )
    ]


SECTIONS: dict[str, Callable[[int], list[Row]]] = {
    "video": bench_video,
    "speech": bench_speech,
    "music": bench_music,
    "chart": bench_chart,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    options = parser.parse_args()
    print(f"peak RSS after imports: {peak_mib():.0f} MiB")
    print(f"{'what':34} {'seconds':>8}  {'baseline':28} {'seconds':>8} {'ratio':>6}  peak RSS  note")
    for name in options.only.split(","):
        for row in SECTIONS[name](options.repeat):
            baseline = f"{row.baseline_seconds:8.3f}" if row.baseline_seconds is not None else " " * 8
            ratio = f"{row.seconds / row.baseline_seconds:6.2f}" if row.baseline_seconds else " " * 6
            print(
                f"{row.name:34} {row.seconds:8.3f}  {row.baseline:28} {baseline} {ratio}  "
                f"{peak_mib():5.0f} MiB  {row.note}"
            )


if __name__ == "__main__":
    main()
