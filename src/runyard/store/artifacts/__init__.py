"""Artifacts: versioned, content-addressed collections of files, with lineage (which run logged, which used).

The room's parts: :mod:`.tables` (its tables), :mod:`.writes` (what ingestion does with an ``artifact`` record,
plain SQL so that the SQLAlchemy-free ingester runs it too), :mod:`.reads`, :mod:`.room` (the
:class:`~runyard.store.artifacts.room.Artifacts` object a store exposes as ``store.artifacts``) and
:mod:`.gc` (removing blobs nothing references).

Kept free of imports here: :mod:`runyard.store.schema` imports :mod:`.tables` to register them.
"""
