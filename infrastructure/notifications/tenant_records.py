"""A tenant's directory, notification choices and templates, read once per round of the notifier.

Each is an aggregate loaded from the log (a few milliseconds); a round of the enqueuer or the
sender reads them once per tenant instead of once per notification, and forgets them before the
next round, so a change is seen at most one round (well under a second) later.
"""

from __future__ import annotations

import threading
from typing import Any

from domain.directory.directory import Directory
from domain.helpdesk import HelpDesk
from domain.notifications.kinds import DEFAULT_LANGUAGE, Kind
from domain.notifications.preferences import Choice, NotificationPreferences
from domain.notifications.templates import NotificationTemplates, Template
from infrastructure.notifications.defaults import built_in


class TenantRecords:
    """What the notifier reads of tenants, kept for one round."""

    def __init__(self, desk: HelpDesk) -> None:
        self.desk = desk
        self._kept: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # the sender's threads share one round

    def forget(self) -> None:
        """Start a new round: read everything afresh."""
        with self._lock:
            self._kept.clear()

    def directory(self, tenant: str) -> Directory | None:
        """The tenant's directory."""
        found: Directory | None = self._read("directory", tenant, self.desk.directory)
        return found

    def choice(self, tenant: str, person_id: str) -> Choice:
        """A person's notification choice."""
        preferences: NotificationPreferences | None = self._read(
            "preferences", tenant, self.desk.notification_preferences
        )
        return Choice() if preferences is None else preferences.of(person_id)

    def template(self, tenant: str, kind: Kind, language: str | None) -> Template:
        """The template to write with: the tenant's in the language, the tenant's in English, the built-in one."""
        own: NotificationTemplates | None = self._read("templates", tenant, self.desk.notification_templates)
        for tag in dict.fromkeys((language or DEFAULT_LANGUAGE, DEFAULT_LANGUAGE)):
            found = None if own is None else own.template(kind.value, tag)
            if found is not None:
                return found
        return built_in(kind, language or DEFAULT_LANGUAGE)

    def _read(self, what: str, tenant: str, load: Any) -> Any:
        key = (what, tenant)
        with self._lock:
            if key in self._kept:
                return self._kept[key]
        found = load(tenant)  # outside the lock: two threads may both read it, once each
        with self._lock:
            self._kept[key] = found
        return found
