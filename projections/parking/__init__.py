"""Parking: the dead-letter list of aggregates whose events could not be applied."""
