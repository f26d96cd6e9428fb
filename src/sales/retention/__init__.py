"""Data retention (issue 20, PRD §8.5): the schedule of every table and the `archive` job."""
