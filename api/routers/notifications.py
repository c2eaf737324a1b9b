"""Notifications: admins' templates per kind and language, and everyone's own opt-outs (docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from api.deps import ChannelDep, DeskDep, PrincipalDep, ServicesDep
from api.plain_text import DocumentedPattern, NonBlankText, PlainText
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from domain.notifications.kinds import BUILT_IN_LANGUAGES, LANGUAGE_PATTERN, Kind
from domain.notifications.templates import BODY_MAX, SUBJECT_MAX, Template

router = APIRouter(tags=["notifications"])
Language = Annotated[
    str, Path(min_length=1, max_length=16, pattern=LANGUAGE_PATTERN, description="A language tag: en, zh, pt-br, ...")
]
#: A subject: one line, not blank (what the domain stores).
Subject = Annotated[PlainText, DocumentedPattern(r"^[^\x00-\x1F]*[^\s\x00-\x1F\x85][^\x00-\x1F]*$")]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class TemplateIn(Strict):
    """A template: subject, plain text and HTML, each Jinja2 (rendered in a sandbox; variables in the docs)."""

    subject: Subject = Field(min_length=1, max_length=SUBJECT_MAX, examples=["Re: {{ ticket.title }}"])
    text: NonBlankText = Field(min_length=1, max_length=BODY_MAX, examples=["{{ actor }} replied:\n\n{{ comment }}"])
    html: NonBlankText = Field(
        min_length=1, max_length=BODY_MAX, examples=["<p>{{ actor }} replied:</p><p>{{ comment }}</p>"]
    )


class TemplateOut(TemplateIn):
    """A tenant's template, or the built-in one when the tenant set none."""

    kind: Kind
    language: str
    built_in: bool = Field(description="Whether this is ledgerdesk's own template (the tenant set none).")


class PreferencesIn(Strict):
    """Which notifications the caller wants: e-mail at all, then per kind, and in which language."""

    email: StrictBool = Field(default=True, description="false: no notification e-mail at all.")
    kinds: dict[Kind, StrictBool] = Field(
        default_factory=dict, description="Per kind (a kind not named follows `email`)."
    )
    language: Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN, max_length=16)] | None = Field(
        default=None, description=f"Built-in templates: {', '.join(BUILT_IN_LANGUAGES)}."
    )


class PreferencesOut(PreferencesIn):
    """The caller's choice as recorded."""

    person_id: str


@router.put(
    "/notification-templates/{kind}/{language}", response_model=TemplateOut, responses=problem_responses(401, 403, 422)
)
def put_notification_template(
    kind: Kind,
    language: Language,
    body: TemplateIn,
    services: ServicesDep,
    principal: PrincipalDep,
    via: ChannelDep,
    response: Response,
) -> TemplateOut:
    """Set the tenant's template of a kind in a language (422 when it does not compile)."""
    template = Template(body.subject, body.text, body.html)
    position = services.notification_templates().put(
        tenant=principal.tenant, kind=kind.value, language=language, template=template, by=principal.actor, via=via
    )
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)
    return get_notification_template(kind, language, services, principal)


@router.get(
    "/notification-templates/{kind}/{language}", response_model=TemplateOut, responses=problem_responses(401, 403, 422)
)
def get_notification_template(
    kind: Kind, language: Language, services: ServicesDep, principal: PrincipalDep
) -> TemplateOut:
    """The template a notification of this kind in this language is written with."""
    own = services.desk.notification_templates(principal.tenant)
    found = None if own is None else own.template(kind.value, language.lower())
    template = found or services.notification_templates().choose(principal.tenant, kind, language.lower())
    return TemplateOut(kind=kind, language=language.lower(), built_in=found is None, **_parts(template))


@router.put("/me/notifications", response_model=PreferencesOut, responses=problem_responses(401, 403, 422))
def put_my_notifications(
    body: PreferencesIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> PreferencesOut:
    """Choose which notifications you get (customers and agents alike)."""
    position = desk.choose_notifications(
        tenant=principal.tenant,
        person_id=principal.actor.id,
        email=body.email,
        kinds={k.value: v for k, v in body.kinds.items()},
        language=body.language,
        by=principal.actor,
        via=via,
    )
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)
    return get_my_notifications(desk, principal)


@router.get("/me/notifications", response_model=PreferencesOut, responses=problem_responses(401, 403))
def get_my_notifications(desk: DeskDep, principal: PrincipalDep) -> PreferencesOut:
    """Which notifications you get."""
    choice = desk.notification_choice(principal.tenant, principal.actor.id)
    kinds = {Kind(k): v for k, v in choice.kinds.items()}
    return PreferencesOut(person_id=principal.actor.id, email=choice.email, kinds=kinds, language=choice.language)


def _parts(template: Template) -> dict[str, str]:
    return {"subject": template.subject, "text": template.text, "html": template.html}
