"""One module per schema revision; the newest must match ``runyard.store.schema.HEAD_REVISION``."""
