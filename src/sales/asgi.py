"""ASGI entry point for uvicorn workers: `sales.asgi:app`."""
from sales.app import create_app

app = create_app()
