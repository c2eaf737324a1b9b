"""API keys as they are put on record (the secrets live in infrastructure/keys.py)."""
