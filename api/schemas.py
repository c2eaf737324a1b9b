"""Request and response bodies. Requests reject unknown fields; the domain does the deep validation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool

from api.field_schemas import DispatchPublic, LocationIn, OnSitePublic
from api.plain_text import ChannelOrEmpty, Email, Identifier, NonBlankText, PlainText, Slug
from api.read_schemas import Day, JsonInt, Moment, json_integer
from domain.tickets.comments import Comment, CommentOrigin
from domain.tickets.fields import FieldDefinition
from domain.tickets.history import Change
from domain.tickets.ticket import Ticket
from domain.tickets.transcripts import TRANSCRIPT_MESSAGES_MAX, TRANSCRIPT_TEXT_MAX, Speaker, TranscriptMessage
from domain.tickets.workflow import Status
from domain.values import (
    ATTACHMENT_SIZE_MAX,
    EMAIL_MAX,
    ERASED,
    FIELD_TEXT_MAX,
    NAME_MAX,
    NUMBER_MAX,
    OPTIONS_MAX,
    TEXT_MAX,
    TITLE_MAX,
    FieldKind,
    FieldValue,
    Priority,
)


class StrictBody(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


#: A custom field's number: finite and exact in every JSON client (a double holds integers up to 2^53).
FieldInt = Annotated[int, Strict(), Field(ge=-NUMBER_MAX, le=NUMBER_MAX)]
FieldFloat = Annotated[float, Strict(), Field(ge=-NUMBER_MAX, le=NUMBER_MAX, allow_inf_nan=False)]
FieldText = Annotated[PlainText, Strict(), Field(max_length=FIELD_TEXT_MAX)]
#: Custom fields are keyed by slugs: the schema says other names are not allowed, as the domain does.
_SLUG_KEYS_ONLY: dict[str, Any] = {"additionalProperties": False}


def _distinct(options: list[str]) -> list[str]:
    """Refuse a list that names an option twice (the schema says `uniqueItems`)."""
    if len(set(options)) != len(options):
        msg = "each option may be listed once"
        raise ValueError(msg)
    return options


#: Distinct option slugs: a multi_enum value, or the options a definition allows.
Options = Annotated[list[Slug], AfterValidator(_distinct), Field(json_schema_extra={"uniqueItems": True})]


class _CustomFieldBody(StrictBody):
    """One typed custom field value; each kind has a body of its own, so the schema says its value's form."""

    kind: str  # each kind narrows this to its Literal, the union's discriminator
    value: Any

    def to_domain(self) -> FieldValue:
        """The domain value (validated there too)."""
        value = self.value.isoformat() if isinstance(self.value, date) else self.value
        return FieldValue.parse(self.kind, value)


class TextFieldValue(_CustomFieldBody):
    """Free text, at most 1,024 characters."""

    kind: Literal["text"]
    value: FieldText


class NumberFieldValue(_CustomFieldBody):
    """A finite number within +-(2^53 - 1)."""

    kind: Literal["number"]
    value: FieldInt | FieldFloat


class DateFieldValue(_CustomFieldBody):
    """An ISO-8601 calendar date (`2026-11-23`)."""

    kind: Literal["date"]
    value: Day


class EnumFieldValue(_CustomFieldBody):
    """One option, a slug."""

    kind: Literal["enum"]
    value: Slug


class MultiEnumFieldValue(_CustomFieldBody):
    """Some of the field's options, each at most once (stored sorted, so their order changes nothing)."""

    kind: Literal["multi_enum"]
    value: Annotated[Options, Field(max_length=OPTIONS_MAX)]


class BooleanFieldValue(_CustomFieldBody):
    """True or false."""

    kind: Literal["boolean"]
    value: StrictBool


#: A typed custom field value: its `kind` says which form `value` has.
CustomField = Annotated[
    TextFieldValue | NumberFieldValue | DateFieldValue | EnumFieldValue | MultiEnumFieldValue | BooleanFieldValue,
    Field(discriminator="kind"),
]
_BODY_OF_KIND: dict[FieldKind, type[_CustomFieldBody]] = {
    FieldKind.TEXT: TextFieldValue,
    FieldKind.NUMBER: NumberFieldValue,
    FieldKind.DATE: DateFieldValue,
    FieldKind.ENUM: EnumFieldValue,
    FieldKind.MULTI_ENUM: MultiEnumFieldValue,
    FieldKind.BOOLEAN: BooleanFieldValue,
}


class ErasedFieldValue(BaseModel):
    """A personal field's value once its owner's data was erased: the kind stays, the value reads `[erased]`."""

    kind: FieldKind
    value: Literal["[erased]"]


