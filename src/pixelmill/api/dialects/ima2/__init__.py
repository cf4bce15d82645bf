"""ima2's local API (``/api/*``): its CLI and web client run against pixelmill with only the server
address changed. Every job is a pixelmill run; :mod:`.jobs` is what the dialect keeps on the run."""
