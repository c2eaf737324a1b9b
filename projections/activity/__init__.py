"""Audit activity: changes per tenant, day, actor, organisation and event type."""
