"""Which messages are automatic (domain/mail/loops.py): a table of real header combinations, and hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.mail.loops import automatic_reason

PERSON = "bob@example.org"


@pytest.mark.parametrize(
    ("headers", "return_path", "sender", "automatic"),
    [
        ({}, PERSON, PERSON, False),
        ({"auto-submitted": ["no"]}, PERSON, PERSON, False),
        ({"auto-submitted": ["No ; comment"]}, PERSON, PERSON, False),
        ({"auto-submitted": ["auto-replied"]}, PERSON, PERSON, True),
        ({"auto-submitted": ["auto-generated"]}, PERSON, PERSON, True),
        ({"auto-submitted": ["Auto-Notified; owner-email=x@y.org"]}, PERSON, PERSON, True),
        ({"precedence": ["bulk"]}, PERSON, PERSON, True),
        ({"precedence": ["JUNK"]}, PERSON, PERSON, True),
        ({"precedence": ["list"]}, PERSON, PERSON, True),
        ({"precedence": ["first-class"]}, PERSON, PERSON, False),
        ({"x-autoreply": ["yes"]}, PERSON, PERSON, True),
        ({"x-autorespond": ["Out of office"]}, PERSON, PERSON, True),
        ({}, "", PERSON, True),
        ({}, "<>", PERSON, True),
        ({}, None, PERSON, False),
        ({}, PERSON, "MAILER-DAEMON@mx.example.org", True),
        ({}, PERSON, "postmaster@example.org", True),
        ({}, PERSON, "postmaster-fan@example.org", False),
    ],
)
def test_automatic_messages_are_known(
    headers: dict[str, list[str]], return_path: str | None, sender: str, automatic: bool
) -> None:
    reason = automatic_reason(headers, return_path=return_path, sender=sender)
    assert (reason is not None) is automatic


HEADER_VALUES = {
    "auto-submitted": st.sampled_from(["no", "auto-replied", "auto-generated", "auto-notified"]),
    "precedence": st.sampled_from(["bulk", "junk", "list", "normal", "first-class"]),
    "x-autoreply": st.sampled_from(["yes"]),
    "x-autorespond": st.sampled_from(["yes"]),
    "x-mailer": st.sampled_from(["Outlook", "mutt"]),
}


@given(
    headers=st.sets(st.sampled_from(sorted(HEADER_VALUES))).flatmap(
        lambda names: st.fixed_dictionaries({n: st.lists(HEADER_VALUES[n], min_size=1, max_size=2) for n in names})
    ),
    return_path=st.sampled_from([None, "", "<>", PERSON]),
    sender=st.sampled_from([PERSON, "mailer-daemon@example.org", "Postmaster@example.org"]),
)
def test_a_message_is_automatic_exactly_when_one_rule_says_so(
    headers: dict[str, list[str]], return_path: str | None, sender: str
) -> None:
    expected = (
        any(v != "no" for v in headers.get("auto-submitted", []))
        or bool(headers.get("x-autoreply"))
        or bool(headers.get("x-autorespond"))
        or any(v in {"bulk", "junk", "list"} for v in headers.get("precedence", []))
        or return_path in {"", "<>"}
        or sender.split("@", maxsplit=1)[0].lower() in {"mailer-daemon", "postmaster"}
    )
    assert (automatic_reason(headers, return_path=return_path, sender=sender) is not None) is expected
