"""Rendering the web pages: one Jinja2 environment per language, autoescaped, with the i18n extension.

A template is a whole page (extending `layout.html`) or a partial whose name starts with `_`; a
route returns the partial to htmx requests (`HX-Request`) and the page otherwise, as the
contact app of *Hypermedia Systems* does.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.web.i18n import LANGUAGES, html_lang, shown_moment, translations
from api.web.visitors import FORM_TOKEN_FIELD, Visitor
from domain.access import policy as access

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment(language: str) -> Environment:
    """The templates in `language`: built once per language, so no request ever swaps another's translations."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["may"] = access.may  # what the header offers follows the access policy, not a list of roles
    return env


def wants_fragment(request: Request) -> bool:
    """Whether htmx asked (then a partial answers, not the whole page)."""
    return request.headers.get("hx-request") == "true"


def render(request: Request, visitor: Visitor, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or partial) in the visitor's language, with what every template may use."""
    language = visitor.language

    def when(moment: datetime | None) -> str:
        return "" if moment is None else shown_moment(moment, language=language, time_zone=visitor.time_zone)

    page = environment(language).get_template(template)
    html = page.render(
        visitor=visitor,
        principal=visitor.principal,
        form_token=visitor.form_token,
        form_token_field=FORM_TOKEN_FIELD,
        language=language,
        lang=html_lang(language),
        languages=LANGUAGES,
        path=request.url.path,
        when=when,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    visitor.keep_cookies(response)
    return response
