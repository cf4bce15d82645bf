"""Fixtures for the provider tests.

These tests run against fake upstreams, not against a database backend, so ``database_url`` is a
fresh SQLite copy here rather than the root conftest's SQLite-and-PostgreSQL pair (a module that
means to cover both backends overrides it again, as test_provider_keys.py does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.databases import SqliteTemplate


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: SqliteTemplate) -> str:
    return sqlite_template.fresh(tmp_path)
