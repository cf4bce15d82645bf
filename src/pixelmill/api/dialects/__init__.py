"""Compatibility routers, one file per foreign API."""
