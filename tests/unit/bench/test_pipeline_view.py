"""The list read path's PipelineView serializes to the same bytes as PipelineRead (docs/performance.md)."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from sales.core.auth import Principal, Role
from sales.core.http import dumps
from sales.core.pii import cipher
from sales.pipelines.schemas import CustomerSummary, PipelineRead, RMSummary
from sales.pipelines.service import CustomerView, PipelineView, RMView, may_see_pii, to_read, to_view

RM, TEAM = uuid.uuid4(), uuid.uuid4()


class _Row(tuple):  # the parts of sqlalchemy's Row the service uses: positions, _fields, attributes, _mapping
    _fields: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        if name == "_mapping":
            return dict(zip(self._fields, self))
        return self[self._fields.index(name)]


def _row(*, with_lead: bool = True, closed: bool = False) -> _Row:
    aead = cipher()
    at = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    values = dict(
        id=uuid.uuid4(), lead_id=uuid.uuid4(), rm_id=RM, stage="CLOSED_LOST" if closed else "NEGOTIATION",
        source="WEBSITE", deal_value=Decimal("250000.00"), probability=0 if closed else 80,
        expected_close_date=date(2025, 4, 1), actual_close_date=date(2025, 3, 4) if closed else None,
        outcome="LOST" if closed else "PENDING", loss_reason="Budget mismatch" if closed else None,
        notes="Call after 6 pm", sla_deadline=at, stage_changed_at=at, created_at=at.replace(microsecond=0),
        updated_at=at, rm_name="Priya Nair", rm_team_id=TEAM, team_name="Bangalore South 1",
        lead_known=uuid.uuid4() if with_lead else None, customer_id=uuid.uuid4() if with_lead else None,
        customer_name=aead.encrypt("Rahul Sharma") if with_lead else None,
        customer_phone=aead.encrypt("+91-9876543210") if with_lead else None,
        customer_email=aead.encrypt("rahul@example.com") if with_lead else None)
    names = list(values)
    names.reverse()  # the view must pick columns by name, not rely on the select's order
    row = _Row(values[n] for n in names)
    row._fields = tuple(names)
    return row


PRINCIPALS = {
    "assigned RM": Principal(sub=RM, roles=frozenset({Role.RM})),
    "supervisor": Principal(sub=uuid.uuid4(), roles=frozenset({Role.SUPERVISOR}), team_ids=frozenset({TEAM})),
    "support agent (masked)": Principal(sub=uuid.uuid4(), roles=frozenset({Role.SUPPORT_AGENT})),
    "sales admin": Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN})),
    "another team's supervisor (masked)": Principal(sub=uuid.uuid4(), roles=frozenset({Role.SUPERVISOR}),
                                                    team_ids=frozenset({uuid.uuid4()})),
    "another RM (masked)": Principal(sub=uuid.uuid4(), roles=frozenset({Role.RM}), team_ids=frozenset({TEAM})),
}


@pytest.mark.parametrize("wire", [False, True])
@pytest.mark.parametrize("who", PRINCIPALS)
@pytest.mark.parametrize("with_lead", [True, False])
@pytest.mark.parametrize("closed", [True, False])
def test_view_serializes_like_pipeline_read(who: str, with_lead: bool, closed: bool, wire: bool) -> None:
    row, principal = _row(with_lead=with_lead, closed=closed), PRINCIPALS[who]
    page = {"items": [to_read(row, principal)], "next_cursor": None}
    assert dumps({"items": [to_view(row, principal, wire=wire)], "next_cursor": None}) == dumps(page)


@pytest.mark.parametrize("who", PRINCIPALS)
def test_the_views_mask_as_may_see_pii_decides(who: str) -> None:
    row, principal = _row(), PRINCIPALS[who]
    shown = may_see_pii(principal, rm_id=RM, team_id=TEAM)
    assert shown == ("masked" not in who)
    for wire in (False, True):
        customer = to_view(row, principal, wire=wire).customer
        assert (customer.phone, customer.email) == (("+91-9876543210", "rahul@example.com") if shown
                                                    else ("+91-98XXXXXXXX", "r***@example.com"))


def test_wire_views_need_no_default_callback() -> None:
    """What the HTTP answer is made of is orjson's own (ids as str, money as Fragment): no `default=`."""
    for who in PRINCIPALS:
        for closed in (False, True):
            view = to_view(_row(closed=closed), PRINCIPALS[who], wire=True)
            orjson.dumps(view, option=orjson.OPT_UTC_Z)  # raises without a default for UUID/Decimal
            assert isinstance(view.id, str) and isinstance(view.rm.id, str)
            assert isinstance(view.deal_value, orjson.Fragment)


@pytest.mark.parametrize("view, model", [(PipelineView, PipelineRead), (CustomerView, CustomerSummary),
                                         (RMView, RMSummary)])
def test_view_fields_follow_the_schema(view: type, model: type) -> None:
    assert [f.name for f in dataclasses.fields(view)] == list(model.model_fields)
