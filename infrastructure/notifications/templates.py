"""Which template a notification is written with: the tenant's for its kind and language, else the built-in one."""

from __future__ import annotations

from typing import Unpack

from domain.helpdesk import HelpDesk
from domain.notifications.kinds import Kind
from domain.notifications.templates import Template
from domain.pipeline import Acting
from infrastructure.notifications import rendering
from infrastructure.notifications.tenant_records import TenantRecords


class TemplateBook:
    """Templates as the notifier uses them, and the admins' command to set one (checked to compile first)."""

    def __init__(self, desk: HelpDesk) -> None:
        self.desk = desk

    def put(self, *, tenant: str, kind: str, language: str, template: Template, **how: Unpack[Acting]) -> int | None:
        """Set a tenant's template once it compiles (InvalidValueError otherwise); the log position."""
        rendering.check(template)
        return self.desk.set_notification_template(
            tenant=tenant, kind=kind, language=language, template=template, **how
        )

    def choose(self, tenant: str, kind: Kind, language: str | None) -> Template:
        """The template to write with: the tenant's in the language, the tenant's in English, the built-in one."""
        return TenantRecords(self.desk).template(tenant, kind, language)
