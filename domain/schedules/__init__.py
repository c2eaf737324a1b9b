"""Schedules: recurring ticket templates that open a ticket at each occurrence of a rule, in a time zone."""