#: A custom field value as a ticket shows it: typed, or erased (then no longer of its kind's form).
ShownField = CustomField | ErasedFieldValue


def custom_field(value: FieldValue) -> ShownField:
    """The public form of a domain value (as recorded: not validated again, so an old value still reads)."""
    if value.value == ERASED and value.kind is not FieldKind.TEXT:  # erased text is still text
        return ErasedFieldValue(kind=value.kind, value="[erased]")
    shown: Any = list(value.value) if isinstance(value.value, tuple) else value.value
    if value.kind is FieldKind.DATE:
        shown = date.fromisoformat(str(value.value))
    body: CustomField = _BODY_OF_KIND[value.kind].model_construct(kind=value.kind.value, value=shown)  # type: ignore[assignment]
    return body


class FieldDefinitionIn(StrictBody):
    """A custom field's definition: the kind its values must have, its options, whether they are personal data."""

    kind: FieldKind
    options: Annotated[Options, Field(min_length=1, max_length=OPTIONS_MAX)] | None = Field(
        default=None,
        description="The values an `enum` or `multi_enum` field allows, in the order to offer them: required for "
        "those kinds, refused for the others (422). A value outside them is refused (422 naming them).",
        examples=[["low", "medium", "high"]],
    )
    personal: StrictBool = Field(
        default=False,
        description="True: values are personal data of the ticket's requester, stored encrypted with the "
        "requester's key and erased with them (docs/privacy.md). Applies to values set from then on.",
    )


class FieldDefinitionPublic(BaseModel):
    """A custom field's definition as recorded."""

    name: str
    kind: FieldKind
    options: list[str] | None = Field(
        description="The values an enum or multi_enum field allows; null: any (other kinds, and enum fields "
        "defined before options could be named)."
    )
    personal: bool
    version: int = Field(description="How many times the field was defined (1 for its first definition).")

    @classmethod
    def from_domain(cls, definition: FieldDefinition) -> FieldDefinitionPublic:
        """The public form of a domain definition."""
        return cls(
            name=definition.name,
            kind=definition.kind,
            options=None if definition.options is None else list(definition.options),
            personal=definition.personal,
            version=definition.version,
        )


class FieldDefinitionList(BaseModel):
    """The tenant's custom-field definitions, by name."""

    items: list[FieldDefinitionPublic]


class Attachment(StrictBody):
    """Metadata of an attached file (the file itself is stored elsewhere)."""

    name: NonBlankText = Field(min_length=1, max_length=255)
    size: JsonInt = Field(ge=0, le=ATTACHMENT_SIZE_MAX, description="Bytes, at most 1 GiB.")
    content_type: PlainText = Field(default="application/octet-stream", max_length=255)


class TranscriptMessageIn(StrictBody):
    """One message of a chat bot's conversation, handed over with the ticket it becomes."""

    author: Speaker = Field(description="Who wrote it: `bot` (the chat bot) or `customer` (the requester).")
    at: Moment = Field(
        description="When it was written: with an offset, not in the future, not before the message ahead of it.",
        examples=["2026-11-23T09:00:00Z"],
    )
    text: NonBlankText = Field(min_length=1, max_length=TRANSCRIPT_TEXT_MAX)

    def to_domain(self) -> TranscriptMessage:
        """The message as the domain takes it."""
        return TranscriptMessage(author=self.author, at=self.at, text=self.text)


