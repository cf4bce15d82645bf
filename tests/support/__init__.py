"""Test support: real services, a live server on a loopback port, seeded accounts."""
