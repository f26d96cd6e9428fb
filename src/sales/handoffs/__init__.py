"""Self-service <-> assisted handoffs (issue 15)."""
