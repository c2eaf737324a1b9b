"""Projections: what each read model means, built from the event log."""
