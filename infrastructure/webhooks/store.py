"""The webhook tables together: secrets, deliveries, endpoint health."""

from __future__ import annotations

from dataclasses import dataclass

from infrastructure.webhooks.deliveries import Deliveries
from infrastructure.webhooks.health import EndpointHealth
from infrastructure.webhooks.secrets import WebhookSecrets
from infrastructure.webhooks.sql import Sql


@dataclass(frozen=True, slots=True)
class WebhookStore:
    """Every table of the webhooks, in the events' database."""

    sql: Sql
    secrets: WebhookSecrets
    deliveries: Deliveries
    health: EndpointHealth

    @classmethod
    def on(cls, sql: Sql) -> WebhookStore:
        """The tables reached through `sql`."""
        return cls(sql, WebhookSecrets(sql), Deliveries(sql), EndpointHealth(sql))

    def create_tables(self) -> None:
        """Create every table (a schema step)."""
        self.secrets.create_table()
        self.deliveries.create_table()
        self.health.create_table()