class TicketCreate(StrictBody):
    """A new request."""

    title: NonBlankText = Field(min_length=1, max_length=TITLE_MAX, examples=["Printer on floor 3 is on fire"])
    description: PlainText = Field(default="", max_length=TEXT_MAX)
    requester_id: Identifier | None = Field(
        default=None, description="Who asked. Required for agents; customers open tickets as themselves."
    )
    requester_name: NonBlankText | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX,
        description="The requester's name. Personal data: stored encrypted with the requester's key.",
    )
    requester_email: Email | None = Field(
        default=None,
        max_length=EMAIL_MAX,
        description="The requester's e-mail address. Personal data: stored encrypted with the requester's key.",
    )
    organisation: Identifier | None = Field(default=None, description="The requester's organisation, if any.")
    channel: ChannelOrEmpty | None = Field(
        default=None,
        description="The channel the request came through (web, email, phone, api, chat, ...). "
        "Defaults to the Ledgerdesk-Channel header, else `api`.",
    )
    priority: Priority = Priority.NORMAL
    type: Slug | None = Field(default=None, description="question, incident, problem, task, or a configured slug.")
    tags: list[Slug] = Field(default_factory=list, max_length=50)
    custom_fields: dict[Slug, CustomField] = Field(
        default_factory=dict, max_length=50, json_schema_extra=_SLUG_KEYS_ONLY
    )
    group: Identifier | None = Field(
        default=None, description="Open the ticket straight into this group's queue (staff only).", examples=["it"]
    )
    parent_id: UUID | None = Field(
        default=None, description="Open it as a child of this ticket (the parent records the child too)."
    )
    transcript: list[TranscriptMessageIn] = Field(
        default_factory=list,
        max_length=TRANSCRIPT_MESSAGES_MAX,
        description="With channel `chat` only (机器人转人工): the chat bot's conversation so far, oldest first. "
        "Each message becomes a public comment, in order, with its own author (the bot's as `bot`, the "
        "customer's as the requester) and time; the hand-off is recorded as one `HandedOver` event. Staff "
        "and API clients hand over; a customer cannot. Personal data: each message is stored encrypted "
        "with its author's key.",
    )
    location: LocationIn | None = Field(
        default=None,
        description="Where the ticket is to be served (field service; `nearest` routing sends the closest agent). "
        "Personal data of the requester: stored encrypted.",
    )


class AssignmentRequest(StrictBody):
    """Assign to an agent, a group, or both. A group alone moves the ticket to that queue and clears the agent."""

    assignee: Identifier | None = Field(default=None, examples=["carol"])
    group: Identifier | None = Field(default=None, examples=["it-support"])


LinkKind = Literal["related", "duplicate_of", "blocks", "caused_by"]
#: A link as either ticket names it (what DELETE takes).
AnyLinkKind = Literal["related", "duplicate_of", "duplicated_by", "blocks", "blocked_by", "caused_by", "causes"]


class LinkRequest(StrictBody):
    """Link the ticket to another one; the other records the link from its side."""

    type: LinkKind = Field(
        description="From this ticket's side: the other ticket sees related, duplicated_by, blocked_by or causes."
    )
    ticket_id: UUID = Field(description="The other ticket.")


class LinkPublic(BaseModel):
    """A link of a ticket, from its side."""

    type: str = Field(
        description="related, duplicate_of, duplicated_by, blocks, blocked_by, caused_by, causes, "
        "child_of or parent_of."
    )
    ticket_id: str


class TransferRequest(StrictBody):
    """Hand the ticket on to another agent and/or group, saying why."""

    assignee: Identifier | None = Field(default=None, examples=["dave"])
    group: Identifier | None = Field(default=None, examples=["tier-2"])
    reason: NonBlankText = Field(
        min_length=1,
        max_length=TEXT_MAX,
        description="Kept in the history as an internal note.",
        examples=["needs a network engineer"],
    )


class TransitionRequest(StrictBody):
    """Move the ticket to another state of its workflow, setting custom fields the move requires with it."""

    to: Slug = Field(
        description="The target state; the ticket's workflow version decides whether the move is legal.",
        examples=["open"],
    )
    fields: dict[Slug, CustomField] = Field(
        default_factory=dict,
        max_length=50,
        json_schema_extra=_SLUG_KEYS_ONLY,
        description="Custom fields set with the move (for a move that requires them, a resolution code say).",
    )


class CommentCreate(StrictBody):
    """A public reply (the requester sees it) or an internal note (agents only)."""

    body: NonBlankText = Field(min_length=1, max_length=TEXT_MAX, examples=["@carol can you take a look?"])
    public: StrictBool = Field(default=True, description="True: public reply. False: internal note.")
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class MergeRequest(StrictBody):
    """Merge the ticket into another: it is closed as merged, and the other takes copies of its comments."""

    into: UUID = Field(description="The ticket to merge into: one the caller reaches (of its tenant), not closed.")
    reason: PlainText = Field(
        default="",
        max_length=TEXT_MAX,
        description="Why, kept in both histories. Personal data of the merging agent: stored encrypted.",
        examples=["same outage as the ticket merged into"],
    )


class TicketPatch(StrictBody):
    """Change the title, the description and classification fields.

    Absent fields are left alone (so are `title`, `description` and `priority` set to null);
    `type: null` clears the type, a custom field set to null is cleared. Fields already at the
    given value record nothing.
    """

    title: NonBlankText | None = Field(
        default=None,
        min_length=1,
        max_length=TITLE_MAX,
        description="A new title. Personal data of the requester: stored encrypted, as the first one.",
    )
    description: PlainText | None = Field(
        default=None,
        max_length=TEXT_MAX,
        description="A new description (empty clears it). Personal data of the requester: stored encrypted.",
    )
    priority: Priority | None = None
    type: Slug | None = None
    add_tags: list[Slug] = Field(default_factory=list, max_length=50)
    remove_tags: list[Slug] = Field(default_factory=list, max_length=50)
    custom_fields: dict[Slug, CustomField | None] = Field(
        default_factory=dict, max_length=50, json_schema_extra=_SLUG_KEYS_ONLY
    )
    location: LocationIn | None = Field(
        default=None, description="Where the ticket is to be served; null clears it (personal data of the requester)."
    )


