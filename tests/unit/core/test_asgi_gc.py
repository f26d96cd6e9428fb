"""Issue 19: the API process tunes its garbage collector (settings.gc_thresholds) and freezes what startup made."""
from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = "import gc, json, sales.asgi; print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))"


def _process_gc(**env: str) -> list:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    environment.update(SALES_DATABASE_URL="sqlite+aiosqlite://", **env)
    done = subprocess.run([sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_api_process_collects_at_the_configured_thresholds_with_startup_frozen():
    thresholds, frozen = _process_gc()
    assert thresholds == [10_000, 10, 10] and frozen > 10_000
    assert _process_gc(SALES_GC_THRESHOLDS="[700, 10, 10]")[0] == [700, 10, 10]
