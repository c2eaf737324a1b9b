"""A tenant's own notification templates, per kind and language, replacing the built-in ones.

The texts are Jinja2 templates that the notifier renders in a sandbox
(infrastructure/notifications/rendering.py), which also checks that they compile before one is
set: the domain keeps the texts and who set them, not how they are rendered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.notifications.kinds import kind, language
from domain.provenance import Recorded, TenantOwned

_TEMPLATES = uuid.UUID("8a4f2c6e-3b9d-4e1a-b7c5-6d2f8e0a4c13")
SUBJECT_MAX = 300
BODY_MAX = 50_000


@dataclass(frozen=True, slots=True)
class Template:
    """One template: the subject, the plain text and the HTML body (all Jinja2)."""

    subject: str
    text: str
    html: str


class NotificationTemplates(TenantOwned):
    """A tenant's templates by (kind, language)."""

    class Event(TenantOwned.Event):
        """Base of the templates' events."""

    class Started(Event, Recorded.Created):
        """The tenant's first template is about to be set."""

    class TemplateSet(Event):
        kind: str
        language: str
        subject: str
        text: str
        html: str

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's templates."""
        return uuid.uuid5(_TEMPLATES, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> NotificationTemplates:
        """No templates of the tenant's own yet."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant
        self.templates: dict[str, dict[str, str]] = {}  # "kind/language" -> subject, text, html

    def set_template(self, kind_name: str, language_tag: str, template: Template) -> None:
        """Set the template of a kind in a language (checked for size; compiled by the caller beforehand)."""
        checked_kind, tag = kind(kind_name).value, language(language_tag)
        subject = values.text(template.subject, "subject")
        if len(subject) > SUBJECT_MAX or "\n" in subject or "\r" in subject:
            msg = f"a subject is one line of at most {SUBJECT_MAX} characters"
            raise InvalidValueError(msg)
        for name, body in (("text", template.text), ("html", template.html)):
            if len(values.text(body, name)) > BODY_MAX:
                msg = f"{name} must hold at most {BODY_MAX} characters"
                raise InvalidValueError(msg)
        texts = {"subject": subject, "text": template.text, "html": template.html}
        if self.templates.get(f"{checked_kind}/{tag}") == texts:
            return
        self._template_set(kind=checked_kind, language=tag, **texts)

    @event(TemplateSet)
    def _template_set(self, *, kind: str, language: str, subject: str, text: str, html: str) -> None:
        self.templates = {**self.templates, f"{kind}/{language}": {"subject": subject, "text": text, "html": html}}

    def template(self, kind_name: str, language_tag: str) -> Template | None:
        """The tenant's template of a kind in a language, or None (the built-in one applies)."""
        found = self.templates.get(f"{kind_name}/{language_tag}")
        return None if found is None else Template(found["subject"], found["text"], found["html"])
