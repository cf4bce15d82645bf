"""imagerift's developer API (``/api/v1/generate``, ``/api/v1/jobs/{jobId}``): its clients queue
image jobs and poll them on pixelmill's generations. ``schemas`` is its wire format, ``translate``
the pure mapping of a job onto a graph and back, ``routes`` the thin HTTP layer over the services."""
