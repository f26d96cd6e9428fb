"""RM directory and teams: reference data for allocation, scoping and dashboards."""
