"""Text to speech with the espeak-ng program: voices, rate and pitch, 16-bit mono WAV out.

The text goes to espeak-ng on standard input (never through a shell or the argument list, so
nothing in it can become an option), markup is not interpreted, and the WAV is written to a
temporary file because espeak-ng's ``--stdout`` header carries placeholder sizes. Voices and
variants are read once from ``espeak-ng --voices`` so a bad name is refused before synthesis.
"""

from __future__ import annotations

import functools
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.media_deps import require_program

PROGRAM = "espeak-ng"
MAX_TEXT_CHARS = 5000
MIN_RATE, MAX_RATE, DEFAULT_RATE = 80, 450, 175  # words per minute
MIN_PITCH, MAX_PITCH, DEFAULT_PITCH = 0, 99, 50
TIMEOUT_SECONDS = 120.0

# "(en 3)" in the "Other Languages" column: a language the voice also answers to.
_ALIAS = re.compile(r"\(([A-Za-z0-9-]+)\s+\d+\)")
# Control characters other than tab and newlines; espeak-ng has no use for them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Voices:
    """Language codes and voice variants this espeak-ng knows, keyed by lower-case name."""

    languages: dict[str, str]
    variants: dict[str, str]


def _run(args: list[str], *, text: str | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(  # noqa: S603 - a fixed program with list arguments and no shell
            args,
            input=None if text is None else text.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PixelmillError(errors.PROVIDER_ERROR, f"{PROGRAM} took longer than {TIMEOUT_SECONDS:.0f} s") from exc


def _table_rows(output: bytes) -> list[list[str]]:
    """The rows of an ``espeak-ng --voices`` table, header dropped, columns split on spaces."""
    lines = output.decode("utf-8", "replace").splitlines()
    return [line.split() for line in lines[1:] if line.strip()]


@functools.cache
def _voices_of(program: str) -> Voices:
    languages: dict[str, str] = {}
    listing = _run([program, "--voices"])
    for row in _table_rows(listing.stdout):
        if len(row) < 5:
            continue
        languages[row[1].lower()] = row[1]
        for alias in _ALIAS.findall(" ".join(row[5:])):
            languages.setdefault(alias.lower(), alias)
    variants: dict[str, str] = {}
    for row in _table_rows(_run([program, "--voices=variant"]).stdout):
        if len(row) >= 5 and row[4].startswith("!v/"):
            name = row[4].removeprefix("!v/")
            variants[name.lower()] = name
    if not languages:
        raise PixelmillError(errors.PROVIDER_ERROR, f"{PROGRAM} --voices listed no voices")
    return Voices(languages, variants)


def voices() -> Voices:
    """The installed voices (listed once per process)."""
    return _voices_of(require_program(PROGRAM))


def resolve_voice(voice: str, variant: str | None) -> str:
    """The ``-v`` argument for a language code and optional variant, or INVALID_INPUT naming the field."""
    known = voices()
    language = known.languages.get(voice.strip().lower())
    if language is None:
        sample = ", ".join(sorted(known.languages)[:12])
        raise PixelmillError(
            errors.INVALID_INPUT, f"Unknown voice {voice!r}; espeak-ng knows e.g. {sample}", field="voice"
        )
    if variant is None:
        return language
    name = known.variants.get(variant.strip().lower())
    if name is None:
        sample = ", ".join(sorted(known.variants)[:12])
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown voice variant {variant!r}; e.g. {sample}", field="variant")
    return f"{language}+{name}"


def clean_text(text: str) -> str:
    """The text without control characters and surrounding space; INVALID_INPUT when nothing is left."""
    cleaned = _CONTROL.sub(" ", text).strip()
    if not cleaned:
        raise PixelmillError(errors.INVALID_INPUT, "The text has nothing to speak", field="text")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise PixelmillError(errors.INVALID_INPUT, f"The text is longer than {MAX_TEXT_CHARS} characters", field="text")
    return cleaned


def synthesize(
    text: str,
    *,
    voice: str = "en-us",
    variant: str | None = None,
    rate: int = DEFAULT_RATE,
    pitch: int = DEFAULT_PITCH,
) -> bytes:
    """Speak ``text`` and return a 16-bit mono WAV (espeak-ng's 22.05 kHz)."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise PixelmillError(errors.INVALID_INPUT, f"rate must be {MIN_RATE}..{MAX_RATE} words/min", field="rate")
    if not MIN_PITCH <= pitch <= MAX_PITCH:
        raise PixelmillError(errors.INVALID_INPUT, f"pitch must be {MIN_PITCH}..{MAX_PITCH}", field="pitch")
    program = require_program(PROGRAM)
    spoken = clean_text(text)
    voice_arg = resolve_voice(voice, variant)
    with tempfile.TemporaryDirectory(prefix="pixelmill-speech-") as workdir:
        out = Path(workdir) / "speech.wav"
        args = [program, "--stdin", "-b", "1", "-v", voice_arg, "-s", str(rate), "-p", str(pitch), "-w", str(out)]
        done = _run(args, text=spoken)
        if done.returncode != 0 or not out.exists():
            detail = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise PixelmillError(errors.PROVIDER_ERROR, f"{PROGRAM} failed (exit {done.returncode}): {detail}")
        return out.read_bytes()
