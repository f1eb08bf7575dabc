"""The sweeps room of the store: ``store.sweeps`` (see :mod:`runyard.store.sweeps.room`)."""

from runyard.store.sweeps.models import Assignment, SweepRecord, SweepRun

__all__ = ["Assignment", "SweepRecord", "SweepRun"]
