from sales.core.errors import Conflict, NotFound, SalesError


class MalformedJSON(SalesError):
    status_code, code, title = 400, "malformed_json", "Malformed JSON"


class MalformedEvent(SalesError):
    status_code, code, title = 422, "malformed_event", "Malformed CloudEvent"


class EventNotFound(NotFound):
    code, title = "event_not_found", "Event not found"


class EventNotParked(Conflict):
    code, title = "event_not_parked", "Event is not parked"
