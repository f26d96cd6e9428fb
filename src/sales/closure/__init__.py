"""Deal closure (issue 15): the checklist per deal type, deal documents, and the CLOSED_WON gate."""
