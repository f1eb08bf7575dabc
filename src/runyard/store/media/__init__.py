"""Media in the store: which history keys hold media references, and the reads behind the web app's media panels.

A media value in history is one W&B-shaped reference (a dict with a ``"_type"``: ``image-file``, ``histogram``,
``table-file``...), never flattened; its bytes are a run file at the reference's ``path``. This package keeps
the ``media_keys`` table (each run's media keys and their type, recorded on ingest so listing them never
decodes a block), reads references at a step or over a step range, histograms over time as a step x bin
matrix, and big tables paged from an indexed copy (:mod:`runyard.store.media.tables`).

The package itself imports nothing: the ingester process imports :mod:`runyard.store.media.writes` without
SQLAlchemy.
"""
