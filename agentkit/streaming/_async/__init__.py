"""The async stream shells: the source from which `scripts/unasync` writes `_sync/`."""
