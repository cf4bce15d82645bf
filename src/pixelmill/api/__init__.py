"""The HTTP edge: FastAPI app factory, dependencies, one router per resource."""
