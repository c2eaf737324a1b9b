"""Routing: what the router reads besides the queues — each group's last routed agent, each agent's last assignment."""
