"""Who may read or change what: the one place that says it, for the API, the queries and the application.

Four questions, each answered only here:

* may a role take an action at all (`may`: the matrix of actions by role, docs/security.md);
* does an action read across the whole tenant, which keys limited to groups may not (`reads_whole_tenant`);
* which tickets of its tenant a caller reaches (`reaches` for one ticket, `list_scope` for lists):
  a requester its own and, if it has one, its organisation's; an agent limited to groups those
  groups' tickets and unrouted ones; everyone else every ticket of the tenant;
* may a caller change a ticket it reaches (`may_change`): a requester only its own.

A ticket a caller does not reach does not exist for it (404, never 403, which would confirm it
exists). Tenants never meet: every question is asked within the caller's tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from domain.actors import Actor, ActorKind


class Role(StrEnum):
    """What a principal may do (the matrix below; see docs/security.md)."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ANALYST = "analyst"
    ADMIN = "admin"

    def default_actor_kind(self) -> ActorKind:
        """Customers act as requesters; everyone else as agents unless told otherwise."""
        return ActorKind.REQUESTER if self is Role.CUSTOMER else ActorKind.AGENT


#: Roles whose keys may be limited to groups.
GROUP_SCOPED_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})

C, A, S, U, N, D = Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ANALYST, Role.ADMIN
STAFF = frozenset({A, S, D})
READERS = frozenset({A, S, U, N, D})
REPORTERS = frozenset({S, N, D})

