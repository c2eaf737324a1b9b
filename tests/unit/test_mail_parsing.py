"""Parsing real MIME (infrastructure/mail_in/parsing.py): charsets, encoded words, base64, parts, files, replies."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.mail_in.bodies import html_as_text
from infrastructure.mail_in.charsets import codec_for, decoded_header
from infrastructure.mail_in.parsing import UnreadableMessageError, parse
from infrastructure.mail_in.replies import reply_text

# 镕 is in GBK and GB18030 but not in GB2312: mail labelled gb2312 carries it all the same.
CHINESE = "打印机坏了 请尽快修理 镕"


def _encoded_word(text: str, codec: str, label: str) -> str:
    return f"=?{label}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def _message(body: bytes, label: str, subject_header: str) -> bytes:
    message = EmailMessage()
    message["From"] = "=?utf-8?B?" + base64.b64encode("张三".encode()).decode() + "?= <zhang@example.cn>"
    message["To"] = "help@desk.example"
    message.set_content(body, maintype="text", subtype="plain", cte="base64")
    message.replace_header("Content-Type", f'text/plain; charset="{label}"')
    return f"Subject: {subject_header}\r\n".encode() + message.as_bytes()


@pytest.mark.parametrize(
    ("codec", "label"),
    [("gb2312", "gb2312"), ("gbk", "gb2312"), ("gb18030", "gb2312"), ("gbk", "gbk"), ("utf-8", "utf-8")],
)
def test_chinese_subjects_and_base64_bodies_decode(codec: str, label: str) -> None:
    text = CHINESE if codec != "gb2312" else CHINESE[:-2]  # GB2312 itself cannot hold the last character
    raw = _message(text.encode(codec), label, _encoded_word(text, codec, label))
    parsed = parse(raw)
    assert parsed.subject == text
    assert parsed.text == text
    assert parsed.sender == "zhang@example.cn"
    assert parsed.sender_name == "张三"


def test_gb2312_is_read_as_its_superset() -> None:
    assert codec_for("GB2312") == "gb18030"
    assert codec_for("x-unknown-charset") == "utf-8"
    assert decoded_header("=?gb2312?B?" + base64.b64encode("镕".encode("gbk")).decode() + "?=") == "镕"


def test_alternatives_prefer_plain_text_and_keep_sanitised_html() -> None:
    message = EmailMessage()
    message["From"] = "bob@example.org"
    message["Subject"] = "Hello"
    message.set_content("The plain words.")
    message.add_alternative(
        '<p onclick="steal()">The <b>rich</b> words.</p><script>steal()</script><img src=x onerror=steal()>',
        subtype="html",
    )
    parsed = parse(message.as_bytes())
    assert parsed.text == "The plain words."
    assert parsed.html is not None
    assert "script" not in parsed.html
    assert "onclick" not in parsed.html
    assert "onerror" not in parsed.html
    assert "<b>rich</b>" in parsed.html


def test_html_only_mail_becomes_text() -> None:
    message = EmailMessage()
    message["From"] = "bob@example.org"
    message.set_content("<div>Line one<br>Line two</div><style>p{}</style><p>Para &amp; more</p>", subtype="html")
    assert parse(message.as_bytes()).text == "Line one\nLine two\n\nPara & more"
    assert html_as_text("<script>x()</script>Only this") == "Only this"


def test_attachments_keep_their_decoded_names() -> None:
    message = EmailMessage()
    message["From"] = "bob@example.org"
    message.set_content("See attached.")
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="发票 2026.pdf")
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="screen.png")
    parsed = parse(message.as_bytes())
    assert [(f.name, f.content_type, f.data) for f in parsed.files] == [
        ("发票 2026.pdf", "application/pdf", b"%PDF"),
        ("screen.png", "image/png", b"\x89PNG"),
    ]
    assert parsed.text == "See attached."


def test_a_message_without_a_sender_is_unreadable() -> None:
    with pytest.raises(UnreadableMessageError):
        parse(b"Subject: nobody\r\n\r\nHello\r\n")


def test_an_empty_subject_and_missing_message_id_are_kept_empty() -> None:
    parsed = parse(b"From: bob@example.org\r\n\r\nHello\r\n")
    assert parsed.subject == ""
    assert parsed.message_id is None


def test_replies_lose_quoted_history_and_signature() -> None:
    text = (
        "Thanks, it works now.\n\n"
        "On Mon, Dec 7, 2026 at 9:00 AM Help Desk <help@desk.example> wrote:\n"
        "> Please try turning it off and on.\n> \n> The desk\n"
    )
    assert reply_text(text) == "Thanks, it works now."
    assert reply_text("Short answer.\n\n-- \nBob\nExample Ltd\n") == "Short answer."


_HEADERS = ["To", "Subject", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "References"]
_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            'multipart/mixed; boundary="b"',
            'text/plain; charset="gb2312"',
            "text/html; charset=x-bogus",
            "attachment; filename*=utf-8''%E4%BD%A0",
            "attachment; filename*=bogus''%ZZ",
            "base64",
            "=?gb2312?B?!!!?=",
            "=?utf-8?Q?a=ZZ?=",
        ]
    ),
)
_BODIES = st.one_of(
    st.binary(max_size=100),
    st.sampled_from([b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n", b"!!!not base64"]),
)


@settings(max_examples=200, deadline=None)
@given(headers=st.lists(st.tuples(st.sampled_from(_HEADERS), _VALUES), max_size=6), body=_BODIES)
def test_any_message_with_a_sender_is_read_as_some_text(headers: list[tuple[str, str]], body: bytes) -> None:
    # Malformed mail must be read or refused for what it is, never fail in a way the server would retry forever.
    lines = ["From: bob@example.org", *(f"{name}: {value}" for name, value in headers)]
    raw = "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body
    parsed = parse(raw)
    assert isinstance(parsed.text, str)
    assert isinstance(parsed.subject, str)
