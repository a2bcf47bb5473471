"""The agent loop: one module per role, plus the runner that sequences them.

Roles read warehouse tables (as DataFrames) and return rows to write, so each one is testable
on small fixture tables. Only :mod:`agents.runner` talks to the warehouse and to dbt.
"""