#: Action (the API's endpoint name) -> the roles that may take it. An action missing here is refused to
#: everyone, so a new endpoint is closed until someone decides who may use it.
PERMISSIONS: dict[str, frozenset[Role]] = {
    # Ticket commands.
    "open_ticket": frozenset({C, A, S, D}),  # customers without a chat transcript (a domain rule)
    "assign": STAFF,
    "unassign": STAFF,
    "claim": STAFF,
    "link_tickets": STAFF,
    "unlink_tickets": STAFF,  # an agent takes a ticket for themselves (a domain rule: agents only)
    "transfer": STAFF,
    "merge_tickets": STAFF,  # both tickets are changed: the caller must reach and may change both
    "transition": frozenset({C, A, S, D}),  # requesters may only reopen (a domain rule)
    "add_comment": frozenset({C, A, S, D}),  # requesters write public replies only (a domain rule)
    "upload_attachments": frozenset({C, A, S, D}),  # a comment carrying files: as add_comment
    "rate_ticket": frozenset({C}),
    "update_ticket": STAFF,
    "bulk_change": STAFF,  # one change to many tickets, each its own command
    "check_in": STAFF,  # on-site work: agents only (a domain rule), one visit at a time
    "check_out": STAFF,  # only the agent checked in (a domain rule)
    # Reads of one ticket.
    "get_ticket": READERS | {C},  # requesters: their own tickets, without internal notes
    "download_attachment": READERS | {C},  # as get_ticket: requesters, files of public replies only
    "get_history": READERS,
    "get_diff": READERS,
    # Read models.
    "list_tickets": READERS | {C},  # requesters: their own tickets only
    "group_queue": frozenset({A, S, N, D}),
    "agent_queue": frozenset({A, S, N, D}),
    "unassigned_queue": frozenset({A, S, N, D}),
    "list_views": frozenset({A, S, N, D}),
    "save_view": STAFF,
    "workload": frozenset({A, S, N, D}),
    "feed": READERS,
    # Auditing.
    "verify": frozenset({U, D}),
    "export": frozenset({U, D}),
    "past_queue": frozenset({U, D}),
    "actor_report": frozenset({U, D}),
    "organisation_report": frozenset({U, D}),
    "period_report": frozenset({U, D}),
    "privileged_report": frozenset({U, D}),
    # Service metrics: for managing the service (not agents: per-agent figures; not auditors: not the record).
    "volume_report": REPORTERS,
    "response_time_report": REPORTERS,
    "sla_compliance_report": REPORTERS,
    "backlog_report": REPORTERS,
    "reopen_report": REPORTERS,
    "agent_report": REPORTERS,
    "csat_report": REPORTERS,
    # Analyst exports: files of the whole tenant's facts, without personal data (docs/analytics.md).
    "export_dataset": frozenset({N, D}),
    # Privacy.
    "erase_person": frozenset({D}),
    # The projection's dead-letter list of the tenant: what the read models could not apply, and its retry.
    "list_parked": frozenset({D}),
    "retry_parked": frozenset({D}),
    # Web users: admins of the tenant create and deactivate them.
    "list_users": frozenset({D}),
    "create_user": frozenset({D}),
    "deactivate_user": frozenset({D}),
    "set_user_access": frozenset({D}),
    "reset_user_password": frozenset({D}),
    # Custom-field definitions: admins define (whether a field is personal is a privacy decision); staff read.
    "put_field": frozenset({D}),
    "list_fields": READERS,
    "get_field": READERS,
    # SLA: admins configure; everyone but customers reads.
    "put_calendar": frozenset({D}),
    "import_holidays": frozenset({D}),
    "list_calendars": READERS,
    "get_calendar": READERS,
    "calendar_due": READERS,
    "calendar_minutes": READERS,
    "put_policy": frozenset({D}),
    "list_policies": READERS,
    "get_policy": READERS,
    "apply_policy": frozenset({D}),
    "ticket_sla": READERS,
    # Workflows: admins publish and migrate; everyone but customers reads; a ticket's moves, whoever reads it.
    "put_workflow": frozenset({D}),
    "list_workflows": READERS,
    "get_workflow": READERS,
    "migrate_workflow": frozenset({D}),
    "list_transitions": READERS | {C},
    # The directory: admins shape groups and agents; staff and readers see them.
    "put_group": frozenset({D}),
    "list_groups": READERS,
    "get_group": READERS,
    "put_agent": frozenset({D}),
    "list_agents": READERS,
    "get_agent": READERS,
    "report_location": STAFF,  # an agent their own location (a domain rule); an admin anyone's
    # Automation: admins define triggers and macros; staff read them and apply macros.
    "put_trigger": frozenset({D}),
    "list_triggers": READERS,
    "get_trigger": READERS,
    "put_automation": frozenset({D}),
    "list_automations": READERS,
    "get_automation": READERS,
    "preview_automation": frozenset({S, D}),
    "put_macro": frozenset({D}),
    "list_macros": STAFF | {N},
    "get_macro": STAFF | {N},
    "apply_macro": STAFF,
    # Webhooks: admins only (endpoints receive every event of the tenant; their deliveries show answers).
    "create_webhook": frozenset({D}),
    "list_webhooks": frozenset({D}),
    "get_webhook": frozenset({D}),
    "update_webhook": frozenset({D}),
    "delete_webhook": frozenset({D}),
    "rotate_webhook_secret": frozenset({D}),
    "list_webhook_deliveries": frozenset({D}),
    "redeliver_webhook_delivery": frozenset({D}),
    # Mail: admins configure mailboxes and known senders, and see what mailboxes set aside.
    "put_mailbox": frozenset({D}),
    "list_mailboxes": frozenset({D}),
    "get_mailbox": frozenset({D}),
    "delete_mailbox": frozenset({D}),
    "list_set_aside_mail": frozenset({D}),
    "put_mail_sender": frozenset({D}),
    # Schedules: admins define recurring tickets; those who read rules read them.
    "put_schedule": frozenset({D}),
    "list_schedules": READERS,
    "get_schedule": READERS,
    "preview_schedule": READERS,
    # Notifications: admins write the templates, staff read them; everyone chooses their own.
    "put_notification_template": frozenset({D}),
    "get_notification_template": READERS,
    "put_my_notifications": READERS | {C},
    "get_my_notifications": READERS | {C},
    # API keys: admins of the tenant issue, list, rotate and revoke them (a secret is shown once).
    "list_keys": frozenset({D}),
    "create_key": frozenset({D}),
    "rotate_key": frozenset({D}),
    "revoke_key": frozenset({D}),
    # Who the caller is.
    "who_am_i": READERS | {C},
    # Knowledge base: agents draft and edit, supervisors and admins publish; customers read published public
    # articles (`reads_article`), rate them and get suggestions; the report is for managing the service.
    "create_article": STAFF,
    "update_article": STAFF,
    "publish_article": frozenset({S, D}),
    "unpublish_article": frozenset({S, D}),
    "archive_article": frozenset({S, D}),
    "get_article": READERS | {C},
    "list_articles": READERS | {C},
    "list_article_versions": READERS,
    "get_article_version": READERS,
    "search_articles": READERS | {C},
    "suggest_articles": READERS | {C},
    "vote_article": frozenset({C, A, S, D}),
    "deflect_article": frozenset({C, A, S, D}),
    "link_articles": STAFF,  # an agent inserts articles into a reply: the link is on the ticket's record
    "article_report": REPORTERS,
    # Suggestions from the tenant's own history (docs/suggestions.md): staff read and decide; reporters see how
    # they fared; similar tickets are named only among those the caller reaches.
    "list_suggestions": READERS,
    "accept_suggestion": STAFF,
    "correct_suggestion": STAFF,
    "similar_tickets": READERS,
    "suggestion_report": REPORTERS,
    "list_suggestion_models": REPORTERS,
    # Customer profiles (docs/customers.md): admins set and remove them (or import them); those who read tickets
    # read them; customers do not (a tier is how the business treats them, not something they asked for).
    "put_customer_profile": frozenset({D}),
    "get_customer_profile": READERS,
    "delete_customer_profile": frozenset({D}),
}


