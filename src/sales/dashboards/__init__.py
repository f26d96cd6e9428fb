"""Sales performance dashboards (issue 18, PRD §2.2.6, §4.5 US-SALE-040, §9)."""
