"""What reads a client's input: the base of every JSON body model, and the query types it shares.

Pydantic's lax mode turns ``true`` into ``1``, ``"5"`` into ``5`` and ``1`` into ``True``; the
OpenAPI document promises an integer, a number or a boolean, so a body must already carry the JSON
type it documents. Strict mode does exactly that (an integer still fills a number field).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date or date-time, e.g. 2026-12-01T00:00:00Z")
    return value


# A time in a query string: ISO 8601 only, as the OpenAPI document says (pydantic alone would also
# read ``0.5`` as a Unix timestamp).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


class RequestModel(BaseModel):
    """A request body: validated strictly against the JSON types its schema documents."""

    model_config = ConfigDict(strict=True)
