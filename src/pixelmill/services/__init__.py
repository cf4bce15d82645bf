"""The domain: plain classes over a database session. No HTTP, no FastAPI."""
