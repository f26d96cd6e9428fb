"""Visit plans (issue 15): route planning, confirmations, reminders, outcomes."""
