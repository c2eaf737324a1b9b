"""Tickets: the aggregate, its workflow, history, custom-field catalogue and saved views."""
