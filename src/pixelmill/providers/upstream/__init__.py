"""What every upstream adapter shares: one pooled HTTP client per upstream, a concurrency limit,
rate-limit retries and one mapping from upstream failures to the error catalogue.

An adapter (``providers/openai.py``; later gemini, xai, replicate, fal) owns only its wire format:
it builds requests with pure functions, sends them through its :class:`UpstreamClient`, and turns
an error body into an :class:`UpstreamFailure` with its :data:`ErrorReader`. Nothing here knows
about runs; progress goes out through the callback in the request.
"""
