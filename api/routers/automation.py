"""Triggers and macros: a tenant's rules (domain/automation), and applying a macro to a ticket.

Read from the tenant's rule book itself (an aggregate), so a change is there the moment its PUT
answers. A rule that cannot be recorded is 422 with `path`, the part at fault
(`conditions/all/1/op`); nothing is stored then.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.automation_schemas import (
    AutomationIn,
    AutomationList,
    AutomationOut,
    MacroIn,
    MacroList,
    MacroOut,
    Preview,
    PreviewItem,
    TriggerIn,
    TriggerList,
    TriggerOut,
    plain,
    plain_actions,
)
from api.deps import ChannelDep, CommandDep, DeskDep, PrincipalDep, ServicesDep
from api.plain_text import Slug
from api.problems import problem_responses
from api.routers.tickets import _COMMAND_ERRORS, POSITION_HEADER, _answer
from api.routers.workflows import VersionQuery
from api.schemas import TicketPublic
from domain.automation import actions as action_list
from domain.automation.commands import MACRO_CHANNEL
from domain.automation.rules import Macro, TimedRule, Trigger
from infrastructure.automations import AutomationRunner

router = APIRouter(tags=["automation"])


def _trigger_out(trigger: Trigger) -> TriggerOut:
    return TriggerOut(
        name=trigger.name,
        version=trigger.version,
        title=trigger.title,
        position=trigger.position,
        enabled=trigger.enabled,
        on=list(trigger.on),
        conditions=trigger.conditions.as_dict(),
        actions=action_list.shown(trigger.actions),
    )


def _macro_out(macro: Macro) -> MacroOut:
    return MacroOut(name=macro.name, version=macro.version, title=macro.title, actions=action_list.shown(macro.actions))


@router.put("/triggers/{name}", response_model=TriggerOut, responses=problem_responses(401, 403, 422))
def put_trigger(
    name: Slug, body: TriggerIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> TriggerOut:
    """Define a trigger or change it: a new version (the same definition records nothing; enabled false disables)."""
    receipt = desk.define_trigger(
        tenant=principal.tenant,
        name=name,
        title=body.title,
        position=body.position,
        enabled=body.enabled,
        on=[str(kind) for kind in body.on],
        conditions=plain(body.conditions),
        actions=plain_actions(body.actions),
        by=principal.actor,
        via=via,
    )
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return _trigger_out(desk.trigger(principal.tenant, receipt.name))


@router.get("/triggers", response_model=TriggerList, responses=problem_responses(401, 403))
def list_triggers(desk: DeskDep, principal: PrincipalDep) -> TriggerList:
    """The tenant's triggers, disabled ones too, in the order they run."""
    book = desk.rule_book(principal.tenant)
    found = [] if book is None else [book.trigger(n) for n in book.triggers]
    ordered = sorted((t for t in found if t is not None), key=lambda t: (t.position, t.name))
    return TriggerList(items=[_trigger_out(t) for t in ordered])


@router.get("/triggers/{name}", response_model=TriggerOut, responses=problem_responses(401, 403, 404, 422))
def get_trigger(
    name: Slug,
    desk: DeskDep,
    principal: PrincipalDep,
    version: VersionQuery = None,
) -> TriggerOut:
    """A trigger at its latest version, or at `version` (the one a change names in its history)."""
    return _trigger_out(desk.trigger(principal.tenant, name, version))


def _automation_out(rule: TimedRule) -> AutomationOut:
    return AutomationOut(
        name=rule.name,
        version=rule.version,
        title=rule.title,
        position=rule.position,
        enabled=rule.enabled,
        conditions=rule.conditions.as_dict(),
        actions=action_list.shown(rule.actions),
    )


@router.put("/automations/{name}", response_model=AutomationOut, responses=problem_responses(401, 403, 422))
def put_automation(
    name: Slug, body: AutomationIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> AutomationOut:
    """Define a timed rule or change it: a new version (the same definition records nothing)."""
    receipt = desk.define_automation(
        tenant=principal.tenant,
        name=name,
        title=body.title,
        position=body.position,
        enabled=body.enabled,
        conditions=plain(body.conditions) or {},
        actions=plain_actions(body.actions),
        by=principal.actor,
        via=via,
    )
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return _automation_out(desk.automation(principal.tenant, receipt.name))


@router.get("/automations", response_model=AutomationList, responses=problem_responses(401, 403))
def list_automations(desk: DeskDep, principal: PrincipalDep) -> AutomationList:
    """The tenant's timed rules, disabled ones too, in the order they are looked at."""
    book = desk.rule_book(principal.tenant)
    found = [] if book is None else [desk.automation(principal.tenant, n) for n in book.automations]
    return AutomationList(items=[_automation_out(r) for r in sorted(found, key=lambda r: (r.position, r.name))])


@router.get("/automations/{name}", response_model=AutomationOut, responses=problem_responses(401, 403, 404))
def get_automation(name: Slug, desk: DeskDep, principal: PrincipalDep) -> AutomationOut:
    """A timed rule at its latest version."""
    return _automation_out(desk.automation(principal.tenant, name))


@router.get("/automations/{name}/preview", response_model=Preview, responses=problem_responses(401, 403, 404))
def preview_automation(name: Slug, services: ServicesDep, principal: PrincipalDep) -> Preview:
    """The tickets the rule would act on now, from the read models (a dry run: nothing is stored)."""
    rule = services.desk.automation(principal.tenant, name)
    now = services.desk.clock()
    due = AutomationRunner(services.desk, services.read_models).due(principal.tenant, [rule], now)
    return Preview(at=now, items=[PreviewItem(ticket_id=d.ticket_id, instance=d.instance) for d in due])


@router.put("/macros/{name}", response_model=MacroOut, responses=problem_responses(401, 403, 422))
def put_macro(
    name: Slug, body: MacroIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> MacroOut:
    """Define a macro or change it: a new version (the same definition records nothing)."""
    receipt = desk.define_macro(
        tenant=principal.tenant,
        name=name,
        title=body.title,
        actions=plain_actions(body.actions),
        by=principal.actor,
        via=via,
    )
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return _macro_out(desk.macro(principal.tenant, receipt.name))


@router.get("/macros", response_model=MacroList, responses=problem_responses(401, 403))
def list_macros(desk: DeskDep, principal: PrincipalDep) -> MacroList:
    """The tenant's macros, by name."""
    book = desk.rule_book(principal.tenant)
    names = [] if book is None else sorted(book.macros)
    return MacroList(items=[_macro_out(desk.macro(principal.tenant, n)) for n in names])


@router.get("/macros/{name}", response_model=MacroOut, responses=problem_responses(401, 403, 404))
def get_macro(name: Slug, desk: DeskDep, principal: PrincipalDep) -> MacroOut:
    """A macro at its latest version."""
    return _macro_out(desk.macro(principal.tenant, name))


@router.post("/tickets/{ticket_id}/macros/{name}", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def apply_macro(ticket_id: UUID, name: Slug, call: CommandDep, response: Response) -> TicketPublic:
    """Apply a macro's actions to the ticket as the caller: one request, one recorded change set, via `macro`.

    Every action is checked as the caller's own command would be (a group they may route to, a move
    their role may make); if one is refused, none is recorded. `If-Match` makes it conditional.
    """
    how = call.provenance
    receipt = call.desk.apply_macro(
        ticket_id, name, by=how["by"], via=MACRO_CHANNEL, expected_version=how["expected_version"], tenant=how["tenant"]
    )
    return _answer(response, receipt, call.provenance["by"])
