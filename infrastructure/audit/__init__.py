"""Tamper evidence: the hash chain over stored events, verification, signed checkpoints."""
