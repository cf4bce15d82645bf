"""Idempotency keys: the first response to a create is stored and replayed for retries.

Same key, same request -> the stored response, status code included. Same key, different request
-> 409 IDEMPOTENCY_KEY_REUSED. Same key while the first request still runs -> 409
IDEMPOTENCY_KEY_IN_USE. Keys are scoped to a workspace and kept ``RETENTION`` (24 h). A 5xx
answer is not stored, so the client may retry with the same key, as imageat documents.

The database row is the lock, also on a fleet, and Redis is deliberately not used for it. A claim
is an INSERT of the primary key (workspace, key) committed on its own: the database's uniqueness
check lets exactly one of any number of concurrent claimers win, whichever process or host they run
in (PostgreSQL; on SQLite the file lock serialises writers of every process on the host), and the
row then keeps the stored response for 24 h, which a lock alone could not. A Redis lock in front
would not make this more correct (its expiry can lapse while the request still runs, so the row
would still have to decide), would only save a round trip for a duplicate that arrives while the
first is in flight (rare by nature) at the price of one more on every create, and would add a way
to fail. A process killed between claim and response leaves the row ``in_progress``: retries with
that key get IDEMPOTENCY_KEY_IN_USE until the claim is ``ABANDONED_AFTER`` old, then the next one
takes the key over and runs afresh (no request holds a key that long: ``Prefer: wait`` is at most
60 s). If the dead request had committed its work, the retry does it again: without its response
there is nothing to replay, and refusing the key for a day would be worse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from pixelmill import errors
from pixelmill.db.models import IdempotencyRecord
from pixelmill.db.session import Database
from pixelmill.errors import PixelmillError

RETENTION = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def validate_key(key: str) -> None:
    """Refuse a key that is not 1 to 255 printable ASCII characters: a key is text the client
    repeats byte for byte, and one that is ignored instead would let a retry run the work twice."""
    if not key or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise PixelmillError(
            errors.VALIDATION_ERROR,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            field="Idempotency-Key",
        )


class IdempotencyStore:
    """Claims keys and stores responses; each call is its own short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, workspace_id: str, key: str, print_: str) -> StoredResponse | None:
        """Claim ``key`` for a new request (None), or return the response to replay.

        Raises IDEMPOTENCY_KEY_REUSED or IDEMPOTENCY_KEY_IN_USE as the module docstring says.
        """
        now = datetime.now(UTC)
        async with self.db.session() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.workspace_id == workspace_id,
                    IdempotencyRecord.key == key,
                    (IdempotencyRecord.expires_at < now)
                    | (
                        (IdempotencyRecord.state == "in_progress")
                        & (IdempotencyRecord.created_at < now - ABANDONED_AFTER)
                    ),
                )
            )
        try:
            async with self.db.session() as session:
                session.add(
                    IdempotencyRecord(
                        workspace_id=workspace_id,
                        key=key,
                        fingerprint=print_,
                        state="in_progress",
                        expires_at=now + RETENTION,
                    )
                )
            return None
        except IntegrityError:
            pass
        async with self.db.session() as session:
            record = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key
                )
            )
        if record is None:  # the holder failed and released the key in between; the client retries
            raise PixelmillError(errors.IDEMPOTENCY_KEY_IN_USE, headers={"Retry-After": "1"})
        if record.fingerprint != print_:
            raise PixelmillError(errors.IDEMPOTENCY_KEY_REUSED)
        if record.state != "completed" or record.response_status is None:
            raise PixelmillError(errors.IDEMPOTENCY_KEY_IN_USE, headers={"Retry-After": "1"})
        return StoredResponse(record.response_status, dict(record.response_headers or {}), record.response_body or b"")

    async def complete(self, workspace_id: str, key: str, response: StoredResponse) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
                .values(
                    state="completed",
                    response_status=response.status,
                    response_headers=response.headers,
                    response_body=response.body,
                )
            )

    async def release(self, workspace_id: str, key: str) -> None:
        """Forget a claim whose request failed on our side, so a retry runs afresh."""
        async with self.db.session() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key
                )
            )

    async def purge_expired(self) -> int:
        async with self.db.session() as session:
            result = await session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < datetime.now(UTC))
            )
        return int(result.rowcount)  # type: ignore[attr-defined]
