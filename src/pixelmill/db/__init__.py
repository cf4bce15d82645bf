"""The SQL database: models, engine and sessions, migrations. The source of truth for all state."""
