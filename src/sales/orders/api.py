"""/api/v1/sales/orders: paid orders (read model of Billing, issue 10 §2)."""
from __future__ import annotations

from uuid import UUID

from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.orders import service
from sales.orders.enums import OrderStatus
from sales.orders.permissions import OrdersRead, OrdersWrite
from sales.orders.schemas import OrderDetail, OrderRead, OrderUpsert

router = make_router(tags=["orders"])


@router.get("/orders", response_model=Page[OrderRead])
async def list_orders(principal: OrdersRead, conn: Conn, paging: Paging, user_id: UUID | None = None,
                      status: OrderStatus | None = None):
    """Orders in the caller's scope, newest payment first."""
    items = await service.list_orders(conn, principal, user_id=user_id, status=status, limit=paging.limit,
                                      cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.get("/orders/{order_id}", response_model=OrderDetail)
async def get_order(order_id: UUID, principal: OrdersRead, conn: Conn):
    """One order with its refunds."""
    return respond(await service.get_order(conn, principal, order_id=order_id))


@router.put("/orders/{order_id}", response_model=OrderRead, responses={201: {"model": OrderRead}})
async def put_order(order_id: UUID, data: OrderUpsert, principal: OrdersWrite, conn: Conn, now: Now):
    """Create the order or bring it to these facts (backfill; the same body twice changes nothing)."""
    order, created = await service.record_order(conn, principal, order_id=order_id, facts=data, now=now,
                                                status=data.status)
    return respond(order, 201 if created else 200)
