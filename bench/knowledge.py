"""KB1: knowledge-base search at BENCH_KB1_ARTICLES (10,000) articles, half English and half Chinese.

The articles are drafted and published through the application (every other one public), the read
models catch up from zero, then searches run in process against the read model, as the API's
`/kb/search` and `/kb/suggestions` call it (no HTTP): staff and customer scopes, English words,
word prefixes (search as you type), Chinese runs of two to four characters, and suggestions from
a ticket title (any word). Each kind is timed BENCH_KB1_SAMPLES times; p50, p95, p99 in ms, and
the share of searches that found something. The same on PostgreSQL and on the embedded SQLite.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from projections.fulltext import Query, query

AUTHOR = Actor("kb-bench", ActorKind.AGENT, role="admin")
TENANT = "acme"
#: Common characters of help-desk Chinese: articles are random runs of them, as real text is runs of words.
HAN = (
    "打印机网络连接无法登录密码重置账户邮件服务器电脑系统软件安装更新错误显示屏幕键盘鼠标文件共享权限"
    "申请审批流程报销发票合同客户订单支付退款物流地址电话手机短信验证码设置修改删除备份恢复数据库速度慢"
)
WORDS = (  # noqa: SIM905  # a word list reads best as words
    "printer network connect login password reset account mail server laptop system software install "
    "update error display screen keyboard mouse file share permission request approval expense invoice "
    "contract customer order payment refund delivery address phone message code settings change delete "
    "backup restore database slow vpn wifi cable driver license browser cache printer queue calendar "
    "meeting room badge "
).split()


def bench_knowledge(database_url: str, *, articles: int, samples: int) -> list[dict[str, Any]]:
    """Seed `articles` articles, project them, and time searches of each kind."""
    rng = random.Random(21)
    services = build_services(Settings(database_url=database_url, db_pool_max=5, pool_size=2))
    try:
        seeded = _seed(services, rng, articles)
        caught_up = _catch_up(services)
        kinds = _kinds(rng)
        backend = "postgres" if database_url.startswith("postgres") else "sqlite"
        return [
            _time(services, backend, name, make, public_only, samples, articles, seeded, caught_up)
            for name, (make, public_only) in kinds.items()
        ]
    finally:
        services.close()


def _seed(services: Services, rng: random.Random, articles: int) -> float:
    started = time.perf_counter()
    for n in range(articles):
        chinese = n % 2 == 1
        title, body = (_han(rng, 12), _han(rng, 300)) if chinese else (_english(rng, 6), _english(rng, 60))
        made = services.desk.draft_article(
            tenant=TENANT,
            title=title,
            body=body,
            language="zh-CN" if chinese else "en",
            visibility="public" if n % 4 < 2 else "internal",
            by=AUTHOR,
            via="api",
        )
        services.desk.publish_article(made.article.id, tenant=TENANT, by=AUTHOR, via="api")
    return round(time.perf_counter() - started, 1)


def _catch_up(services: Services) -> float:
    started = time.perf_counter()
    services.start_projections()
    head = services.desk.recorder.max_notification_id() or 0
    caught_up = services.read_models.wait_for(head, 60)
    while caught_up < head:  # each wait gives up after a minute; a long catch-up takes several
        caught_up = services.read_models.wait_for(head, 60)
    return round(time.perf_counter() - started, 1)


def _han(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(HAN) for _ in range(length))


def _english(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def _kinds(rng: random.Random) -> dict[str, tuple[Callable[[], Query], bool]]:
    def han_run() -> Query:
        return query(_han(rng, rng.randint(2, 4)))

    def two_words() -> Query:
        return query(f"{rng.choice(WORDS)} {rng.choice(WORDS)}")

    def prefix() -> Query:
        word = rng.choice(WORDS)
        return query(word[: max(2, len(word) // 2)], prefix=True)

    def suggestion() -> Query:
        return query(f"My {rng.choice(WORDS)} shows a {rng.choice(WORDS)} {_han(rng, 3)}", any_term=True)

    return {
        "english_words_staff": (two_words, False),
        "english_words_customer": (two_words, True),
        "english_prefix_staff": (prefix, False),
        "chinese_2_4_chars_staff": (han_run, False),
        "chinese_2_4_chars_customer": (han_run, True),
        "suggestions_customer": (suggestion, True),
    }


def _time(
    services: Services,
    backend: str,
    name: str,
    make: Callable[[], Query],
    public_only: bool,
    samples: int,
    articles: int,
    seeded: float,
    caught_up: float,
) -> dict[str, Any]:
    reads = services.read_models.knowledge()
    times: list[float] = []
    found = 0
    for _ in range(samples):
        q = make()
        started = time.perf_counter()
        hits = reads.search(TENANT, q, public_only=public_only, limit=20)
        times.append((time.perf_counter() - started) * 1000)
        found += bool(hits)
    cuts = statistics.quantiles(times, n=100)
    return {
        "name": f"kb1_{backend}_{name}",
        "articles": articles,
        "samples": samples,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
        "found_share": round(found / samples, 3),
        "seed_seconds": seeded,
        "catch_up_seconds": caught_up,
    }


def sqlite_url() -> str:
    """A fresh embedded database in a temporary directory (kept for the run)."""
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix='ledgerdesk-kb1-')) / 'events.sqlite'}"
