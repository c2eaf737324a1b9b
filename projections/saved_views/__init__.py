"""Saved views: named ticket-list filters of a tenant."""
