"""OWASP API9:2023 Improper Inventory Management (issue 20): every route the service answers is either in the
published OpenAPI document or one of the few deliberate exceptions below, so an undocumented route cannot ship
unnoticed; and the document carries one version."""
from __future__ import annotations

from fastapi.routing import iter_route_contexts

from sales.app import create_app
from sales.settings import Settings
from tests.conftest import TEST_SECRET

UNPUBLISHED = {  # path prefix -> why it is not in the API document
    "/healthz": "liveness probe", "/readyz": "readiness probe", "/metrics": "Prometheus scrape",
    "/openapi.json": "the document itself", "/docs": "Swagger UI", "/redoc": "ReDoc",
    "/console": "the staff console (HTML, its own session auth)",
    "/s/": "public shortlist pages (HTML)",
}


def test_every_route_is_published_or_a_known_exception():
    app = create_app(Settings(env="test", database_url="sqlite+aiosqlite://", jwt_secret=TEST_SECRET))
    document = app.openapi()
    published = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    for route in iter_route_contexts(app.routes):
        path = getattr(route, "path_format", None)
        if path is None or path.startswith(tuple(UNPUBLISHED)):
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                assert (path, method) in published, f"{method} {path} is served but not published"
    assert all(path.startswith("/api/v1/sales/") for path in document["paths"])
    assert document["info"]["version"]
