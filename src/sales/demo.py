"""Demo data for `make run`: cities, teams, RMs, leads and pipelines in several stages."""
from __future__ import annotations

import random
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from sales.core.auth import Principal, Role
from sales.core.clock import wall_now
from sales.core.db import create_engine, unit_of_work
from sales.customers import demo as context_demo
from sales.directory import service as directory_service
from sales.directory.models import rms
from sales.directory.schemas import RMCreate, TeamCreate
from sales.leads import repository as leads_repository
from sales.orders.demo import DEMO_CUSTOMERS, seed_commerce
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Source, Stage
from sales.pipelines.schemas import PipelineCreate, StageChange
from sales.refunds import demo as refunds_demo
from sales.settings import Settings

CITIES = {
    "Bangalore": {"South": ["Koramangala", "HSR Layout", "BTM Layout", "Jayanagar"],
                  "East": ["Indiranagar", "Whitefield", "Marathahalli", "Bellandur"]},
    "Mumbai": {"West": ["Andheri", "Bandra", "Juhu", "Goregaon"],
               "Central": ["Dadar", "Parel", "Worli", "Lower Parel"]},
    "Pune": {"West": ["Kothrud", "Baner", "Aundh", "Wakad"]},
}
FIRST = ["Priya", "Rahul", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rohan", "Meera", "Aditya", "Isha",
         "Karan", "Divya", "Nikhil", "Pooja", "Siddharth", "Neha", "Varun", "Riya", "Aman"]
LAST = ["Patel", "Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Joshi", "Rao", "Kulkarni"]
PATH = [Stage.CONTACTED, Stage.REQUIREMENTS_CAPTURED, Stage.SHORTLIST_SENT, Stage.VISIT_SCHEDULED,
        Stage.VISIT_COMPLETED, Stage.NEGOTIATION, Stage.AGREEMENT_PENDING]

DEMO_ADMIN = uuid.UUID("00000000-0000-4000-8000-00000000a001")
# One console account per staff role (development data only; printed by `make run`).
DEMO_CONSOLE_USERS = [
    ("admin@mysqrft.com", "demo-admin-2026", "SALES_ADMIN"),
    ("supervisor@mysqrft.com", "demo-supervisor-2026", "SUPERVISOR"),
    ("rm@mysqrft.com", "demo-rm-2026", "RM"),
    ("finance@mysqrft.com", "demo-finance-2026", "FINANCE_ADMIN"),
    ("support@mysqrft.com", "demo-support-2026", "SUPPORT_AGENT"),
    ("pm@mysqrft.com", "demo-pm-2026", "PRODUCT_MANAGER"),
]


