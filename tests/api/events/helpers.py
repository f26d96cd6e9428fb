from __future__ import annotations

import uuid
from typing import Any

API = "/api/v1/sales"


def cloudevent(type_: str, data: Any, *, id_: str | None = None, source: str = "/mysqrft/leads") -> dict[str, Any]:
    return {"specversion": "1.0", "id": id_ or str(uuid.uuid4()), "source": source, "type": type_,
            "time": "2026-01-10T10:00:00Z", "datacontenttype": "application/json", "data": data}
