from enum import StrEnum


class PlanStatus(StrEnum):
    ACTIVE = "ACTIVE"        # stops still to be visited
    COMPLETED = "COMPLETED"  # every stop visited, declined or unscheduled


class StopStatus(StrEnum):
    REQUESTED = "REQUESTED"      # sales.visit.requested sent; Scheduling has not answered
    CONFIRMED = "CONFIRMED"      # scheduling.visit.confirmed
    DECLINED = "DECLINED"        # scheduling.visit.declined (the owner cannot receive the customer)
    UNSCHEDULED = "UNSCHEDULED"  # no longer fits after a decline re-planned the day
    COMPLETED = "COMPLETED"      # visited: the RM's outcome or scheduling.visit.completed

    @property
    def pending(self) -> bool:
        return self in (StopStatus.REQUESTED, StopStatus.CONFIRMED)


PENDING = (StopStatus.REQUESTED.value, StopStatus.CONFIRMED.value)


class WindowSource(StrEnum):
    SCHEDULING = "SCHEDULING"  # scheduling.availability.updated
    REQUEST = "REQUEST"        # owner_window_start/end of the request
    NONE = "NONE"              # any time in the customer's window
