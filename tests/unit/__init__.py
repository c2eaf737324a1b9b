"""Pure domain and helpers: no database, no network, no process (`make test-unit`)."""
