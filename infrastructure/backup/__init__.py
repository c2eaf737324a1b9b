"""Backups of the event log, its hash chain and the data keys, and their restore (docs/operations.md)."""
