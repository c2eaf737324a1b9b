"""Webhooks: signed deliveries of the tenants' events to their endpoints, at least once, in order per ticket."""
