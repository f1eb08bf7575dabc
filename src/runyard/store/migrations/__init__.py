"""Alembic migrations of the store, run programmatically by :mod:`runyard.store.migrate` (no alembic.ini)."""
