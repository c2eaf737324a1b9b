"""Templates rendered in Jinja2's sandbox: tenants' admins write them, so they may not reach Python's insides.

`SandboxedEnvironment` refuses attribute access to anything unsafe (`__class__`, `mro`, a
function's globals, ...), and the variables given are plain dicts and strings, nothing with
methods worth calling. The HTML body is rendered with autoescaping, so a comment's `<script>`
arrives as text; the subject and plain text without. A template that does not compile is refused
when it is set (422), and one that fails while rendering falls back to the built-in template.

Variables: `ticket` (id, ref, title, status, priority, type, group, assignee), `recipient` (id,
kind), `actor` (who acted), `comment` (a reply's or note's text), `sla` (target, due_at),
`ticket_url`, `rating_url`, `kind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2 import Template as JinjaTemplate
from jinja2.sandbox import SandboxedEnvironment

from domain.errors import InvalidValueError
from domain.notifications.templates import Template

_TEXT = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message's subject and bodies."""

    subject: str
    text: str
    html: str


def check(template: Template) -> None:
    """Refuse (InvalidValueError, 422) a template any part of which does not compile, saying which and why."""
    for part, source, environment in _parts(template):
        try:
            environment.from_string(source)
        except TemplateError as error:
            msg = f"the {part} template does not compile: {error}"
            raise InvalidValueError(msg) from None


def render(template: Template, variables: dict[str, Any]) -> Rendered:
    """The message as `template` writes it with `variables` (jinja2's TemplateError when it cannot)."""
    subject, text, html = (_compiled(env is _HTML, source).render(variables) for _, source, env in _parts(template))
    return Rendered(" ".join(subject.split()), text, html)  # a subject is one line, whatever was written


@lru_cache(maxsize=1024)
def _compiled(html: bool, source: str) -> JinjaTemplate:
    """A template compiled once per process (compiling costs milliseconds; a tenant's texts rarely change)."""
    return (_HTML if html else _TEXT).from_string(source)


def _parts(template: Template) -> tuple[tuple[str, str, SandboxedEnvironment], ...]:
    return (("subject", template.subject, _TEXT), ("text", template.text, _TEXT), ("html", template.html, _HTML))
