"""Suggestions over REST on SQLite and PostgreSQL: trained on generated tickets in English and Chinese, suggested
on new tickets by the suggestion process, accepted and corrected, reported; abstentions; similar tickets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bench.corpus import generate, open_solved
from domain.access.policy import Role
from infrastructure.composition import Services

TRAINING_TICKETS = 240


@pytest.fixture
def api(served: Services) -> Iterator[dict[str, Any]]:
    keys = {
        role: served.keys.create(actor_id=f"{role}1", role=Role(role), tenant="acme").secret
        for role in ("admin", "agent", "analyst")
    }
    keys["small"] = served.keys.create(actor_id="ann", role=Role.AGENT, tenant="small").secret
    position = open_solved(served.desk, "acme", generate(TRAINING_TICKETS, seed=11))
    position = max(position, open_solved(served.desk, "small", generate(5, seed=12)))
    served.read_models.wait_for(position, timeout=60)
    outcomes = served.trainer().train(["acme", "small"])
    assert [o.skipped for o in outcomes] == [None, "too_few_training_tickets"]
    served.start_suggestions()
    with TestClient(create_app(services=served)) as client:
        yield {"client": client, "as": {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}}


def _open(api: dict[str, Any], title: str, description: str = "", who: str = "agent") -> str:
    body = {"title": title, "description": description, "requester_id": "bob"}
    opened = api["client"].post("/tickets", json=body, headers=api["as"][who])
    assert opened.status_code == 201, opened.text
    ticket: str = opened.json()["id"]
    return ticket


def _suggestions(api: dict[str, Any], ticket: str, who: str = "agent") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for _ in range(300):
        found = api["client"].get(f"/tickets/{ticket}/suggestions", headers=api["as"][who]).json()
        if found["abstained"] != "not_yet":
            return found
        time.sleep(0.05)
    return found


def _by_field(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["field"]: s for s in found["items"]}


def test_new_tickets_in_english_and_chinese_get_the_type_and_group_their_words_tell(api: dict[str, Any]) -> None:
    english = _by_field(_suggestions(api, _open(api, "printer is broken", "hello team, urgent, blocking my work")))
    chinese = _by_field(_suggestions(api, _open(api, "申请 发票", "你好 今天 需要一个新的 发票 谢谢")))
    assert (english["type"]["value"], english["group"]["value"]) == ("incident", "it")
    assert (chinese["type"]["value"], chinese["group"]["value"]) == ("request", "billing")
    for made in [*english.values(), *chinese.values()]:
        assert made["confidence"] >= 0.6
        assert (made["model_version"], made["outcome"]) == (1, None)


def test_an_agent_accepts_one_suggestion_and_corrects_another_and_the_report_counts_both(api: dict[str, Any]) -> None:
    client, agent = api["client"], api["as"]["agent"]
    ticket = _open(api, "vpn stopped working", "hello my laptop vpn, urgent")
    made = _by_field(_suggestions(api, ticket))
    accepted = client.post(f"/tickets/{ticket}/suggestions/{made['group']['number']}/acceptance", headers=agent)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["group"] == "it"
    corrected = client.post(
        f"/tickets/{ticket}/suggestions/{made['type']['number']}/correction", json={"value": "problem"}, headers=agent
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["type"] == "problem"
    again = client.post(f"/tickets/{ticket}/suggestions/{made['group']['number']}/acceptance", headers=agent)
    assert again.status_code == 409, again.text  # decided once: a second decision stores nothing
    missing = client.post(f"/tickets/{ticket}/suggestions/99/acceptance", headers=agent)
    assert missing.status_code == 404, missing.text
    bad = client.post(f"/tickets/{ticket}/suggestions/{made['priority']['number']}/correction", json={"value": "x y"})
    assert bad.status_code in (401, 403)  # no key: refused before anything
    refused = client.post(
        f"/tickets/{ticket}/suggestions/{made['priority']['number']}/correction", json={"value": "soon"}, headers=agent
    )
    assert refused.status_code == 422, refused.text  # not a priority: nothing recorded
    outcomes = {s["field"]: (s["outcome"], s["chosen"]) for s in _suggestions(api, ticket)["items"]}
    assert outcomes == {"group": ("accepted", "it"), "type": ("corrected", "problem"), "priority": (None, None)}

    events = [e["event"] for e in client.get(f"/tickets/{ticket}/history", headers=agent).json()["items"]]
    assert events.count("Suggested") == 3
    assert events.index("SuggestionAccepted") < events.index("Assigned")
    assert events.index("SuggestionCorrected") < events.index("TypeChanged")
    history = client.get(f"/tickets/{ticket}/history", headers=agent).json()["items"]
    suggested = next(e for e in history if e["event"] == "Suggested")
    assert (suggested["actor"]["id"], suggested["actor"]["kind"], suggested["via"]) == (
        "suggester",
        "system",
        "suggestions",
    )
    assert {c["field"] for c in suggested["changes"]} == {
        "suggested_field",
        "suggested_value",
        "confidence",
        "model_version",
    }

    report = client.get("/reports/suggestions", headers=api["as"]["analyst"]).json()
    tallies = {t["field"]: t for t in report["items"]}
    assert (tallies["group"]["accepted"], tallies["group"]["accuracy"]) == (1, 1.0)
    assert (tallies["type"]["corrected"], tallies["type"]["accuracy"]) == (1, 0.0)
    assert tallies["priority"]["pending"] == 1


def test_the_desk_abstains_with_too_few_tickets_and_below_the_confidence_floor(
    api: dict[str, Any], served: Services
) -> None:
    small = _suggestions(api, _open(api, "printer is broken", who="small"), who="small")
    assert (small["items"], small["abstained"]) == ([], "too_few_training_tickets")
    served.suggestions().floor = 0.999999  # as LEDGERDESK_SUGGESTION_CONFIDENCE_FLOOR would set it
    unsure = _suggestions(api, _open(api, "zzz qqq"))
    assert (unsure["items"], unsure["abstained"]) == ([], "low_confidence")


def test_model_versions_show_their_window_size_and_holdout_report(api: dict[str, Any]) -> None:
    found = api["client"].get("/suggestions/models", headers=api["as"]["analyst"]).json()["items"]
    assert [(v["version"], v["size"]) for v in found] == [(1, TRAINING_TICKETS)]
    report = found[0]["fields"]["group"]
    assert report["accuracy"] > 0.8
    assert {"it", "billing", "facilities"} <= set(report)
    assert {"precision", "recall"} <= set(report["it"])


def test_similar_tickets_name_likely_duplicates_within_what_the_caller_reaches(api: dict[str, Any]) -> None:
    client, agent = api["client"], api["as"]["agent"]
    first = _open(api, "Meeting room projector does not start")
    second = _open(api, "Meeting room projector does not start!")
    _open(api, "申请 发票 报价单")
    _open(api, "Meeting room projector", who="small")  # another tenant's: never named
    found: list[dict[str, Any]] = []
    for _ in range(100):
        found = client.get(f"/tickets/{second}/similar", headers=agent).json()["items"]
        if any(item["ticket_id"] == first for item in found):
            break
        time.sleep(0.05)
    assert found[0]["ticket_id"] == first
    assert found[0]["likely_duplicate"] is True
    assert found[0]["score"] >= 0.8
    assert all(item["ticket_id"] != second for item in found)
    assert all("报价单" not in item["title"] or not item["likely_duplicate"] for item in found)
    scores = [item["score"] for item in found]
    assert scores == sorted(scores, reverse=True)


def test_similar_names_the_articles_that_may_answer_the_ticket(api: dict[str, Any], served: Services) -> None:
    from domain.actors import Actor, ActorKind

    sam = Actor("sam", ActorKind.AGENT, role="supervisor")
    for title in ("投影仪无法启动怎么办", "Expense claims"):
        made = served.desk.draft_article(
            tenant="acme", title=title, body="…", language="zh-CN", visibility="public", by=sam, via="api"
        )
        served.desk.publish_article(made.article.id, tenant="acme", by=sam, via="api")
    ticket = _open(api, "会议室投影仪无法启动")
    client, agent = api["client"], api["as"]["agent"]
    found: list[dict[str, Any]] = []
    for _ in range(100):
        found = client.get(f"/tickets/{ticket}/similar", headers=agent).json()["articles"]
        if found:
            break
        time.sleep(0.05)
    assert [a["title"] for a in found] == ["投影仪无法启动怎么办"]


def test_a_trigger_applies_suggestions_at_least_as_confident_as_it_says_caused_by_the_model(
    api: dict[str, Any], served: Services
) -> None:
    client, admin, agent = api["client"], api["as"]["admin"], api["as"]["agent"]
    rule = {"title": "Trust the model", "on": ["suggested"], "actions": [{"apply_suggestion": 0.6}]}
    defined = client.put("/triggers/trust-the-model", json=rule, headers=admin)
    assert defined.status_code == 200, defined.text
    refused = client.put("/triggers/too-sure", json={**rule, "actions": [{"apply_suggestion": 2}]}, headers=admin)
    assert refused.status_code == 422, refused.text
    served.start_triggers()
    ticket = _open(api, "invoice refund", "hello, I would like a refund, no rush")
    found: dict[str, Any] = {}
    for _ in range(300):
        found = client.get(f"/tickets/{ticket}", headers=agent).json()
        if found["group"] is not None:
            break
        time.sleep(0.05)
    assert (found["group"], found["type"]) == ("billing", "request")
    history = client.get(f"/tickets/{ticket}/history", headers=agent).json()["items"]
    accepted = [e for e in history if e["event"] == "SuggestionAccepted"]
    assert accepted
    assert {(e["actor"]["id"], e["causation_id"]) for e in accepted} == {
        ("trigger:trust-the-model", "suggestion-model:1")
    }
    assigned = next(e for e in history if e["event"] == "Assigned")
    assert assigned["causation_id"] == "suggestion-model:1"
    tallies = {t["field"]: t for t in client.get("/reports/suggestions", headers=api["as"]["analyst"]).json()["items"]}
    assert tallies["group"]["accepted_by_rules"] == 1
