"""Web users and sessions on the in-memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import secrets

import pytest

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError
from infrastructure.composition import Services

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)


def _user(services: Services, password: str, **settings: str) -> str:
    user = services.create_user(
        email="Li@Initech.example",
        password=password,
        actor_id="li",
        role=Role.CUSTOMER,
        tenant="acme",
        organisation="initech",
        by=OPERATOR,
        via="cli",
        **settings,
    )
    return user.user_id


def test_a_user_signs_in_as_the_principal_it_was_made_for(services: Services) -> None:
    password = secrets.token_urlsafe(18)
    user_id = _user(services, password, language="zh_CN", time_zone="Asia/Shanghai")
    user = services.users.check_password(" li@initech.EXAMPLE ", password)
    assert user is not None
    assert user.user_id == user_id
    assert (user.language, user.time_zone) == ("zh_CN", "Asia/Shanghai")
    who = user.principal
    assert (who.actor.id, who.actor.kind, who.role, who.tenant) == ("li", ActorKind.REQUESTER, Role.CUSTOMER, "acme")
    assert who.actor.organisation == "initech"
    assert services.users.check_password("li@initech.example", password[:-1]) is None
    assert services.users.check_password("nobody@initech.example", password) is None


def test_a_session_works_until_it_is_ended_or_expires(services: Services) -> None:
    password = secrets.token_urlsafe(18)
    _user(services, password)
    user = services.users.check_password("li@initech.example", password)
    assert user is not None
    started = services.users.start_session(user, hours=1)
    found = services.users.session(started.secret)
    assert found is not None
    assert found.user.principal == user.principal
    assert found.csrf_token == started.session.csrf_token
    assert services.users.session(started.secret + "x") is None
    other = services.users.start_session(user, hours=1)
    services.users.end_session(started.secret)
    assert services.users.session(started.secret) is None
    assert services.users.session(other.secret) is not None  # signing out ends that session only
    expired = services.users.start_session(user, hours=-1)
    assert services.users.session(expired.secret) is None
    assert services.users.sessions_of(user.user_id) == 1


def test_users_are_refused_saying_why_and_nothing_is_stored(services: Services) -> None:
    password = secrets.token_urlsafe(18)
    with pytest.raises(InvalidValueError, match="at least 12"):
        _user(services, "short")
    with pytest.raises(InvalidValueError, match="language"):
        _user(services, password, language="fr")
    with pytest.raises(InvalidValueError, match="time zone"):
        _user(services, password, time_zone="Nowhere/Special")
    assert services.users.find("li@initech.example") is None
    _user(services, password)
    with pytest.raises(InvalidValueError, match="already a user"):
        _user(services, password)
