"""Every table, imported once so the metadata is complete (Alembic, tests)."""
from sales.allocation import models as _allocation  # noqa: F401
from sales.catalog import models as _catalog  # noqa: F401
from sales.closure import models as _closure  # noqa: F401
from sales.commissions import models as _commissions  # noqa: F401
from sales.console import models as _console  # noqa: F401
from sales.core.tables import metadata
from sales.customers import models as _customers  # noqa: F401
from sales.dashboards import models as _dashboards  # noqa: F401
from sales.directory import models as _directory  # noqa: F401
from sales.events import models as _events  # noqa: F401
from sales.experiments import models as _experiments  # noqa: F401
from sales.handoffs import models as _handoffs  # noqa: F401
from sales.inventory import models as _inventory  # noqa: F401
from sales.journey import models as _journey  # noqa: F401
from sales.leads import models as _leads  # noqa: F401
from sales.orders import models as _orders  # noqa: F401
from sales.notifications import models as _notifications  # noqa: F401
from sales.pipelines import models as _pipelines  # noqa: F401
from sales.refunds import models as _refunds  # noqa: F401
from sales.retention import models as _retention  # noqa: F401
from sales.targets import models as _targets  # noqa: F401
from sales.tasks import models as _tasks  # noqa: F401
from sales.upsell import models as _upsell  # noqa: F401
from sales.usage import models as _usage  # noqa: F401
from sales.visits import models as _visits  # noqa: F401

__all__ = ["metadata"]
