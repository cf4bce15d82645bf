"""Which JSON the server accepts, decided in one place.

A value is accepted when every string (keys included) is text that can be stored and sent back:
Unicode scalar values (no lone surrogate such as ``"\\udc80"``, which Python's ``json`` decodes but
no UTF-8 encoder, SQLite text or PostgreSQL ``jsonb`` can carry) and no NUL (PostgreSQL refuses it);
every number is finite (``NaN``/``Infinity`` are not JSON, though Python's ``json`` reads them); and
objects and arrays nest at most ``max_depth`` levels.

- :func:`check_json_body` answers that for a raw request body, cheaply: a few byte scans prove most
  bodies clean without parsing them; only a body that might hold a problem (or a large one) is
  parsed and walked.
- :data:`FreeJsonObject` is the pydantic type of every free-form field (run ``metadata``, generation
  ``settings``): besides the above, at most ``max_free_json_bytes`` serialised and
  ``max_free_json_depth`` deep. Its limits are settings: the HTTP edge makes the current ones
  visible to validation through :func:`limits_in_use`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError, from_json

from pixelmill import errors
from pixelmill.errors import ErrorSpec

ProblemKind = Literal["text", "number", "depth"]


DEFAULT_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """The configured bounds (``Settings.max_json_depth`` and the ``max_free_json_*`` pair)."""

    max_depth: int = DEFAULT_MAX_DEPTH
    free_max_bytes: int = 16 * 1024
    free_max_depth: int = 32


_DEFAULT_LIMITS = JsonLimits()
_LIMITS: ContextVar[JsonLimits | None] = ContextVar("pixelmill_json_limits", default=None)


@contextmanager
def limits_in_use(limits: JsonLimits) -> Iterator[None]:
    """Make ``limits`` the ones free-form fields are validated against, for this context."""
    token = _LIMITS.set(limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)


@dataclass(frozen=True, slots=True)
class JsonProblem:
    """The first thing in a JSON value that is not accepted, where it is, and why."""

    kind: ProblemKind
    path: tuple[str | int, ...]
    reason: str

    @property
    def field(self) -> str:
        """The path as the API names fields elsewhere: ``metadata.note``, ``graph.nodes.0.id``."""
        return ".".join(str(part) for part in self.path)

    @property
    def message(self) -> str:
        return f"{self.field or 'body'}: {self.reason}"

    def under(self, key: str | int) -> JsonProblem:
        """The same problem seen from the container that holds it at ``key``."""
        part = _printable(key) if isinstance(key, str) else key
        return JsonProblem(self.kind, (part, *self.path), self.reason)

    @property
    def spec(self) -> ErrorSpec:
        return errors.JSON_TOO_DEEP if self.kind == "depth" else errors.VALIDATION_ERROR

    @property
    def error_type(self) -> str:
        return {"text": "invalid_text", "number": "non_finite_number", "depth": errors.JSON_TOO_DEEP.code}[self.kind]


# A NUL or a surrogate can only be in a decoded string as an escape (or, for a surrogate, as the
# invalid UTF-8 bytes ED A0..BF that json.loads reads with "surrogatepass"); a valid pair of
# surrogate escapes also matches and is then cleared by the walk.
_SUSPECT_TEXT = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)|\xed[\xa0-\xbf]")
# A literal that decodes to a non-finite float has an exponent of three or more digits or a run of
# hundreds of digits. Found by substring search over the body with digits, "e" and signs folded
# (bytes.translate and ``in`` are several times faster than a regular expression here).
_NUMBER_FOLD = bytes(
    ord("0") if byte in b"0123456789" else ord("e") if byte in b"eE" else ord("+") if byte in b"+-" else ord(" ")
    for byte in range(256)
)
_LONG_DIGITS = b"0" * 300
# Everything but brackets and quotes is deleted to leave the body's structure; braces become
# brackets, since only how deep they nest matters.
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
# Bodies up to this size are cleared by byte scans; larger ones (a data: URL in a graph) are parsed
# by pydantic-core's parser and walked, which costs per value, not per byte of a long string.
_SCAN_LIMIT = 64 * 1024
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def check_json_body(body: bytes, max_depth: int) -> JsonProblem | None:
    """The first problem of a JSON request body, or None when it is clean or not JSON at all
    (a body that does not parse is left to the route, which refuses it in its own words)."""
    if (
        len(body) <= _SCAN_LIMIT
        and b"\x00" not in body
        and ((b"\\u" not in body and b"\xed" not in body) or _SUSPECT_TEXT.search(body) is None)
        and b"NaN" not in body
        and b"Infinity" not in body
        and (body.count(b"[") + body.count(b"{") <= max_depth or not _may_nest_deeper(body, max_depth))
        and not _may_overflow(body)
    ):
        return None
    try:
        # pydantic-core's parser is several times faster than json's; it refuses lone surrogates
        # and very deep nesting itself, and those bodies are parsed again below to name the field.
        value = from_json(body)
    except ValueError:
        try:
            value = json.loads(body)
        except RecursionError:
            return JsonProblem("depth", (), f"nested more than {max_depth} levels deep")
        except ValueError:
            return None
    return find_problem(value, max_depth)


def _may_nest_deeper(body: bytes, max_depth: int) -> bool:
    """Whether the brackets outside strings may nest deeper than ``max_depth`` (exact for valid
    JSON). Escapes go first, left to right as a parser reads them (``\\\\`` then ``\\"``), so the
    quotes left delimit the strings; then each pass removes the innermost empty pairs, so the passes
    needed are the depth."""
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = unescaped.translate(_BRACES_AS_BRACKETS, _NOT_STRUCTURE)
    brackets = b"".join(skeleton.split(b'"')[::2])
    for _ in range(max_depth):
        inner = brackets.replace(b"[]", b"")
        if not inner:
            return False
        if inner == brackets:
            return True  # not balanced: not JSON, or not as it seems; the full check decides
        brackets = inner
    return True


def _may_overflow(body: bytes) -> bool:
    folded = body.translate(_NUMBER_FOLD)
    return b"e000" in folded or b"e+000" in folded or _LONG_DIGITS in folded


def find_problem(value: Any, max_depth: int) -> JsonProblem | None:
    """Walk a decoded JSON value for the first problem. Recursion is bounded by ``max_depth``
    (checked before descending), and a path is only built on the way back from a problem."""
    if isinstance(value, dict | list):
        return _walk(value, max_depth, 0)
    return _leaf_problem(value)


def _walk(container: dict[str, Any] | list[Any], max_depth: int, depth: int) -> JsonProblem | None:
    if depth >= max_depth:
        return JsonProblem("depth", (), f"nested more than {max_depth} levels deep")
    items: Any = container.items() if isinstance(container, dict) else enumerate(container)
    for key, child in items:
        if key.__class__ is str and (not key.isascii() or "\x00" in key):
            problem = _text_problem(key)
            if problem is not None:
                return problem.under(key)
        kind = child.__class__
        if kind is dict or kind is list:
            problem = _walk(child, max_depth, depth + 1)
        elif kind is str:
            problem = None if child.isascii() and "\x00" not in child else _text_problem(child)
        elif kind is float:
            problem = None if math.isfinite(child) else _NON_FINITE
        else:
            continue
        if problem is not None:
            return problem.under(key)
    return None


def _leaf_problem(value: Any) -> JsonProblem | None:
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE
    return None


def text_problem(text: str) -> JsonProblem | None:
    """Why ``text`` cannot be stored and sent back (a NUL, a lone surrogate), or None."""
    return _text_problem(text) if not text.isascii() or "\x00" in text else None


def _text_problem(text: str) -> JsonProblem | None:
    found = _BAD_CHAR.search(text)
    if found is None:
        return None
    char = found.group()
    reason = "NUL (U+0000) is not allowed" if char == "\x00" else f"lone surrogate U+{ord(char):04X} is not a character"
    return JsonProblem("text", (), f"text must be valid Unicode; {reason}")


_NON_FINITE = JsonProblem("number", (), "NaN and Infinity are not JSON numbers")


def scrub_json(value: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """``value`` as it can be sent: unchanged when clean (the common case, one walk), else a copy
    with lone surrogates as U+FFFD, NaN and Infinity as null, and nesting past ``max_depth`` cut
    to null. For rows stored before the edge refused such input, so that one of them cannot make
    every read of its workspace fail."""
    if find_problem(value, max_depth) is None:
        return value
    return _scrubbed(value, max_depth)


def _scrubbed(value: Any, depth_left: int) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict | list):
        if depth_left <= 0:
            return None
        if isinstance(value, dict):
            return {_scrubbed(key, 0): _scrubbed(item, depth_left - 1) for key, item in value.items()}
        return [_scrubbed(item, depth_left - 1) for item in value]
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(part: str) -> str:
    """A path part that is itself bad text, escaped so that the error naming it can be sent."""
    if _BAD_CHAR.search(part) is None:
        return part
    return part.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _bounded_free_json(value: dict[str, Any]) -> dict[str, Any]:
    limits = _LIMITS.get() or _DEFAULT_LIMITS
    try:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    except RecursionError:
        size = None
    if size is not None and size > limits.free_max_bytes:
        raise PydanticCustomError(
            errors.JSON_TOO_LARGE.code,
            "is {size} bytes as JSON; free-form fields are limited to {limit} bytes",
            {"size": size, "limit": limits.free_max_bytes},
        )
    problem = find_problem(value, limits.free_max_depth)
    if problem is not None:
        # The message is phrased for the field itself; the location pydantic reports names it.
        inner = problem.field
        where = f" at {inner}" if inner else ""
        if problem.kind == "depth":
            raise PydanticCustomError(
                errors.JSON_TOO_DEEP.code,
                "is nested more than {limit} levels deep{where}",
                {"limit": limits.free_max_depth, "where": where},
            )
        raise PydanticCustomError(problem.error_type, "{message}", {"message": f"{problem.reason}{where}"})
    return value


FreeJsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_free_json)]
"""A free-form JSON object: clean text, finite numbers, bounded size and depth (see module doc)."""
