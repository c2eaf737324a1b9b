"""Service levels: business calendars, policies and the SLA clock of a ticket."""
