"""The web pages for agents and customers: server-rendered HTML over the same services as the API (docs/ui.md)."""
