"""Plan usage (read model of Entitlements' quota counters, issue 10 §2): public surface is
`service.usage_for`."""
