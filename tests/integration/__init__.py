"""Storage, projections, the audit chain and the SLA watcher on memory, SQLite and PostgreSQL."""
