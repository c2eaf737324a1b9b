"""Adapters: settings, database set-up, key storage and the composition root."""
