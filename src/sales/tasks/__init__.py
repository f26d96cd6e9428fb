"""Follow-up tasks of RMs (issue 15)."""
