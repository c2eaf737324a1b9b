"""Customer profiles: what a tenant knows of each customer account (docs/customers.md)."""
