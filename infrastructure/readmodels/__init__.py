"""Read-model storage: the ticket views on SQLite and PostgreSQL, their generations, queries and worker."""
