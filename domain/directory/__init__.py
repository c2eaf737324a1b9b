"""The directory of a tenant: its agents and groups, who belongs where, and how each group routes."""
