"""Issue 9 item 16: the API answers what its published OpenAPI says, checked by Schemathesis in-process.

Every Schemathesis check is on, for every operation, except where a list below says why not:
- SEMANTIC_422: input the API also checks against stored data or across fields, which no schema can say: a
  schema-valid request may be 422 there (the 422 itself must still conform).
- ROUTING: paths where another method reaches a templated sibling route (422), not a 405.
- KNOWN_ELSEWHERE: 5xx that belong to other items of issue 9, fixed on other branches: the lead removes each
  entry once its fix is merged.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.python import asgi

from sales.app import API, create_app
from sales.core.auth import issue_token
from sales.core.db import create_engine
from sales.settings import Settings
from tests.conftest import TEST_SECRET

# The budget, about 2,300 requests and 40 s per database on a busy machine: every negative coverage case (each
# parameter and property missing, of a wrong type, out of its bounds; DELETE and OPTIONS on each path) plus a few
# generated cases per operation, valid and invalid. (The positive coverage cases, every boundary value, would
# double it.) Derandomized: every run sends the same requests.
EXAMPLES_PER_OPERATION = 5

_CURSOR = "an opaque cursor the API did not issue"
SEMANTIC_422: dict[str, str] = {
    "PUT /teams/{team_id}": "a given name or city may not be null; the id cannot be changed",
    "POST /rms": "unknown team; a shift's start and end must differ",
    "PUT /rms/{rm_id}": "unknown team; a given field may not be null; the id cannot be changed; shifts as above",
    "POST /rms/import": "the CSV needs its header row, and its rows are checked like POST /rms",
    "POST /rms/{rm_id}/leaves": "end_date not before start_date",
    "GET /events/feed": "`after` must name a published event",
    "POST /pipelines": "unknown or inactive RM",
    "POST /commissions/plans": "the amount, rate or tiers the commission type needs (and no others); tiers from 0 "
                               "rising; TEAM_BONUS is the BONUS plan",
    "POST /commissions/batch-approve": "each id once",
    "POST /commissions/payouts": "a period that has begun",
    "POST /commissions/{commission_id}/resolve": "an upheld dispute names an amount, a rejected one none",
    "PUT /pipelines/{pipeline_id}": "a given source may not be null",
    "PATCH /pipelines/{pipeline_id}/stage": "moving back needs a reason, closing lost a loss_reason, closing won a "
                                            "deal_value",
    "POST /allocations": "unknown or inactive RM; the lead is already with that RM",
    "PUT /allocations/rules": "widening levels distinct and in order; a known time zone; a non-blank city",
    "POST /allocations/simulate": "either leads or a date range, `to` not before `from`; rules as above",
    "POST /allocations/bulk-reassign": "unknown or inactive RM; override_capacity needs to_rm_id",
    "POST /allocations/{allocation_id}/reassign": "unknown or inactive RM; override_capacity needs to_rm_id",
    "PUT /orders/{order_id}": "unknown plan; the amount may not fall below what was refunded",
    "PUT /usage/{user_id}": "unknown plan",
    "POST /pipelines/{pipeline_id}/visit-plans": "window_end after window_start within a day; known, available and "
                                                 "distinct listings; owner windows ordered; `infeasible` windows",
    "POST /visit-plans/{plan_id}/replan": "`infeasible`: the pending stops no longer fit from now",
    "PATCH /visit-plans/{plan_id}/stops/{stop_id}": "at least one of interested, rating, notes",
    "PATCH /pipelines/{pipeline_id}/checklist": "only items of the deal type's checklist, never null",
    "POST /pipelines/{pipeline_id}/documents": "a multipart `file` that is not empty, a known `kind`",
    "POST /tasks": "unknown RM or pipeline (out of the caller's scope)",
    "POST /handoffs": "TO_ASSISTED needs a city and locality in the context (or known listings) and known "
                      "segment / property_type / source values",
    "POST /upsells": "unknown or retired target plan, a plan of another user type or not above the current one",
    "POST /upsells/experiments": "variant weights summing to 1 with exactly one control and distinct keys; a "
                                 "baseline rate in (0, 1) that the detectable effect keeps below 1",
    "PUT /upsells/experiments/{experiment_id}": "variants and rates as for POST /upsells/experiments",
    "POST /upsells/experiments/{experiment_id}/conclude": "the winner must be one of the experiment's variants",
    "GET /upsells/funnel": "`from` must be before `to`",
    "GET /dashboards/forecast": "a team forecast's scope_id is the team's id (a UUID), a city forecast's a name",
    "PUT /upsells/triggers": "`quota_threshold_percent` has one decimal place; the day counts 62.0 are integers to "
                             "JSON Schema, not to the API",
    "PUT /guarantees": "known plans, each at most once; a condition has exactly one of lt, lte, gt, gte; 37.0 is an "
                       "integer to JSON Schema, not to the API",
    "POST /refunds/{refund_id}/evidence": "the file must be a JPEG, PNG or PDF by its content and within the size "
                                          "limit; `kind` must be evidence the claim's guarantee asks for",
    "POST /refunds/{refund_id}/approve": "above the refundable amount; a policy exception needs a reason",
    "POST /targets": "period_start on its period's boundary; the assignee (RM, team, city) must exist and match "
                     "the target type; target_value within the metric's range (counts whole, rates <= 100, CSAT <= 10)",
    "PUT /targets/{target_id}": "a target_value or a status; target_value within the metric's range",
    "GET /targets/leaderboard": "period_start on its period's boundary; a team's scope_id is its UUID",
    "PUT /pipelines/{pipeline_id}/requirements": "min not above max; `near` needs lat, lon and radius_km; a criterion "
                                                 "needs its requirement and is either must or weight",
    "POST /pipelines/{pipeline_id}/shortlists": "unknown or removed listing",
    "PATCH /shortlists/{shortlist_id}": "unknown or removed listing; ids on (or already on) the shortlist; the full "
                                        "order",
}

# operation -> (the defect, the Schemathesis settings that step around it until its fix is merged)
KNOWN_ELSEWHERE: dict[str, tuple[str, dict[str, Any]]] = {}

# A literal path segment shadowed by a templated sibling: `GET /allocations/simulate` is
# `GET /allocations/{allocation_id}` with allocation_id=simulate, rightly 422 (not a UUID), never the 405 that
# the unsupported-method check expects.
_SHADOWED = {"unsupported_method": "another method on this path reaches the templated sibling route (422)"}
ROUTING: dict[str, dict[str, str]] = {
    "POST /rms/import": _SHADOWED,  # GET/PUT /rms/{rm_id}
    "GET /pipelines/stats": _SHADOWED,  # PUT /pipelines/{pipeline_id}
    "POST /allocations/simulate": _SHADOWED,  # GET /allocations/{allocation_id}
    "POST /allocations/bulk-reassign": _SHADOWED,  # GET /allocations/{allocation_id}
    "GET /targets/leaderboard": _SHADOWED,  # PUT /targets/{target_id}
}


# Only routes and the JWT secret matter here (the secret is the same for both test databases).
DOCUMENT_SETTINGS = Settings(env="test", database_url="sqlite+aiosqlite://", jwt_secret=TEST_SECRET, log_json=True,
                             log_level="WARNING")


def _admin_token() -> str:
    return issue_token(DOCUMENT_SETTINGS, sub=uuid.uuid4(), roles=["SALES_ADMIN"], team_ids=[])


def _operation(label: str, **settings: Any) -> dict[str, Any]:
    method, path = label.split(" ", 1)
    return {"include-name": f"{method} {API}{path}", **settings}


def _paged_operations(document: dict[str, Any]) -> dict[str, str]:
    """Every list with a `cursor` parameter: only cursors the API issued are valid, which no schema can say."""
    return {f"{method.upper()} {path.removeprefix(API)}": _CURSOR for path, operations in document["paths"].items()
            for method, operation in operations.items()
            if any(p["name"] == "cursor" for p in operation.get("parameters", []))}


def _config(document: dict[str, Any]) -> schemathesis.Config:
    operations = [_operation(label, checks={"positive_data_acceptance": {
        "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}})
        for label in {**_paged_operations(document), **SEMANTIC_422}]
    for label, checks in ROUTING.items():
        operations.append(_operation(label, checks={name: {"enabled": False} for name in checks}))
    for label, (_, settings) in KNOWN_ELSEWHERE.items():
        operations.append(_operation(label, **settings))
    return schemathesis.Config.from_dict({
        "generation": {"deterministic": True},
        "phases": {"coverage": {"generation": {"mode": "negative"}, "unexpected-methods": ["DELETE", "OPTIONS"]}},
        "auth": {"openapi": {"HTTPBearer": {"bearer": _admin_token()}}},
        "operations": operations,
    })


# The document every operation is generated from, as /openapi.json serves it (no database is touched).
_DOCUMENT_APP = create_app(DOCUMENT_SETTINGS)
published = schemathesis.openapi.from_asgi("/openapi.json", _DOCUMENT_APP, config=_config(_DOCUMENT_APP.openapi()))


@pytest.fixture(scope="module")
def app_under_test(settings: Settings) -> Iterator[FastAPI]:
    # Its own engine: Schemathesis drives the app on its own event loop, where the connections must live.
    yield create_app(settings, engine=create_engine(settings))
    asgi.shutdown_lifespans()  # each app's lifespan disposes of its engine


@published.parametrize()
@hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_published(case: schemathesis.Case, app_under_test: FastAPI) -> None:
    """issue 9 item 16: as SALES_ADMIN, with every check on, nothing the API answers (status, content type,
    headers, body) departs from the published OpenAPI, and nothing is a 5xx."""
    case.call_and_validate(app=app_under_test)