#: Routes that read across the whole tenant: not for keys limited to groups.
TENANT_WIDE = frozenset(
    {
        "feed",
        "volume_report",
        "response_time_report",
        "sla_compliance_report",
        "backlog_report",
        "reopen_report",
        "agent_report",
        "csat_report",
        "export_dataset",
        "suggestion_report",
        "list_suggestion_models",
    }
)


def may(role: Role, action: str) -> bool:
    """Whether `role` may take `action` at all (which tickets it reaches is asked apart)."""
    return role in PERMISSIONS.get(action, frozenset())


def reads_whole_tenant(action: str) -> bool:
    """Whether `action` reads across the whole tenant (then a key limited to groups may not take it)."""
    return action in TENANT_WIDE


class TicketFacts(Protocol):
    """What reaching a ticket depends on."""

    tenant: str
    requester_id: str
    organisation: str | None
    group: str | None


def reaches(actor: Actor, ticket: TicketFacts, *, tenant: str | None) -> bool:
    """Whether `actor` of `tenant` (None: a trusted process, every tenant) reaches `ticket`."""
    if tenant is not None and ticket.tenant != tenant:
        return False
    if actor.kind is ActorKind.REQUESTER:
        own = ticket.requester_id == actor.id
        shared = actor.organisation is not None and ticket.organisation == actor.organisation
        return own or shared
    return actor.may_see_group(ticket.group)


def may_change(actor: Actor, ticket: TicketFacts) -> bool:
    """Whether `actor`, who reaches `ticket`, may change it: a requester only its own, not its organisation's."""
    return actor.kind is not ActorKind.REQUESTER or ticket.requester_id == actor.id


def may_route_to(actor: Actor, group: str) -> bool:
    """Whether `actor` may route a ticket to `group`: an agent limited to groups, only to one of them."""
    return actor.groups is None or group in actor.groups


@dataclass(frozen=True, slots=True)
class ListScope:
    """The part of its tenant's tickets a caller's lists may show (None: no limit of that kind)."""

    requester: str | None = None  # with `organisation`: its own tickets, or its organisation's
    organisation: str | None = None
    groups: frozenset[str] | None = None  # these groups' tickets and unrouted ones


#: The scope of a caller who reaches every ticket of its tenant.
WHOLE_TENANT = ListScope()


def list_scope(actor: Actor) -> ListScope:
    """What `actor`'s lists may show, as `reaches` says for one ticket."""
    if actor.kind is ActorKind.REQUESTER:
        return ListScope(requester=actor.id, organisation=actor.organisation)
    return WHOLE_TENANT if actor.groups is None else ListScope(groups=actor.groups)


class ArticleFacts(Protocol):
    """What reading a knowledge-base article depends on."""

    tenant: str

    @property
    def is_public(self) -> bool:
        """Published, and its published revision public."""
        ...


def reads_article(actor: Actor, article: ArticleFacts, *, tenant: str | None) -> bool:
    """Whether `actor` of `tenant` reads `article`: customers only published public ones, staff every one."""
    if tenant is not None and article.tenant != tenant:
        return False
    return not reads_published_articles_only(actor) or article.is_public


def reads_published_articles_only(actor: Actor) -> bool:
    """Whether `actor` reads only the published public articles of its tenant (what searches show it)."""
    return actor.kind is ActorKind.REQUESTER
