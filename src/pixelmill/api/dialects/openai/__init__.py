"""OpenAI's API (``/v1/images``, ``/v1/chat/completions``, ``/v1/audio/speech``): the official SDKs
and every tool built on them use pixelmill with only ``OPENAI_BASE_URL`` and the key changed.

``schemas`` is the wire format, ``translate`` the pure mapping onto graphs and back, ``errors`` the
error envelope, and one thin route module per resource (``images``, ``chat``, ``speech``) over the
shared run glue in ``runs``; ``routes`` gathers them into the one router the registry serves.
"""
