"""Automation: triggers that act on ticket events, macros agents apply, as rules of a tenant."""
