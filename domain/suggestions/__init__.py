"""Suggestions learned from a tenant's own solved tickets: the rules, the ticket's record, the commands."""
