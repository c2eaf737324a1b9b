"""Workflows: the lifecycles a tenant defines for its tickets, versioned."""
