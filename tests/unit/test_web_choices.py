"""The web pages' small decisions: which language a browser gets, where a form may send a visitor next."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.web.i18n import from_accept_language, shown_moment, supported, translations
from api.web.paths import is_web_path
from api.web.routes import local_target


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en-GB,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh-TW;q=0.5", "zh_CN"),  # the only Chinese the pages speak
        ("fr, de;q=0.7", "en"),
        ("en;q=0.2, zh;q=0.9", "zh_CN"),  # by quality, not by order
        ("zh;q=0, en;q=0.1", "en"),  # q=0 means "not this"
        ("", "en"),
        (None, "en"),
        ("garbage;;;,q=", "en"),
    ],
)
def test_the_browsers_language_by_quality(header: str | None, language: str) -> None:
    assert from_accept_language(header) == language


@pytest.mark.parametrize(("given", "language"), [("zh-CN", "zh_CN"), ("zh_cn", "zh_CN"), ("en-US", "en"), ("xx", None)])
def test_language_names_are_read_leniently(given: str, language: str | None) -> None:
    assert supported(given) == language


def test_the_chinese_catalogue_translates_every_label_of_the_sign_in_form() -> None:
    chinese = translations("zh_CN")
    assert [chinese.gettext(m) for m in ("Email", "Password", "Sign in")] == ["电子邮件", "密码", "登录"]
    assert translations("en").gettext("Sign in") == "Sign in"


def test_a_moment_is_shown_in_the_users_zone_and_language() -> None:
    moment = datetime(2026, 12, 7, 6, 35, tzinfo=UTC)
    assert shown_moment(moment, language="zh_CN", time_zone="Asia/Shanghai") == "2026年12月7日 14:35:00"
    assert shown_moment(moment, language="en", time_zone="UTC").startswith("Dec 7, 2026")


@pytest.mark.parametrize(
    ("target", "went"),
    [
        ("/t/1?x=2", "/t/1?x=2"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_forms_send_visitors_to_this_site_only(target: str | None, went: str) -> None:
    assert local_target(target) == went


def test_which_paths_are_pages() -> None:
    assert all(is_web_path(p) for p in ("/", "/login", "/logout", "/language", "/t/x", "/static/style.css"))
    assert not any(is_web_path(p) for p in ("/tickets", "/docs", "/healthz", "/me", "/tickets/t/1"))
