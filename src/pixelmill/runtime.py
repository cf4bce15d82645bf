"""The process's long-lived parts, built once from Settings and passed explicitly to whoever needs them.

The API keeps one on ``app.state.runtime``; the CLI and workers build their own. There is no global
service locator: a function that needs the database receives the Runtime (or the piece it needs).
"""

from __future__ import annotations

from dataclasses import dataclass

from pixelmill.config import Settings
from pixelmill.db.session import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        return cls(settings=settings, db=Database(settings.resolved_database_url))

    async def close(self) -> None:
        await self.db.dispose()
