"""Benchmarks at PRD scale and beyond (ISSUE 6): seeding, pipeline-list timing, the load harness.

Nothing here is imported by the service; the `sales bench` commands are thin wrappers around it.
"""
