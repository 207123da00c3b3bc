"""The HTTP API (FastAPI routers, authentication dependency, error mapping)."""
