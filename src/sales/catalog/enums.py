from enum import StrEnum


class UserType(StrEnum):
    """Who a plan is sold to (PRD §3.2.2 user_type)."""

    TENANT = "TENANT"
    OWNER = "OWNER"
    BUYER = "BUYER"
