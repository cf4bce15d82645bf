"""InvokeAI's queue API (``/api/v1/queue``, ``/api/v1/images``, socket.io at ``/ws/socket.io``):
its clients enqueue graphs and follow them on pixelmill's runs. :mod:`.items` is what the dialect
keeps on each run so that a run reads back as a queue item."""
