"""Who may read or change what: the one access policy (policy.py)."""
