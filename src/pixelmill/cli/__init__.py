"""The ``pixelmill`` command: server, worker, migrations, admin, and client commands."""
