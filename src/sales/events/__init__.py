"""Event backbone: outbox relay and feed, consumed events (inbox, handlers, parking), the worker's jobs.

Other domains register consumed-event handlers with `sales.events.registry.handles("billing.x.y")`.
"""