class CommentOriginPublic(BaseModel):
    """Where a comment copied by a merge was first written."""

    ticket_id: UUID = Field(description="The ticket it was written on (one merged into this one, or before it).")
    number: int = Field(description="Its number on that ticket.")
    via: str = Field(description="The channel it came through there.")

    @classmethod
    def from_domain(cls, origin: CommentOrigin) -> CommentOriginPublic:
        """The public form of a copy's origin."""
        return cls(ticket_id=UUID(origin.ticket_id), number=origin.number, via=origin.via)


class CommentPublic(BaseModel):
    """A comment as shown to agents."""

    number: int
    author_id: str
    author_kind: str
    public: bool
    body: str
    mentions: list[str]
    attachments: list[dict[str, Any]] = Field(
        description="Each file's name, size, content_type; for a stored file also its sha256 and its `id` "
        "(`GET /tickets/{ticket_id}/attachments/{id}` downloads it)."
    )
    created_at: datetime = Field(description="When it was written (for a copy, when it was first written).")
    origin: CommentOriginPublic | None = Field(
        default=None, description="Set on a copy a merge put here: where the comment was first written."
    )

    @classmethod
    def from_domain(cls, comment: Comment) -> CommentPublic:
        """The public form of a domain comment."""
        return cls(
            number=comment.number,
            author_id=comment.author_id,
            author_kind=comment.author_kind,
            public=comment.public,
            body=comment.body,
            mentions=list(comment.mentions),
            attachments=[_attachment_public(comment.number, i, a) for i, a in enumerate(comment.attachments, 1)],
            created_at=comment.at,
            origin=None if comment.origin is None else CommentOriginPublic.from_domain(comment.origin),
        )


def _attachment_public(number: int, position: int, stored: dict[str, Any]) -> dict[str, Any]:
    """An attachment as shown: the blob store's name for its file stays inside; a stored file gets its id."""
    shown = {k: v for k, v in stored.items() if k != "blob"}
    return shown | {"id": f"{number}.{position}"} if stored.get("blob") else shown


class TicketPublic(BaseModel):
    """A ticket's state at one version."""

    id: UUID
    version: int = Field(description="Number of events recorded so far; the ETag carries the same number.")
    tenant: str
    title: str
    description: str
    requester_id: str
    requester_name: str | None = Field(default=None, description="`[erased]` once the requester's data was erased.")
    requester_email: str | None = Field(default=None, description="`[erased]` once the requester's data was erased.")
    organisation: str | None
    channel: str
    status: str = Field(description="The ticket's state in its workflow.", examples=["open"])
    status_category: Status = Field(description="What the state counts as for queues, SLA and reports.")
    workflow: str = Field(description="The workflow the ticket runs under.", examples=["default"])
    workflow_version: int = Field(description="The version of the workflow the ticket runs under.")
    priority: Priority
    type: str | None
    tags: list[str]
    custom_fields: dict[str, ShownField]
    group: str | None
    assignee: str | None
    links: list[LinkPublic] = Field(default_factory=list, description="How other tickets relate to this one.")
    merged_into: UUID | None = Field(
        default=None, description="The ticket this one was merged into (which closed it), if it was."
    )
    merged_sources: list[UUID] = Field(
        default_factory=list,
        description="The tickets merged into this one, oldest first; their comments are copied here.",
    )
    comments: list[CommentPublic]
    satisfaction: dict[str, Any] | None = Field(
        default=None, description="The requester's rating once solved: scale (good_bad or one_to_five), score, comment."
    )
    last_contact_customer_at: datetime | None = Field(
        default=None, description="The requester's latest public message (opening the ticket themselves counts)."
    )
    last_contact_agent_at: datetime | None = Field(default=None, description="The latest public reply by an agent.")
    created_at: datetime
    updated_at: datetime
    location: LocationIn | None = Field(default=None, description="Where the ticket is to be served, if it says.")
    dispatch: DispatchPublic | None = Field(
        default=None, description="Who `nearest` routing sent, from how far, and their estimated arrival."
    )
    on_site: OnSitePublic = Field(
        default_factory=OnSitePublic.none,
        description="On-site work: check-ins and check-outs, time to arrive, time on site.",
    )

    @classmethod
    def from_domain(cls, ticket: Ticket, *, for_requester: bool = False) -> TicketPublic:
        """The public form of a ticket aggregate; a requester sees public replies only."""
        return cls(
            id=ticket.id,
            version=ticket.version,
            tenant=ticket.tenant,
            title=ticket.title,
            description=ticket.description,
            requester_id=ticket.requester_id,
            requester_name=ticket.requester_name,
            requester_email=ticket.requester_email,
            organisation=ticket.organisation,
            channel=ticket.channel,
            status=ticket.status,
            status_category=ticket.category,
            workflow=ticket.workflow,
            workflow_version=ticket.workflow_version,
            priority=ticket.priority,
            type=ticket.ticket_type,
            tags=list(ticket.tags),
            custom_fields={k: custom_field(v) for k, v in ticket.custom_fields.items()},
            group=ticket.group,
            assignee=ticket.assignee,
            links=[LinkPublic(type=k.type.value, ticket_id=k.ticket_id) for k in ticket.links],
            merged_into=None if ticket.merged_into is None else UUID(ticket.merged_into),
            merged_sources=[UUID(source) for source in ticket.merged_sources],
            comments=[CommentPublic.from_domain(c) for c in ticket.comments if c.public or not for_requester],
            satisfaction=ticket.satisfaction,
            last_contact_customer_at=ticket.last_contact_customer_at,
            last_contact_agent_at=ticket.last_contact_agent_at,
            created_at=ticket.created_on,
            updated_at=ticket.modified_on,
            location=LocationIn.shown(ticket.location),
            dispatch=None if ticket.dispatch is None else DispatchPublic.model_validate(ticket.dispatch),
            on_site=OnSitePublic.from_ticket(ticket),
        )


