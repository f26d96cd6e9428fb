"""Notification requests to the Communications domain (PRD §5.2): `service.notify(...)`."""
