"""InvokeAI's timestamps: the strings its SQLite triggers write, ``YYYY-MM-DD HH:MM:SS.fff`` in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def sqlite_timestamp(moment: datetime) -> str:
    """``moment`` as InvokeAI writes it (UTC, milliseconds, no zone)."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def unix_seconds(moment: datetime) -> int:
    """The ``timestamp`` every socket event carries."""
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())
