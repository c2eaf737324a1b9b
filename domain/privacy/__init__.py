"""Erasure of personal data, as it is put on record."""
