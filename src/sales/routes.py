"""Every router of the service, mounted under /api/v1/sales."""
from __future__ import annotations

from fastapi import FastAPI


def include_routers(app: FastAPI, *, prefix: str) -> None:
    from sales.admin.api import router as admin_router
    from sales.allocation import jobs as _allocation_jobs  # noqa: F401  (sla-sweep, overflow-retry, leave-start...)
    from sales.allocation.api import router as allocation_router
    from sales.commissions import jobs as _commission_jobs  # noqa: F401  (commissions-earn, -team-bonus)
    from sales.commissions.api import router as commissions_router
    from sales.customers.api import router as customers_router
    from sales.dashboards.api import router as dashboards_router
    from sales.directory.api import router as directory_router
    from sales.events.api import router as events_router
    from sales.experiments import jobs as _experiment_jobs  # noqa: F401  (registers experiment-rollout)
    from sales.experiments.api import router as experiments_router
    from sales.inventory.api import router as inventory_router
    from sales.journey.api import router as journey_router
    from sales.pipelines.api import router as pipelines_router
    from sales.catalog.api import router as catalog_router
    from sales.orders.api import router as orders_router
    from sales.usage.api import router as usage_router
    from sales.refunds.api import router as refunds_router
    from sales.retention import jobs as _retention_jobs  # noqa: F401  (registers archive)
    from sales.targets import jobs as _targets_jobs  # noqa: F401  (registers targets-refresh, targets-close)
    from sales.targets.api import router as targets_router
    from sales.upsell import jobs as _upsell_jobs  # noqa: F401  (registers upsell-expiry)
    from sales.upsell.api import router as upsell_router
    from sales.closure.api import router as closure_router
    from sales.handoffs.api import router as handoffs_router
    from sales.tasks import jobs as _tasks_jobs  # noqa: F401  (registers stale-stage-tasks)
    from sales.tasks.api import router as tasks_router
    from sales.visits import jobs as _visits_jobs  # noqa: F401  (registers visit-reminders)
    from sales.visits.api import router as visits_router

    # A request is matched against the routers in this order, each router's every route in turn (~1 us a route):
    # the two that serve nearly all requests first (issue 19: a pipeline read behind the others spent ~55 us here).
    # Paths of different routers never both match, so the order changes nothing else.
    app.include_router(pipelines_router, prefix=f"{prefix}/pipelines")
    app.include_router(allocation_router, prefix=f"{prefix}/allocations")
    app.include_router(admin_router, prefix=prefix)
    app.include_router(directory_router, prefix=prefix)
    app.include_router(events_router, prefix=prefix)
    app.include_router(catalog_router, prefix=prefix)
    app.include_router(orders_router, prefix=prefix)
    app.include_router(usage_router, prefix=prefix)
    app.include_router(customers_router, prefix=f"{prefix}/customers")
    app.include_router(inventory_router, prefix=f"{prefix}/inventory")
    app.include_router(experiments_router, prefix=prefix)  # before /upsells/{upsell_id}
    app.include_router(upsell_router, prefix=prefix)
    app.include_router(refunds_router, prefix=prefix)
    app.include_router(targets_router, prefix=prefix)
    app.include_router(commissions_router, prefix=prefix)
    app.include_router(dashboards_router, prefix=prefix)
    app.include_router(journey_router, prefix=prefix)
    app.include_router(visits_router, prefix=prefix)
    app.include_router(tasks_router, prefix=prefix)
    app.include_router(closure_router, prefix=prefix)
    app.include_router(handoffs_router, prefix=prefix)
