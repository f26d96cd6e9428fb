"""ASGI entry point for uvicorn workers: `sales.asgi:app`."""
import gc

from sales.app import create_app

app = create_app()
# Everything made at startup (routes, schemas, compiled statements, modules) lives as long as the process: frozen,
# the garbage collector no longer walks it at every full collection; and it runs less often (settings.gc_thresholds).
gc.set_threshold(*app.state.settings.gc_thresholds)
gc.freeze()
