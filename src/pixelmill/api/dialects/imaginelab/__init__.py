"""ImagineLab's API (``/api/v1``): its clients run against pixelmill with only the base URL and the
credentials changed. ``schemas`` is its wire format, ``translate`` the pure mapping onto the
canonical generations, ``routes`` the thin HTTP layer over the same services."""
