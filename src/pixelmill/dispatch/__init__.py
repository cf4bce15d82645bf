"""Where runs execute: in-process (local) or on Celery workers."""
