"""SLA status: each tracked ticket's clock and targets, and the policies and calendars as the log stands."""
