"""Settings, read from the environment (prefix LEDGERDESK_) by pydantic-settings."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import InvalidValueError
from domain.values import ATTACHMENT_SIZE_MAX
from infrastructure.attachments.policy import DEFAULT_MAX_BYTES as ATTACHMENT_MAX_BYTES
from infrastructure.attachments.policy import DEFAULT_TYPES as ATTACHMENT_TYPES
from infrastructure.notifications.smtp import SmtpServer

DEFAULT_DATABASE_URL = "sqlite:///./var/ledgerdesk.sqlite"
DEFAULT_CONNECTION_BUDGET = 10


class Settings(BaseSettings):
    """Everything the service can be configured with. Unknown LEDGERDESK_ variables are ignored."""

    model_config = SettingsConfigDict(env_prefix="LEDGERDESK_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///PATH (embedded), postgresql://USER[:PASSWORD]@HOST:PORT/DB, or memory:// (tests).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: uvicorn's lines, as a terminal shows them; json: one JSON object per line (each request, "
        "each background batch, every message), with the request id and the correlation id (docs/operations.md).",
    )
    ready_lag_events: int = Field(
        default=1000,
        ge=0,
        description="GET /readyz answers 503 while the read models are more events than this behind the log's head.",
    )
    read_database_url: str = Field(
        default="",
        description="postgresql://... of a streaming replica of `database_url`: read endpoints (lists, queues, "
        "reports, the event feed) are served from it while it has reached the position a request asks for, else "
        "from the primary (docs/scaling.md). Empty: every read goes to the primary.",
    )
    postgres_schema: str = Field(default="", description="PostgreSQL schema for all tables (empty: the default).")
    db_pool_max: int | None = Field(
        default=None,
        ge=3,
        description="PostgreSQL connections one process may hold at most, all included: its pool and the "
        "LISTEN connection its background processes wake on. Default: 10, or, when only the older `pool_size` and "
        "`max_overflow` are set, their sum plus one (what they allowed before).",
    )
    pool_size: int = Field(
        default=2, ge=0, description="Connections a process keeps open while idle (at most the budget's pool)."
    )
    max_overflow: int = Field(
        default=8,
        ge=0,
        description="Deprecated: use `db_pool_max`. Read only to derive the budget when `db_pool_max` is unset.",
    )
    db_idle_seconds: float = Field(
        default=60.0,
        ge=1,
        description="A pooled connection beyond `pool_size` unused for this long is closed (one per period).",
    )
    lock_timeout_seconds: int = Field(
        default=5, ge=0, description="How long a write waits for the event table lock before failing (0: forever)."
    )
    connect_timeout_seconds: int = Field(default=5, ge=1, description="How long to wait for the database.")
    aggregate_cache_size: int = Field(
        default=1000,
        ge=0,
        description="Tickets kept in memory per process; each read brings a cached ticket up to date with only "
        "the events recorded since (0: no cache).",
    )
    create_tables: bool = Field(
        default=True,
        description="At start-up, make or update the schema (what `ledgerdesk migrate` does), under a lock, so "
        "processes started together take turns. Off: make no schema change, wait for the schema instead.",
    )
    schema_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest a starting process waits for the schema lock (create_tables on) or for the schema "
        "version it needs (create_tables off) before it stops with an error.",
    )
    projections_in_process: bool | None = Field(
        default=None,
        description="Run the projection worker inside each API process. Default: yes on SQLite and in memory; "
        "no on PostgreSQL, where `ledgerdesk project` runs it as its own process.",
    )
    projection_gather_seconds: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="After a batch, how long the projection worker lets new events gather before it applies the "
        "next: under load, one read-model transaction then carries many commands' events instead of one each. "
        "Adds at most this much to the time a change takes to show in the read models.",
    )
    read_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        le=30,
        description="Longest a read-model request waits for a requested log position (read-your-writes).",
    )
    sla_watch_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        le=45,
        description="How often the SLA watcher sweeps for warnings and breaches that fell due. With the default, "
        "each is recorded well within 60 seconds of its moment.",
    )
    routing_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="The longest the router goes between sweeps of the queues. It also sweeps whenever the read "
        "models move on, so a new ticket is routed as soon as it shows in them.",
    )
    automation_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How often the timed-rule runner looks for tickets whose hours have come.",
    )
    schedule_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often the schedule runner looks for schedules' occurrences that came, and opens their "
        "tickets. An occurrence opens at most this long after its moment.",
    )
    schedule_late_seconds: float = Field(
        default=600.0,
        ge=0,
        description="An occurrence the schedule runner first sees more than this long after its moment was missed "
        "(the runner was stopped or behind): the schedule's catch_up says whether it still opens.",
    )
    lease_seconds: float = Field(
        default=10.0,
        ge=1,
        le=300,
        description="How long background work that one process at a time does (triggers) stays with a process that "
        "stopped renewing it, before a standing-by process takes it over.",
    )
    suggestions_enabled: bool = Field(
        default=True,
        description="Whether the desk suggests type, group and priority for new tickets from each tenant's own "
        "solved tickets (docs/suggestions.md). Off: no model is trained and nothing is suggested.",
    )
    suggestions_off_tenants: str = Field(
        default="",
        description="Comma-separated tenants that get no suggestions (no model is trained for them either).",
    )
    suggestion_confidence_floor: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Below this confidence (the model's calibrated probability) a value is not suggested.",
    )
    suggestion_min_training_tickets: int = Field(
        default=30,
        ge=2,
        description="A tenant with fewer solved or closed tickets than this gets no model: too little to learn from.",
    )
    suggestion_training_interval_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="How often `ledgerdesk worker` trains each tenant's model again (one worker of all hosts at a "
        "time, under a lease); `ledgerdesk suggest train` trains at once.",
    )
    webhook_allowlist: str = Field(
        default="",
        description="Comma-separated CIDRs (`127.0.0.0/8,10.1.0.0/16`) that webhook deliveries may reach although "
        "they are private, loopback, link-local or otherwise not public; every other such address is refused, "
        "checked on the address the endpoint's host resolves to at each delivery. Empty: public addresses only.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="How long a webhook delivery waits for each step (connect, send, answer).",
    )
    webhook_retry_base_seconds: float = Field(
        default=5.0,
        gt=0,
        description="The wait before a failed delivery's first retry; each further retry waits twice as long "
        "(up to `webhook_retry_max_seconds`), less a random part of up to half (jitter).",
    )
    webhook_retry_max_seconds: float = Field(
        default=21_600.0, gt=0, description="The longest wait between two attempts of one delivery (6 hours)."
    )
    webhook_max_attempts: int = Field(
        default=20,
        ge=1,
        le=100,
        description="Attempts of one delivery before it is given up as failed (about two days with the defaults).",
    )
    webhook_disable_after: int = Field(
        default=20,
        ge=1,
        description="Consecutive failed attempts (of any of its deliveries) after which an endpoint is disabled, "
        "recorded as an event with the reason; an admin enables it again with PATCH.",
    )
    webhook_secret_grace_seconds: float = Field(
        default=86_400.0,
        ge=0,
        le=7 * 86_400,
        description="After a secret rotation, how long the previous secret still signs deliveries beside the new one.",
    )
    webhook_concurrency: int = Field(
        default=4, ge=1, le=64, description="Deliveries one webhook process has in flight at once."
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the webhook process looks for retries that came due."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Where notifications are sent: smtp://[USER:PASSWORD@]HOST[:PORT][?starttls=true] or "
        "smtps://... (TLS from the start). Unset: the notifier is off and no e-mail is sent (docs/notifications.md).",
    )
    mail_from: str = Field(
        default="ledgerdesk@localhost",
        description="The From address of notifications; its domain is the domain of their Message-IDs.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address people reach ledgerdesk at, for the links in notifications.",
    )
    rating_path: str = Field(
        default="/tickets/{ticket_id}/rating",
        description="The path (after public_url) of the page where a requester rates a solved ticket.",
    )
    notify_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="How long the notifier waits for each step of an SMTP exchange."
    )
    notify_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="The wait before a notification's first retry (doubling, with jitter)."
    )
    notify_retry_max_seconds: float = Field(
        default=3_600.0, gt=0, description="The longest wait between two attempts of one notification."
    )
    notify_max_attempts: int = Field(
        default=30, ge=1, le=200, description="Attempts of a notification before it is given up (recorded failed)."
    )
    notify_concurrency: int = Field(default=4, ge=1, le=64, description="Messages one notifier sends at once.")
    notify_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the notifier looks for retries that came due."
    )
    idempotency_ttl_seconds: int = Field(
        default=86_400, ge=60, description="How long an Idempotency-Key and its response are kept."
    )
    idempotency_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        le=60,
        description="How long a request holds its Idempotency-Key without renewing it (it renews while it runs). "
        "A retry of a request whose process died waits at most this long, then gets the first outcome.",
    )
    key_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long a process keeps an API key it has verified, so that not every request asks the "
        "database. A key revoked by another process is refused here within this time (by this process: at once); "
        "0 asks the database on every request.",
    )
    privacy_key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a process keeps a person's data key in memory. After an erasure, other processes "
        "stop reading the person's data within this time (the erasing process at once).",
    )
    erasure_register: str = Field(
        default="",
        description="A file every erasure is appended to, kept apart from the database and its backups; "
        "`ledgerdesk restore` destroys again the keys of everyone in it, so a backup taken before an erasure "
        "cannot bring the person's data back (docs/privacy.md). Empty: no register.",
    )
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Base64 of a 32-byte Ed25519 private key for signing audit checkpoints and export manifests "
        "(make one with `ledgerdesk audit keygen`). Keep it out of the database's reach.",
    )
    rate_limit: str = Field(
        default="600/minute",
        description="Requests allowed per API key (per client address without a key), in the notation of the "
        "`limits` package: `600/minute`, `10/second;600/minute`, `1000 per hour`. Counted per worker process "
        "over a moving window. Empty: no rate limit. `/healthz` is never limited.",
    )
    auth_failure_limit: str = Field(
        default="20/minute",
        description="Failed authentications allowed per client address and, separately, per presented key id "
        "(same notation as `rate_limit`). Past it, further failed attempts get 429; a request with the right "
        "secret is never refused by it, only by its key's own `rate_limit`. Empty: failures are not limited.",
    )
    sign_in_failure_limit: str = Field(
        default="10/minute;50/hour",
        description="Failed web sign-ins allowed per client address and, separately, per e-mail address (same "
        "notation as `rate_limit`). Past it, the sign-in page refuses further attempts for a while (429).",
    )
    session_hours: float = Field(
        default=12,
        gt=0,
        description="How long a web session lasts after sign-in; signing out or a new sign-in ends it sooner.",
    )
    read_waits_per_key: int = Field(
        default=8,
        ge=1,
        description="Read-model requests of one API key that may wait for a `min_position` at once, per worker "
        "process; one more gets 429 with Retry-After. Waits hold no thread.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Largest request body accepted, in bytes; a larger one gets 413 without being read.",
    )
    mail_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Largest e-mail `ledgerdesk mail-in` takes, in bytes (25 MiB); a larger one is refused with "
        "552 5.3.4 (SMTP, also advertised as SIZE) or exit code 65 (--stdin).",
    )
    blob_dir: str = Field(
        default="./var/blobs",
        description="Where attached files are kept (encrypted, content-addressed) unless `blob_url` names an "
        "object store (docs/attachments.md).",
    )
    blob_url: str = Field(
        default="",
        description="s3://bucket/prefix: keep attached files in an S3-compatible object store instead of `blob_dir`.",
    )
    s3_endpoint_url: str = Field(
        default="", description="The object store's endpoint (MinIO, Ceph, ...); empty: AWS's own for the region."
    )
    s3_region: str = Field(default="", description="The object store's region; empty: boto3's default.")
    s3_access_key_id: str = Field(default="", description="Empty: boto3's usual credentials (environment, role).")
    s3_secret_access_key: SecretStr | None = Field(default=None, description="With `s3_access_key_id`.")
    attachment_max_bytes: int = Field(
        default=ATTACHMENT_MAX_BYTES, ge=0, le=ATTACHMENT_SIZE_MAX, description="Largest attached file, in bytes."
    )
    attachment_types: str = Field(
        default=ATTACHMENT_TYPES,
        description="Content types (sniffed from the content) a file may have: comma-separated media types, "
        "prefixes such as `image/*`, or `*` for any.",
    )

    def connection_budget(self) -> int:
        """The most PostgreSQL connections one process holds (LEDGERDESK_DB_POOL_MAX, or derived)."""
        if self.db_pool_max is not None:
            return self.db_pool_max
        if {"pool_size", "max_overflow"} & self.model_fields_set:
            # The older settings bounded the pool alone; the LISTEN connection came on top.
            return max(3, self.pool_size + self.max_overflow + 1)
        return DEFAULT_CONNECTION_BUDGET

    @field_validator("webhook_allowlist")
    @classmethod
    def _parsable_allowlist(cls, value: str) -> str:
        """Refuse at start-up an allowlist entry that is no network (`10.0.0.0/8`, `::1/128`, `127.0.0.1`)."""
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # raises ValueError, reported as a settings error
        return value.strip()

    @field_validator("blob_url")
    @classmethod
    def _object_store_url(cls, value: str) -> str:
        """Refuse at start-up an object store URL that is not s3://bucket or s3://bucket/prefix."""
        value = value.strip()
        if value and not re.fullmatch(r"s3://[^/\s]+(?:/\S*)?", value):
            msg = f"blob_url must be s3://bucket/prefix (got {value!r})"
            raise ValueError(msg)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _parsable_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse at start-up an SMTP URL the notifier could not use (the message never shows the password)."""
        if value is not None:
            try:
                SmtpServer.parse(value.get_secret_value())
            except InvalidValueError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("rate_limit", "auth_failure_limit", "sign_in_failure_limit")
    @classmethod
    def _parsable_rate_limit(cls, value: str) -> str:
        """Refuse at start-up a rate limit the limiter could not parse."""
        value = value.strip()
        if value:
            parse_many(value)  # raises ValueError, reported as a settings error
        return value
