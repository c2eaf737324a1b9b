"""The ticket domain: aggregates, value objects, workflow rules and the HelpDesk application.

Imports only eventsourcing's domain and application modules and the standard library.
"""
