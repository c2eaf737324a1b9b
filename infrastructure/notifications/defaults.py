# ruff: noqa: RUF001  # Chinese text is written with full-width punctuation, as it should be
"""The built-in templates, in English and Chinese: what a tenant gets until it sets its own.

Each is (subject, plain text, HTML). The subject never needs the ticket's token: the notifier puts
`[#3f2a9c1e]` in front of every subject itself, so replies find their ticket whatever a tenant writes.
"""

from __future__ import annotations

from domain.notifications.kinds import Kind
from domain.notifications.templates import Template

_FOOTER_EN = "\n-- \nReply to this e-mail to add to the ticket. {{ ticket_url }}\n"
_FOOTER_ZH = "\n-- \n直接回复此邮件即可补充工单。{{ ticket_url }}\n"
_HTML_START = "<html><body>"
_HTML_END = '<p style="color:#666"><a href="{{ ticket_url }}">{{ ticket.title }}</a></p></body></html>'


_EN: dict[Kind, tuple[str, str, str]] = {
    Kind.PUBLIC_REPLY: (
        "Re: {{ ticket.title }}",
        "{{ actor }} replied:\n\n{{ comment }}\n",
        "<p>{{ actor }} replied:</p><blockquote>{{ comment }}</blockquote>",
    ),
    Kind.SOLVED: (
        "Solved: {{ ticket.title }}",
        "Your request has been solved. How did we do? Rate it here: {{ rating_url }}\n",
        '<p>Your request has been solved. How did we do? <a href="{{ rating_url }}">Rate it</a>.</p>',
    ),
    Kind.ASSIGNED: (
        "Assigned to you: {{ ticket.title }}",
        "{{ actor }} assigned this ticket to you (priority {{ ticket.priority }}).\n",
        "<p>{{ actor }} assigned this ticket to you (priority {{ ticket.priority }}).</p>",
    ),
    Kind.MENTIONED: (
        "You were mentioned: {{ ticket.title }}",
        "{{ actor }} mentioned you in an internal note:\n\n{{ comment }}\n",
        "<p>{{ actor }} mentioned you in an internal note:</p><blockquote>{{ comment }}</blockquote>",
    ),
    Kind.SLA_WARNING: (
        "SLA warning: {{ ticket.title }}",
        "The {{ sla.target }} target of this ticket is due at {{ sla.due_at }}.\n",
        "<p>The {{ sla.target }} target of this ticket is due at {{ sla.due_at }}.</p>",
    ),
    Kind.SLA_BREACH: (
        "SLA breached: {{ ticket.title }}",
        "The {{ sla.target }} target of this ticket was due at {{ sla.due_at }} and was missed.\n",
        "<p>The {{ sla.target }} target of this ticket was due at {{ sla.due_at }} and was missed.</p>",
    ),
    Kind.RULE: (
        "Update: {{ ticket.title }}",
        "There is news on this ticket (status {{ ticket.status }}).\n",
        "<p>There is news on this ticket (status {{ ticket.status }}).</p>",
    ),
}

_ZH: dict[Kind, tuple[str, str, str]] = {
    Kind.PUBLIC_REPLY: (
        "回复：{{ ticket.title }}",
        "{{ actor }} 回复了您：\n\n{{ comment }}\n",
        "<p>{{ actor }} 回复了您：</p><blockquote>{{ comment }}</blockquote>",
    ),
    Kind.SOLVED: (
        "已解决：{{ ticket.title }}",
        "您的请求已解决。欢迎评价我们的服务：{{ rating_url }}\n",
        '<p>您的请求已解决。欢迎<a href="{{ rating_url }}">评价我们的服务</a>。</p>',
    ),
    Kind.ASSIGNED: (
        "分配给您：{{ ticket.title }}",
        "{{ actor }} 把此工单分配给了您（优先级 {{ ticket.priority }}）。\n",
        "<p>{{ actor }} 把此工单分配给了您（优先级 {{ ticket.priority }}）。</p>",
    ),
    Kind.MENTIONED: (
        "有人提到了您：{{ ticket.title }}",
        "{{ actor }} 在内部备注中提到了您：\n\n{{ comment }}\n",
        "<p>{{ actor }} 在内部备注中提到了您：</p><blockquote>{{ comment }}</blockquote>",
    ),
    Kind.SLA_WARNING: (
        "SLA 预警：{{ ticket.title }}",
        "此工单的 {{ sla.target }} 目标将于 {{ sla.due_at }} 到期。\n",
        "<p>此工单的 {{ sla.target }} 目标将于 {{ sla.due_at }} 到期。</p>",
    ),
    Kind.SLA_BREACH: (
        "SLA 已超时：{{ ticket.title }}",
        "此工单的 {{ sla.target }} 目标已于 {{ sla.due_at }} 超时。\n",
        "<p>此工单的 {{ sla.target }} 目标已于 {{ sla.due_at }} 超时。</p>",
    ),
    Kind.RULE: (
        "工单更新：{{ ticket.title }}",
        "此工单有新动态（状态：{{ ticket.status }}）。\n",
        "<p>此工单有新动态（状态：{{ ticket.status }}）。</p>",
    ),
}


def built_in(kind: Kind, language: str) -> Template:
    """The built-in template of a kind: in Chinese for `zh` (and `zh-*`), else in English."""
    chinese = language == "zh" or language.startswith("zh-")
    subject, text, html = (_ZH if chinese else _EN)[kind]
    footer = _FOOTER_ZH if chinese else _FOOTER_EN
    return Template(subject, text + footer, _HTML_START + html + _HTML_END)