async def seed_demo(settings: Settings) -> bool:
    """Load the demo set into an empty database; return False if RMs already exist."""
    engine = create_engine(settings)
    rng = random.Random(7)
    admin = Principal(sub=DEMO_ADMIN, roles=frozenset({Role.SALES_ADMIN}), name="Demo Admin")
    try:
        async with unit_of_work(engine) as conn:
            if (await conn.execute(select(func.count()).select_from(rms))).scalar():
                return False
            now = wall_now() - timedelta(days=20)
            rm_ids: list[uuid.UUID] = []
            first_team = None
            for city, zones in CITIES.items():
                for zone, localities in zones.items():
                    team = await directory_service.create_team(conn, admin, now=now, data=TeamCreate(
                        name=f"{city} {zone}", city=city, supervisor_id=uuid.uuid4()))
                    first_team = first_team or team
                    for i in range(4):
                        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                        rm = await directory_service.create_rm(conn, admin, now=now, data=RMCreate(
                            id=uuid.uuid4(), name=name, email=f"{name.lower().replace(' ', '.')}{i}@mysqrft.com",
                            phone=f"+91-98{rng.randrange(10**7, 10**8)}", team_id=team.id, city=city, zone=zone,
                            localities=rng.sample(localities, 2), capacity=25,
                            base_salary=Decimal(rng.choice([35000, 40000, 50000])),
                            performance_score=rng.randrange(40, 95), is_backup=(i == 3),
                            max_deal_value=Decimal(rng.choice([100000, 500000, 2000000]))))
                        rm_ids.append(rm.id)
            for n in range(60):
                created = now + timedelta(hours=n * 7)
                lead_id, rm_id = uuid.uuid4(), rng.choice(rm_ids)
                rm_id = rm_ids[0] if n % 3 == 0 else rm_id  # the demo RM's board has cards in every stage
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                await leads_repository.insert_lead(conn, {
                    "id": lead_id, "customer_id": _demo_customer(n), "customer_name": name,
                    "customer_phone": f"+91-9{rng.randrange(10**8, 10**9)}",
                    "customer_email": f"{name.split()[0].lower()}{n}@example.com", "allocation_status": "NEW",
                    "created_at": created, "updated_at": created})
                pipeline = await pipelines_service.create_pipeline(conn, admin, now=created, data=PipelineCreate(
                    lead_id=lead_id, rm_id=rm_id, source=rng.choice(list(Source)[:8]),
                    deal_value=Decimal(rng.randrange(5, 400) * 500), notes="Demo pipeline",
                    expected_close_date=(created + timedelta(days=rng.randrange(5, 40))).date()))
                steps = rng.randrange(0, len(PATH) + 2)
                at = created
                for stage in PATH[:min(steps, len(PATH))]:
                    at += timedelta(hours=rng.randrange(2, 30))
                    await pipelines_service.change_stage(conn, admin, pipeline_id=pipeline.id, now=at,
                                                         change=StageChange(stage=stage))
                if steps > len(PATH):
                    at += timedelta(days=1)
                    won = rng.random() < 0.6
                    await pipelines_service.change_stage(conn, admin, pipeline_id=pipeline.id, now=at,
                                                         change=StageChange(
                                                             stage=Stage.CLOSED_WON if won else Stage.CLOSED_LOST,
                                                             loss_reason=None if won else "Chose another property"))
            await seed_commerce(conn, admin, now=wall_now(), rm_ids=rm_ids)
            await refunds_demo.seed(conn, admin, now=wall_now())
            await context_demo.seed(conn, now=wall_now())  # listings, customers' preferences and activity
            await _seed_console(conn, admin, rm_id=rm_ids[0], team=first_team, rng=rng)
            return True
    finally:
        await engine.dispose()


def _demo_customer(n: int) -> uuid.UUID:
    """The commerce demo's customers (orders, usage) own the demo RM's first pipelines, and the first two another
    RM's too, so the pipeline page's customer panel shows plans, orders and other pipelines (issue 10 §3)."""
    if n % 3 == 0 and n // 3 < len(DEMO_CUSTOMERS):
        return DEMO_CUSTOMERS[n // 3]
    if n in (1, 4):
        return DEMO_CUSTOMERS[n // 3]
    return uuid.uuid4()


async def _seed_console(conn, admin: Principal, *, rm_id: uuid.UUID, team, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Console accounts for every staff role, and live leads in the demo RM's queue."""
    from sales.console import service as console_service

    now = wall_now()
    for email, password, role in DEMO_CONSOLE_USERS:
        await console_service.create_user(
            conn, admin, email=email, password=password, role=role, name=f"Demo {role.replace('_', ' ').title()}",
            rm_id=rm_id if role == "RM" else None, team_ids=[team.id] if role == "SUPERVISOR" else [], now=now,
            user_id=team.supervisor_id if role == "SUPERVISOR" else DEMO_ADMIN if role == "SALES_ADMIN" else None)
    try:
        from sales.allocation import service as allocation_service
        from sales.allocation.schemas import LeadAllocationRequest
    except ImportError:  # the allocation engine is not installed in this build
        return
    for n in range(6):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        await allocation_service.allocate_lead(conn, admin, now=now - timedelta(minutes=25 * n), request=LeadAllocationRequest(
            lead_id=uuid.uuid4(), city=team.city, zone=team.name.split()[-1], locality="Koramangala",
            property_type="RESIDENTIAL", segment=rng.choice(["TENANT", "BUYER", "OWNER"]), source="WEBSITE",
            expected_deal_value=Decimal(rng.randrange(20, 900) * 5000), rm_id=rm_id, reason="demo lead",
            customer={"name": name, "phone": f"+91-9{rng.randrange(10**8, 10**9)}",
                      "email": f"{name.split()[0].lower()}.q{n}@example.com"}))
