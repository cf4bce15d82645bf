"""The base of every model that reads a client's JSON body.

Pydantic's lax mode turns ``true`` into ``1``, ``"5"`` into ``5`` and ``1`` into ``True``; the
OpenAPI document promises an integer, a number or a boolean, so a body must already carry the JSON
type it documents. Strict mode does exactly that (an integer still fills a number field).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body: validated strictly against the JSON types its schema documents."""

    model_config = ConfigDict(strict=True)
