"""The async I/O shells of the client: the source from which `scripts/unasync` writes `_sync/`."""
