"""Workload: what each agent has open, and solved per day."""
