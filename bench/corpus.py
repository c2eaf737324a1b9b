"""Generated help-desk tickets in English and Chinese, with vocabularies that tell their type, group and priority.

Each group has its own nouns (printers and laptops for `it`, invoices for `billing`, ...), each
type its own phrasing (something broke, something is wanted, something is asked), each priority
its own urgency words; every ticket also carries words shared by all, and a share of the tickets
have a label that their words do not support (noise), as real desks do. Used by the tests and by
the suggestions benchmark (bench/suggestions.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk

GROUP_WORDS: dict[str, dict[str, list[str]]] = {
    "it": {
        "en": ["laptop", "printer", "vpn", "password", "monitor", "keyboard", "wifi", "outlook", "docking station"],
        "zh": ["电脑", "打印机", "网络", "密码", "显示器", "键盘", "无线网", "邮箱客户端", "扩展坞"],
    },
    "facilities": {
        "en": ["air conditioning", "desk", "light", "elevator", "meeting room", "heating", "door lock", "chair"],
        "zh": ["空调", "办公桌", "灯", "电梯", "会议室", "暖气", "门锁", "椅子", "饮水机"],
    },
    "billing": {
        "en": ["invoice", "refund", "payment", "receipt", "subscription", "credit card", "tax number", "quote"],
        "zh": ["发票", "退款", "付款", "收据", "订阅", "信用卡", "税号", "报价单"],
    },
}
TYPE_WORDS: dict[str, dict[str, list[str]]] = {
    "incident": {
        "en": ["is broken", "stopped working", "keeps failing", "crashed", "does not start", "error when"],
        "zh": ["坏了", "无法使用", "一直报错", "故障", "打不开", "突然停止工作"],
    },
    "request": {
        "en": ["please order a new", "I would like a", "request for a", "need access to", "set up a"],
        "zh": ["申请", "请帮忙开通", "需要一个新的", "请安排", "想要办理"],
    },
    "question": {
        "en": ["how do I", "where can I find", "is it possible to", "what is the policy for", "who handles"],
        "zh": ["请问如何", "在哪里可以找到", "是否可以", "关于什么规定", "谁负责"],
    },
}
PRIORITY_WORDS: dict[str, dict[str, list[str]]] = {
    "low": {"en": ["when you have time", "no rush"], "zh": ["不着急", "有空再处理"]},
    "normal": {"en": ["thanks", "regards"], "zh": ["谢谢", "麻烦了"]},
    "high": {"en": ["urgent", "blocking my work"], "zh": ["紧急", "影响工作"]},
}
SHARED_WORDS = {
    "en": ["hello", "team", "today", "the office", "my", "again", "since monday", "colleague", "floor 3"],
    "zh": ["你好", "今天", "办公室", "我的", "又", "从周一开始", "同事", "三楼"],
}


@dataclass(frozen=True, slots=True)
class GeneratedTicket:
    """One generated ticket: its words and the labels it was made with."""

    title: str
    description: str
    ticket_type: str
    group: str
    priority: str
    language: str


def generate(count: int, *, seed: int = 1, noise: float = 0.05) -> list[GeneratedTicket]:
    """`count` tickets, half English and half Chinese; a `noise` share with a random label of one field."""
    rng = random.Random(seed)
    return [_ticket(rng, noise) for _ in range(count)]


def _ticket(rng: random.Random, noise: float) -> GeneratedTicket:
    language = rng.choice(["en", "zh"])
    group, kind, priority = (
        rng.choice(list(GROUP_WORDS)),
        rng.choice(list(TYPE_WORDS)),
        rng.choice(list(PRIORITY_WORDS)),
    )
    noun, phrase = rng.choice(GROUP_WORDS[group][language]), rng.choice(TYPE_WORDS[kind][language])
    urgency = rng.choice(PRIORITY_WORDS[priority][language])
    shared = rng.sample(SHARED_WORDS[language], 3)
    space = " " if language == "en" else ""
    title = space.join([phrase, noun] if kind != "incident" else [noun, phrase])
    other = rng.choice(GROUP_WORDS[group][language])
    description = space.join([shared[0], shared[1], title, other, shared[2], urgency])
    if rng.random() < noise:  # a label the words do not support
        which = rng.choice(["group", "type", "priority"])
        if which == "group":
            group = rng.choice(list(GROUP_WORDS))
        elif which == "type":
            kind = rng.choice(list(TYPE_WORDS))
        else:
            priority = rng.choice(list(PRIORITY_WORDS))
    return GeneratedTicket(title, description, kind, group, priority, language)


def open_solved(desk: HelpDesk, tenant: str, tickets: list[GeneratedTicket]) -> int:
    """Open each ticket as an agent of `tenant` with its labels, and solve it; the log position of the last save."""
    by, position = Actor("seeder", ActorKind.AGENT), 0
    for made in tickets:
        opened = desk.open_ticket(
            tenant=tenant,
            title=made.title,
            description=made.description,
            requester_id="requester",
            priority=made.priority,
            ticket_type=made.ticket_type,
            group=made.group,
            by=by,
            via="api",
        )
        solved = desk.transition(opened.ticket_id, "solved", by=by, via="api")
        position = solved.position or position
    return position
