"""Which JSON the server accepts, decided in one place.

A value is accepted when every string (keys included) is text that can be stored and sent back:
Unicode scalar values (no lone surrogate such as ``"\\udc80"``, which Python's ``json`` decodes but
no UTF-8 encoder, SQLite text or PostgreSQL ``jsonb`` can carry) and no NUL (PostgreSQL refuses it);
every number is finite (``NaN``/``Infinity`` are not JSON, though Python's ``json`` reads them); and
objects and arrays nest at most ``max_depth`` levels.

- :func:`check_json_body` answers that for a raw request body, cheaply: a few byte scans prove most
  bodies clean without parsing them; only a body that might hold a problem is parsed and walked.
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

import numpy as np
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from pixelmill import errors
from pixelmill.errors import ErrorSpec

ProblemKind = Literal["text", "number", "depth"]


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """The configured bounds (``Settings.max_json_depth`` and the ``max_free_json_*`` pair)."""

    max_depth: int = 64
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
    """The first thing in a JSON value that is not accepted, and where it is."""

    kind: ProblemKind
    path: tuple[str | int, ...]
    message: str

    @property
    def field(self) -> str:
        """The path as the API names fields elsewhere: ``metadata.note``, ``graph.nodes.0.id``."""
        return ".".join(str(part) for part in self.path)

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
# Numbers that decode to a non-finite float: the constants, large exponents, very long digit runs.
_SUSPECT_NUMBER = re.compile(rb"NaN|Infinity|[eE][+-]?\d{3}|\d{300}")
# JSON strings, each matched in linear time; an unterminated one runs to the end (so no rescans).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def check_json_body(body: bytes, max_depth: int) -> JsonProblem | None:
    """The first problem of a JSON request body, or None when it is clean or not JSON at all
    (a body that does not parse is left to the route, which refuses it in its own words)."""
    if b"\x00" not in body and _SUSPECT_TEXT.search(body) is None:
        brackets = body.count(b"[") + body.count(b"{")
        numbers_suspect = _SUSPECT_NUMBER.search(body) is not None
        if brackets <= max_depth and not numbers_suspect:
            return None
        # Outside strings only structure, numbers and literals are left to look at.
        outside = _STRING.sub(b"", body)
        if _structural_depth(outside) <= max_depth and _SUSPECT_NUMBER.search(outside) is None:
            return None
    try:
        value = json.loads(body)
    except RecursionError:
        return JsonProblem("depth", (), f"The JSON is nested more than {max_depth} levels deep")
    except ValueError:
        return None
    return find_problem(value, max_depth)


def _structural_depth(outside_strings: bytes) -> int:
    skeleton = outside_strings.translate(None, _NOT_BRACKET)
    if not skeleton:
        return 0
    steps = np.frombuffer(skeleton.translate(_DEPTH_STEP), dtype=np.int8)
    return int(np.cumsum(steps, dtype=np.int64).max())


def find_problem(value: Any, max_depth: int, path: tuple[str | int, ...] = ()) -> JsonProblem | None:
    """Walk a decoded JSON value (iteratively: depth costs no stack) for the first problem."""
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() or "\x00" in item:
                problem = _text_problem(item, where)
                if problem is not None:
                    return problem
        elif isinstance(item, float):
            if not math.isfinite(item):
                return JsonProblem("number", where, f"{_name(where)}: NaN and Infinity are not JSON numbers")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                return JsonProblem("depth", where, f"{_name(where)}: nested more than {max_depth} levels deep")
            if isinstance(item, dict):
                children = list(item.items())
                for key, _ in children:
                    problem = _text_problem(key, (*where, key)) if isinstance(key, str) else None
                    if problem is not None:
                        return problem
            else:
                children = list(enumerate(item))
            stack.extend(((child, (*where, key), depth + 1) for key, child in reversed(children)))
    return None


def _text_problem(text: str, where: tuple[str | int, ...]) -> JsonProblem | None:
    found = _BAD_CHAR.search(text)
    if found is None:
        return None
    safe_path = tuple(_printable(part) if isinstance(part, str) else part for part in where)
    char = found.group()
    reason = "NUL (U+0000) is not allowed" if char == "\x00" else f"lone surrogate U+{ord(char):04X} is not a character"
    return JsonProblem("text", safe_path, f"{_name(safe_path)}: text must be valid Unicode; {reason}")


def _printable(part: str) -> str:
    """A path part that is itself bad text, escaped so that the error naming it can be sent."""
    if _BAD_CHAR.search(part) is None:
        return part
    return part.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _name(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path) or "body"


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
        raise PydanticCustomError(problem.error_type, "{message}", {"message": problem.message})
    return value


FreeJsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_free_json)]
"""A free-form JSON object: clean text, finite numbers, bounded size and depth (see module doc)."""
