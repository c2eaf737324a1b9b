"""Custom fields in the domain: kinds and their values, definitions with options, values checked against them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import values
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError
from domain.helpdesk import HelpDesk
from domain.provenance import CommandContext, acting
from domain.tickets import field_search
from domain.tickets.field_search import Comparison
from domain.tickets.fields import FieldCatalogue, FieldDefinition
from domain.values import OPTIONS_MAX, SLUG_PATTERN, FieldKind, FieldValue

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
AGENT = Actor("alice", ActorKind.AGENT, role="agent")

SLUGS = st.from_regex(SLUG_PATTERN, fullmatch=True)
#: A definition's options: 1 to 8 distinct slugs, in the order given.
OPTIONS = st.lists(SLUGS, min_size=1, max_size=8, unique=True)


@pytest.fixture
def desk() -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))


def _stored(desk: HelpDesk, aggregate_id: Any) -> int:
    return len(list(desk.events.get(aggregate_id)))


def _open(desk: HelpDesk, **fields: FieldValue) -> Any:
    return desk.open_ticket(tenant="acme", title="Pump", requester_id="bob", custom_fields=fields, by=AGENT, via="api")


# --- values -----------------------------------------------------------------------------------------------------


def test_a_multi_enum_value_is_its_distinct_options_sorted_and_stored_as_a_list() -> None:
    value = FieldValue.parse("multi_enum", ["vpn", "email", "wifi"])
    assert value == FieldValue(FieldKind.MULTI_ENUM, ("email", "vpn", "wifi"))
    assert value.as_dict() == {"kind": "multi_enum", "value": ["email", "vpn", "wifi"]}
    assert FieldValue.from_dict(value.as_dict()) == value
    assert FieldValue.parse("multi_enum", []).value == ()


@pytest.mark.parametrize(
    "value",
    [["vpn", "vpn"], "vpn", ["VPN"], ["a b"], [1], [None], [["vpn"]], [f"o{n}" for n in range(OPTIONS_MAX + 1)]],
    ids=["repeated", "not-a-list", "upper-case", "space", "number", "null", "nested", "too-many"],
)
def test_a_multi_enum_value_that_is_not_distinct_option_slugs_is_refused(value: Any) -> None:
    with pytest.raises(InvalidValueError, match="multi_enum"):
        FieldValue.parse("multi_enum", value)


def test_an_erased_multi_enum_value_reads_back_as_erased() -> None:
    erased = FieldValue.parse("multi_enum", ["vpn"]).owned_by("bob").erased()
    assert FieldValue.from_dict(erased.as_dict()) == erased
    assert erased.options() == ()


# --- definitions ------------------------------------------------------------------------------------------------


def test_an_enum_field_names_its_options_and_other_kinds_name_none(desk: HelpDesk) -> None:
    desk.define_field(
        tenant="acme", name="severity", kind="enum", personal=False, options=["low", "high"], by=ADMIN, via="api"
    )
    desk.define_field(
        tenant="acme", name="systems", kind="multi_enum", personal=False, options=["vpn"], by=ADMIN, via="api"
    )
    desk.define_field(tenant="acme", name="seats", kind="number", personal=False, by=ADMIN, via="api")
    assert desk.field_definitions("acme") == [
        FieldDefinition("seats", FieldKind.NUMBER, personal=False, version=1, options=None),
        FieldDefinition("severity", FieldKind.ENUM, personal=False, version=1, options=("low", "high")),
        FieldDefinition("systems", FieldKind.MULTI_ENUM, personal=False, version=1, options=("vpn",)),
    ]


@pytest.mark.parametrize(
    ("kind", "options", "said"),
    [
        ("enum", None, "names its options"),
        ("multi_enum", [], "names its options"),
        ("enum", "low", "names its options"),
        ("enum", ["low", 3], "names its options"),
        ("enum", ["low", "low"], "listed once"),
        ("enum", ["Low"], "an option must be a lowercase slug"),
        ("enum", [f"o{n}" for n in range(OPTIONS_MAX + 1)], "names its options"),
        ("text", ["low"], "only enum and multi_enum fields name options"),
        ("boolean", [], "only enum and multi_enum fields name options"),
    ],
)
def test_options_are_required_for_enum_kinds_and_refused_for_others(
    desk: HelpDesk, kind: str, options: Any, said: str
) -> None:
    with pytest.raises(InvalidValueError, match=said):
        desk.define_field(tenant="acme", name="f", kind=kind, personal=False, options=options, by=ADMIN, via="api")
    assert desk.field_definitions("acme") == []


def test_the_same_options_record_nothing_and_other_options_a_new_version(desk: HelpDesk) -> None:
    define = desk.define_field
    first = define(
        tenant="acme", name="severity", kind="enum", personal=False, options=["low", "high"], by=ADMIN, via="api"
    )
    again = define(
        tenant="acme", name="severity", kind="enum", personal=False, options=["low", "high"], by=ADMIN, via="api"
    )
    assert (first.version, again.version, again.position) == (1, 1, None)
    reordered = define(
        tenant="acme", name="severity", kind="enum", personal=False, options=["high", "low"], by=ADMIN, via="api"
    )
    assert reordered.version == 2  # the order is the one to offer them in: a change
    assert desk.field_definition("acme", "severity").options == ("high", "low")


def test_a_value_outside_the_options_is_refused_naming_them_and_nothing_is_stored(desk: HelpDesk) -> None:
    desk.define_field(
        tenant="acme", name="severity", kind="enum", personal=False, options=["low", "high"], by=ADMIN, via="api"
    )
    desk.define_field(
        tenant="acme", name="systems", kind="multi_enum", personal=False, options=["vpn", "wifi"], by=ADMIN, via="api"
    )
    with pytest.raises(InvalidValueError, match=r"'severity' takes only its options: low, high \(got urgent\)"):
        _open(desk, severity=FieldValue.parse("enum", "urgent"))
    ticket = _open(desk, severity=FieldValue.parse("enum", "low")).ticket
    before = _stored(desk, ticket.id)
    with pytest.raises(InvalidValueError, match=r"'systems' takes only its options: vpn, wifi \(got email\)"):
        desk.update_ticket(
            ticket.id,
            custom_fields={
                "severity": FieldValue.parse("enum", "high"),
                "systems": FieldValue.parse("multi_enum", ["email", "vpn"]),
            },
            by=AGENT,
            via="api",
        )
    assert _stored(desk, ticket.id) == before
    assert desk.get_ticket(ticket.id).custom_fields == {"severity": FieldValue(FieldKind.ENUM, "low")}


def test_multi_enum_values_are_set_changed_in_any_order_and_cleared(desk: HelpDesk) -> None:
    desk.define_field(
        tenant="acme", name="systems", kind="multi_enum", personal=False, options=["vpn", "wifi"], by=ADMIN, via="api"
    )
    ticket = _open(desk, systems=FieldValue.parse("multi_enum", ["wifi", "vpn"])).ticket
    same = desk.update_ticket(
        ticket.id, custom_fields={"systems": FieldValue.parse("multi_enum", ["vpn", "wifi"])}, by=AGENT, via="api"
    )
    assert same.version == ticket.version  # the same options in another order change nothing
    narrowed = desk.update_ticket(
        ticket.id, custom_fields={"systems": FieldValue.parse("multi_enum", ["vpn"])}, by=AGENT, via="api"
    )
    assert narrowed.ticket.custom_fields["systems"].value == ("vpn",)
    history = desk.history(ticket.id)[-1].changes
    assert [(c.field, c.old, c.new) for c in history] == [
        (
            "custom_fields.systems",
            {"kind": "multi_enum", "value": ["vpn", "wifi"]},
            {"kind": "multi_enum", "value": ["vpn"]},
        )
    ]
    cleared = desk.update_ticket(ticket.id, custom_fields={"systems": None}, by=AGENT, via="api")
    assert cleared.ticket.custom_fields == {}


def test_an_enum_definition_recorded_before_options_existed_reads_as_any_option() -> None:
    state: dict[str, Any] = {"name": "region", "kind": "enum", "personal": False, "version": 1}
    FieldCatalogue.FieldDefined.upcast_v2_v3(state)
    assert state["options"] is None
    legacy = FieldDefinition("region", FieldKind.ENUM, personal=False, version=1)
    legacy.check_options(("emea", "apac"))  # anything goes, as before
    assert legacy.applied(FieldValue.parse("enum", "emea"), "bob") == FieldValue(FieldKind.ENUM, "emea")


# --- properties -------------------------------------------------------------------------------------------------


@given(options=OPTIONS, data=st.data())
def test_chosen_options_are_always_accepted_and_round_trip(options: list[str], data: st.DataObject) -> None:
    definition = FieldDefinition("f", FieldKind.MULTI_ENUM, personal=False, version=1, options=tuple(options))
    chosen = data.draw(st.lists(st.sampled_from(options), unique=True))
    value = definition.applied(FieldValue.parse("multi_enum", chosen), "bob")
    assert sorted(value.options()) == sorted(chosen)
    assert FieldValue.from_dict(value.as_dict()) == value
    one = FieldDefinition("g", FieldKind.ENUM, personal=True, version=1, options=tuple(options))
    picked = data.draw(st.sampled_from(options))
    owned = one.applied(FieldValue.parse("enum", picked), "bob")
    assert (owned.value, owned.owner) == (picked, "bob")
    assert FieldValue.from_dict(owned.as_dict()) == owned


@given(options=OPTIONS, data=st.data())
def test_a_value_outside_the_options_is_always_refused(options: list[str], data: st.DataObject) -> None:
    outside = data.draw(SLUGS.filter(lambda s: s not in options))
    inside = data.draw(st.lists(st.sampled_from(options), unique=True))
    for kind, value in (("enum", outside), ("multi_enum", [*inside, outside])):
        definition = FieldDefinition("f", FieldKind(kind), personal=False, version=1, options=tuple(options))
        with pytest.raises(InvalidValueError, match=f"takes only its options: {', '.join(options)}"):
            definition.applied(FieldValue.parse(kind, value), "bob")


@given(options=OPTIONS)
def test_a_catalogue_keeps_the_options_it_was_given(options: list[str]) -> None:
    with acting(CommandContext(ADMIN, "api", datetime.now(UTC))):
        catalogue = FieldCatalogue.start(tenant="acme")
        catalogue.define("f", kind="multi_enum", personal=False, options=options)
        catalogue.define("f", kind="multi_enum", personal=False, options=list(options))
    assert catalogue.fields["f"].options == tuple(options)
    assert catalogue.fields["f"].version == 1


# --- searching ----------------------------------------------------------------------------------------------------


def _definition(kind: str, *, personal: bool = False, options: tuple[str, ...] | None = None) -> FieldDefinition:
    return FieldDefinition("f", FieldKind(kind), personal=personal, version=1, options=options)


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("number", "3", 3),
        ("number", "-2.5", -2.5),
        ("number", "1e3", 1000.0),
        ("date", "2026-11-23", "2026-11-23"),
        ("date", "20261123", "2026-11-23"),
        ("boolean", "true", True),
        ("boolean", "false", False),
        ("text", "call back: today", "call back: today"),
        ("enum", "high", "high"),
        ("multi_enum", "vpn", "vpn"),
    ],
)
def test_a_filter_reads_its_value_as_the_fields_kind(kind: str, text: str, value: object) -> None:
    options = (str(value),) if kind in ("enum", "multi_enum") else None
    found = field_search.condition(_definition(kind, options=options), "f", Comparison.EQUALS, text)
    assert (found.kind, found.value, type(found.value)) == (FieldKind(kind), value, type(value))


@pytest.mark.parametrize(
    ("definition", "comparison", "text", "said"),
    [
        (None, Comparison.EQUALS, "x", "has no definition, so it cannot be searched"),
        (_definition("text", personal=True), Comparison.EQUALS, "x", "is personal data, so it cannot be searched"),
        (_definition("enum", options=("a",)), Comparison.AT_LEAST, "a", "cannot be searched with field_gte"),
        (_definition("text"), Comparison.AT_MOST, "a", "cannot be searched with field_gte"),
        (_definition("enum", options=("a", "b")), Comparison.EQUALS, "c", "takes only its options: a, b"),
        (_definition("multi_enum", options=("a",)), Comparison.EQUALS, "A", "cannot be searched for 'A'"),
        (_definition("number"), Comparison.EQUALS, "nan", "cannot be searched for 'nan'"),
        (_definition("number"), Comparison.AT_LEAST, "1e400", "cannot be searched for '1e400'"),
        (_definition("number"), Comparison.EQUALS, "", "cannot be searched for ''"),
        (_definition("date"), Comparison.AT_MOST, "2026-02-30", "cannot be searched for '2026-02-30'"),
        (_definition("boolean"), Comparison.EQUALS, "1", "cannot be searched for '1'"),
    ],
)
def test_a_filter_that_cannot_be_searched_says_why(
    definition: FieldDefinition | None, comparison: Comparison, text: str, said: str
) -> None:
    with pytest.raises(InvalidValueError, match=re.escape(said)):
        field_search.condition(definition, "f", comparison, text)


def test_filters_are_name_colon_value_and_bounded() -> None:
    filters = {"field": ["a:x:y"], "field_gte": ["n:1"], "status": ["open"]}
    assert field_search.searched(filters) == [(Comparison.EQUALS, "a:x:y"), (Comparison.AT_LEAST, "n:1")]
    with pytest.raises(InvalidValueError, match="at most"):
        field_search.searched({"field": ["a:x"] * (field_search.FIELD_FILTERS_MAX + 1)})
    with pytest.raises(InvalidValueError, match="written name:value"):
        field_search.conditions(None, [(Comparison.EQUALS, "severity")])


@given(
    value=st.integers(-values.NUMBER_MAX, values.NUMBER_MAX)
    | st.floats(-values.NUMBER_MAX, values.NUMBER_MAX, allow_nan=False)
)
def test_a_number_filter_reads_back_the_number_it_was_written_from(value: float) -> None:
    found = field_search.condition(_definition("number"), "f", Comparison.AT_LEAST, repr(value))
    assert found.value == value
