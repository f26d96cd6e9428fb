from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Org-wide readers of upsells: the engine's clients and product/sales admins; support answers customers.
UPSELLS_ORG_WIDE = (Role.SERVICE, Role.PRODUCT_MANAGER, Role.SALES_ADMIN, Role.SUPPORT_AGENT)

# POST /upsells: SERVICE, PRODUCT_MANAGER, SALES_ADMIN; an RM only RM_CALL upsells to customers of their own
# open pipelines (checked by the service).
UpsellsCreate = Annotated[Principal, Depends(require(Role.SERVICE, Role.PRODUCT_MANAGER, Role.SALES_ADMIN,
                                                     Role.RM))]
# Reads: org-wide readers; a CUSTOMER their own; an RM / SUPERVISOR those of customers they (their teams) have a
# pipeline with, so the RM sees why an automated upsell was suppressed (others 404).
UpsellsRead = Annotated[Principal, Depends(require(*UPSELLS_ORG_WIDE, Role.CUSTOMER, Role.RM, Role.SUPERVISOR))]
# PATCH /upsells/{id}/response: the CUSTOMER who owns it, or SERVICE (the apps' backend).
UpsellsRespond = Annotated[Principal, Depends(require(Role.CUSTOMER, Role.SERVICE))]
# GET /upsells/funnel: aggregates for product, sales and finance admins.
UpsellsFunnel = Annotated[Principal, Depends(require(Role.PRODUCT_MANAGER, Role.SALES_ADMIN, Role.FINANCE_ADMIN))]
# POST /upsells/{id}/checkout: the CUSTOMER who owns the upsell.
UpsellsCheckout = Annotated[Principal, Depends(require(Role.CUSTOMER))]
# GET/PUT /upsells/triggers: SALES_ADMIN and PRODUCT_MANAGER (issue 11).
UpsellsConfigure = Annotated[Principal, Depends(require(Role.SALES_ADMIN, Role.PRODUCT_MANAGER))]
