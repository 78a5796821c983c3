"""Fixtures for the operations tests: the workflow tests' seeded records store and cohort id, the same ones."""

from __future__ import annotations

from tests.workflows.conftest import cohort_id, records

__all__ = ["cohort_id", "records"]
