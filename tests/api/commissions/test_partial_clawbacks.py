"""CMR-002 partial refunds: the refunded share (refund / order amount) of each line of the sale is clawed back
as a PARTIAL_CLAWBACK line referencing it (append-only); a paid line's share is deducted from the next payout;
the refund that completes the order's refunds claws the whole commission back (issue 13)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.allocation_builders import run_job, set_clock
from tests.commerce_builders import send
from tests.commission_builders import COMMISSIONS, commission_plan, lines, refund, sell, seller

D = Decimal


def amounts(got: list[dict]) -> list[tuple[str, Decimal, str]]:
    return [(line["kind"], D(str(line["final_amount"])), line["status"]) for line in got]


@pytest.mark.parametrize(("refunded_at", "clawed"), [
    ("2026-02-23T10:00:00Z", True),    # day 44
    ("2026-02-24T10:00:00Z", True),    # day 45 exactly
    ("2026-02-24T10:00:01Z", False),   # one second into day 46: kept whole
])
async def test_cmr_002_a_partial_refund_within_45_days_claws_back_its_share_to_the_paisa(client, auth, refunded_at,
                                                                                        clawed):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    await set_clock(client, auth.admin, "2026-01-10T11:00:00Z")
    order_id = await sell(client, auth, who, "1999.99", "2026-01-10T10:00:00Z")   # 5 %: 99.9995 -> 100.00
    await set_clock(client, auth.admin, "2026-02-09T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    await set_clock(client, auth.admin, refunded_at)
    await refund(client, auth, order_id, "333.33", refunded_at)
    got = await lines(client, who["headers"])
    if not clawed:
        assert amounts(got) == [("SALE", D("100.00"), "EARNED")]
        return
    sale, share = got
    assert amounts(got) == [("SALE", D("100.00"), "EARNED"),                # never edited
                            ("PARTIAL_CLAWBACK", D("-16.67"), "EARNED")]    # 100.00 x 333.33 / 1999.99 = 16.6667
    assert (share["corrects_id"], share["transaction_id"], share["period"], share["base_amount"],
            share["commission_rate"]) == (sale["id"], sale["transaction_id"], "2026-01", 333.33, 5.0)
    assert share["rule"] == "CMR-002 clawback of a partial refund's share"
    assert share["reason"].startswith("CMR-002: refund") and "within 45 days" in share["reason"]
    assert "333.33 of the order's 1999.99 refunded (16.67%)" in share["explanation"]["text"]
    assert share["explanation"]["inputs"]["refund_amount"] == 333.33
    assert share["exception"] is False


async def test_cmr_002_partial_refund_of_a_pending_line_is_earned_with_it_and_approved_in_the_same_batch(client,
                                                                                                       auth):
    who = await seller(client, auth)
    finance = auth.headers("FINANCE_ADMIN")
    await commission_plan(client, finance)
    await set_clock(client, auth.admin, "2026-01-10T11:00:00Z")
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await set_clock(client, auth.admin, "2026-01-20T10:00:00Z")
    await refund(client, auth, order_id, "500.00", "2026-01-20T10:00:00Z")       # 25 %
    assert amounts(await lines(client, who["headers"])) == [
        ("SALE", D("100.00"), "PENDING"), ("PARTIAL_CLAWBACK", D("-25.00"), "PENDING")]
    await set_clock(client, auth.admin, "2026-02-09T10:00:00Z")
    assert (await run_job(client, auth.admin, "commissions-earn"))["processed"] == 2
    ids = [line["id"] for line in await lines(client, who["headers"])]
    batch = await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": ids}, finance)
    assert batch.status_code == 200, batch.text
    paid = await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-02", "reference": "PAY-FEB"},
                      finance)
    assert (paid.json()["lines"], D(str(paid.json()["total"]))) == (2, D("75.00")), paid.text


async def test_cmr_002_a_paid_lines_share_is_deducted_from_the_next_payout(client, auth):
    who = await seller(client, auth)
    finance = auth.headers("FINANCE_ADMIN")
    await commission_plan(client, finance)
    await set_clock(client, auth.admin, "2026-01-10T11:00:00Z")
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await sell(client, auth, who, "4000.00", "2026-02-12T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-09T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    first, second = await lines(client, who["headers"])
    assert (await client.post(f"{COMMISSIONS}/{first['id']}/approve", headers=finance)).status_code == 200
    jan = await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-01", "reference": "PAY-JAN"}, finance)
    assert D(str(jan.json()["total"])) == D("100.00")
    await set_clock(client, auth.admin, "2026-02-20T10:00:00Z")
    await refund(client, auth, order_id, "600.00", "2026-02-20T10:00:00Z")       # day 41, 30 %
    got = await lines(client, who["headers"])
    share = got[-1]
    assert (got[0]["status"], got[0]["final_amount"]) == ("PAID", 100.0)       # never edited
    assert (share["kind"], share["corrects_id"], share["final_amount"], share["status"], share["period"]) == (
        "PARTIAL_CLAWBACK", first["id"], -30.0, "APPROVED", "2026-01")
    assert "paid with PAY-JAN: deducted from the next payout" in share["explanation"]["text"]
    await set_clock(client, auth.admin, "2026-03-14T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    assert (await client.post(f"{COMMISSIONS}/{second['id']}/approve", headers=finance)).status_code == 200
    feb = await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-02", "reference": "PAY-FEB"}, finance)
    assert (feb.json()["lines"], D(str(feb.json()["total"]))) == (2, D("170.00")), feb.text   # 200.00 - 30.00


async def test_cmr_002_the_refund_completing_the_order_claws_the_whole_line_back(client, auth):
    who = await seller(client, auth)
    finance = auth.headers("FINANCE_ADMIN")
    await commission_plan(client, finance)
    await set_clock(client, auth.admin, "2026-01-10T11:00:00Z")
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await set_clock(client, auth.admin, "2026-01-15T10:00:00Z")
    await refund(client, auth, order_id, "500.00", "2026-01-15T10:00:00Z")
    await refund(client, auth, order_id, "1500.00", "2026-01-16T10:00:00Z")     # the rest: the whole line
    got = await lines(client, who["headers"])
    assert amounts(got) == [("SALE", D("100.00"), "CLAWED_BACK"), ("PARTIAL_CLAWBACK", D("-25.00"), "CLAWED_BACK")]
    await set_clock(client, auth.admin, "2026-03-01T00:00:00Z")
    assert (await run_job(client, auth.admin, "commissions-earn"))["processed"] == 0


async def test_cmr_002_a_paid_line_partly_then_fully_refunded_nets_to_zero(client, auth):
    who = await seller(client, auth)
    finance = auth.headers("FINANCE_ADMIN")
    await commission_plan(client, finance)
    await set_clock(client, auth.admin, "2026-01-10T11:00:00Z")
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-09T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    [line] = await lines(client, who["headers"])
    assert (await client.post(f"{COMMISSIONS}/{line['id']}/approve", headers=finance)).status_code == 200
    await refund(client, auth, order_id, "500.00", "2026-02-09T10:00:00Z")      # day 30: -25.00, APPROVED
    await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-02", "reference": "PAY-1"}, finance)
    await refund(client, auth, order_id, "1500.00", "2026-02-10T10:00:00Z")     # day 31: the rest
    got = await lines(client, who["headers"])
    assert sorted(amounts(got)) == sorted([
        ("SALE", D("100.00"), "PAID"), ("PARTIAL_CLAWBACK", D("-25.00"), "PAID"),
        ("CLAWBACK_REVERSAL", D("-100.00"), "APPROVED"), ("CLAWBACK_REVERSAL", D("25.00"), "APPROVED")])
    assert sum(amount for _, amount, _ in amounts(got)) == 0
    pay = await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-02", "reference": "PAY-2"}, finance)
    assert D(str(pay.json()["total"])) == D("-75.00")   # 75.00 paid with PAY-1 comes back
