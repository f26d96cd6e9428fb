"""Plans (read model of Entitlements' catalogue, issue 10 §2): public surface is `service`."""