class FieldChangePublic(BaseModel):
    """One field, old -> new (null where there was or is no value)."""

    field: str
    old: Any
    new: Any


class ActorPublic(BaseModel):
    """Who acted."""

    id: str
    kind: Literal["agent", "requester", "api_client", "system"] | str
    role: str | None = Field(default=None, description="The caller's role when it acted, if recorded.")


class HistoryEntry(BaseModel):
    """One recorded event of a ticket."""

    position: int | None = Field(default=None, description="The event's position in the global log.")
    chain_hash: str | None = Field(default=None, description="The hash chain's digest at that position (hex).")
    version: int
    at: datetime
    actor: ActorPublic
    via: str = Field(description="The channel the change came through.")
    event: str = Field(description="The event type, e.g. Assigned, Transitioned, CommentAdded.")
    changes: list[FieldChangePublic]
    correlation_id: str | None = Field(
        default=None,
        description="Shared by every change one request or automated run caused (`Ledgerdesk-Correlation-Id`); "
        "null in changes recorded before it was.",
    )
    causation_id: str | None = Field(
        default=None,
        description="What directly caused the change, when something did: an event, written "
        "`<ticket id>@<version>` (an SLA breach for its escalation). Null for a person's command.",
    )
    reason: str | None = Field(
        default=None,
        description="Why a rule made the change, in its words (routing: `round_robin: next after carol`); "
        "null for a person's change.",
    )

    @classmethod
    def from_domain(cls, change: Change, position: int | None = None, chain_hash: str | None = None) -> HistoryEntry:
        """The public form of one history entry."""
        return cls(
            position=position,
            chain_hash=chain_hash,
            version=change.version,
            at=change.at,
            actor=ActorPublic(id=change.actor_id, kind=change.actor_kind, role=change.actor_role),
            via=change.via,
            event=change.event,
            changes=[FieldChangePublic(field=c.field, old=c.old, new=c.new) for c in change.changes],
            correlation_id=change.correlation_id,
            causation_id=change.causation_id,
            reason=change.reason,
        )


class TicketHistory(BaseModel):
    """A ticket's full history, oldest first."""

    ticket_id: UUID
    items: list[HistoryEntry]


class TicketDiff(BaseModel):
    """What differs between two versions of a ticket."""

    ticket_id: UUID
    from_version: int
    to_version: int
    changes: list[FieldChangePublic]


class RatingCreate(StrictBody):
    """The requester's satisfaction with a solved ticket."""

    rating: Literal["good", "bad"] | Annotated[int, Field(ge=1, le=5), BeforeValidator(json_integer)] = Field(
        examples=["good", 5]
    )
    comment: PlainText = Field(default="", max_length=TEXT_MAX)
