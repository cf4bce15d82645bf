"""Structured logging: one JSON object per line with the record's extra fields, or, for a person
watching a terminal, one plain line per record (``log_format = auto`` picks by the stream).

Secrets never reach a log line by construction: call sites pass ids, never keys, tokens, prompts
or payloads. ``REDACTED_FIELDS`` is a second line of defence for extras with dangerous names.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED_FIELDS = frozenset({"password", "secret", "token", "api_key", "authorization", "key", "prompt"})

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: ("[redacted]" if k in REDACTED_FIELDS else v) for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """``12:03:04.567 INFO    pixelmill.api: request method=GET status=200``: local time, for people."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f" {extras}" if extras else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def resolved_format(fmt: str, stream: TextIO) -> str:
    """``auto`` is text when ``stream`` is a terminal (someone reads it) and JSON otherwise (a log
    collector reads it); ``json`` and ``text`` are taken as they are."""
    if fmt != "auto":
        return fmt
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # a closed or unusual stream is nobody's terminal
        return "json"


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Send pixelmill's and uvicorn's logs to ``stream`` (stderr) in one format; uvicorn's access
    log is off because RequestContextMiddleware writes a richer line."""
    target = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter() if resolved_format(fmt, target) == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Database layers log statements and their parameters (password and key hashes) at INFO and
    # DEBUG; whatever the root level, they only speak up for warnings.
    for name in ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Alembic narrates every schema check and step at INFO ("Context impl PostgresqlImpl."); serve
    # and migrate say in their own words whether the schema is current.
    logging.getLogger("alembic").setLevel(logging.WARNING)
