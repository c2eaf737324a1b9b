"""Service metrics: the facts behind the reports (volume, times, backlog, reopens, agents, CSAT)."""
