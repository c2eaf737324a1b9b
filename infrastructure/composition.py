"""The composition root: builds the application and its adapters from Settings.

Nothing connects to a database at import time; everything starts here.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, cast

import psycopg

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.clock import Clock, system_clock
from domain.errors import InvalidValueError, NotFoundError
from domain.helpdesk import HelpDesk
from infrastructure.attachments.blobs import BlobStore, FileBlobStore
from infrastructure.attachments.policy import AttachmentPolicy
from infrastructure.attachments.s3 import S3BlobStore
from infrastructure.attachments.store import AttachmentStore
from infrastructure.automations import AutomationRunner
from infrastructure.database import (
    Backend,
    Database,
    check_reachable,
    eventsourcing_env,
    parse_database_url,
)
from infrastructure.idempotency import IdempotencyStore
from infrastructure.keys import CachedKeyStore, IssuedKey, KeyStore, MemoryKeyStore, SqlKeyStore
from infrastructure.leases import Lease
from infrastructure.log_signal import LogSignal
from infrastructure.mail_in.delivery import MailIn
from infrastructure.mail_in.files import StoreFiles, kept_in, metadata_only
from infrastructure.notifications import smtp
from infrastructure.notifications.enqueuer import Enqueuer as NotificationEnqueuer
from infrastructure.notifications.message import mail_domain
from infrastructure.notifications.outbox import Outbox
from infrastructure.notifications.process import NotificationProcess, NotifierOff
from infrastructure.notifications.sender import Links
from infrastructure.notifications.sender import Sender as NotificationSender
from infrastructure.notifications.templates import TemplateBook
from infrastructure.pool import application_name
from infrastructure.privacy.datakeys import DataKeys, MemoryDataKeys, SqlDataKeys
from infrastructure.privacy.erasure import Eraser
from infrastructure.privacy.mapper import PersonalDataMapper
from infrastructure.privacy.register import ErasureRegister
from infrastructure.readmodels.replica import ReplicaReads, replica_reads
from infrastructure.readmodels.store import ReadModels
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.recurrence import LibraryRecurrence
from infrastructure.router import Router
from infrastructure.schedules import ScheduleRunner
from infrastructure.schema import Schema, Step
from infrastructure.settings import Settings
from infrastructure.sla_watcher import SlaWatcher
from infrastructure.suggestions.process import Suggester, TrainingSchedule
from infrastructure.suggestions.service import Suggestions
from infrastructure.suggestions.store import ModelStore
from infrastructure.suggestions.training import Trainer
from infrastructure.telemetry import Telemetry
from infrastructure.topics import register_moved_topics
from infrastructure.triggers import TriggerRunner
from infrastructure.users import UserStore, WebUser
from infrastructure.webhooks.addresses import AddressPolicy, networks
from infrastructure.webhooks.admin import WebhookAdmin
from infrastructure.webhooks.backoff import Backoff
from infrastructure.webhooks.enqueuer import Enqueuer
from infrastructure.webhooks.process import WebhookProcess
from infrastructure.webhooks.sender import Sender
from infrastructure.webhooks.sql import Sql, memory_sql
from infrastructure.webhooks.store import WebhookStore
from projections.sql import POSTGRES, SQLITE

log = logging.getLogger("ledgerdesk")


class Stoppable(Protocol):
    """A background process running in threads of this process."""

    def stop(self) -> None:
        """Stop it (work in hand is finished or left for the next run, never half done)."""


@dataclass(slots=True)
class Services:
    """Everything a process needs, built once per process (after any fork)."""

    settings: Settings
    database: Database
    desk: HelpDesk
    keys: KeyStore
    read_models: ReadModels
    idempotency: IdempotencyStore
    data_keys: DataKeys
    schema: Schema
    webhook_store: WebhookStore
    attachments: AttachmentStore  # files of comments, and of inbound mail (docs/attachments.md)
    users: UserStore  # who signs in to the web pages, and their sessions (docs/ui.md)
    worker: ProjectionWorker | None = None
    sla_watcher: SlaWatcher | None = None
    router: Router | None = None
    triggers: TriggerRunner | None = None
    automations: AutomationRunner | None = None
    webhooks: WebhookProcess | None = None
    schedules: ScheduleRunner | None = None
    notifier: NotificationProcess | NotifierOff | None = None
    log_signal: LogSignal | None = None
    replica_reads: ReplicaReads | None = None  # the read models on a streaming replica (read_database_url)
    store_files: StoreFiles = metadata_only  # where files of e-mail taken in go (build_services chooses)
    telemetry: Telemetry = field(default_factory=Telemetry)  # requests and commands counted (GET /metrics)
    suggester: Suggester | None = None  # suggestions on new tickets (docs/suggestions.md)
    suggestion_training: TrainingSchedule | None = None
    suggestion_models: Suggestions | None = None

    def issue_key(
        self,
        *,
        actor_id: str,
        role: Role,
        tenant: str,
        kind: ActorKind | None = None,
        organisation: str | None = None,
        groups: Collection[str] | None = None,
        by: Actor,
        via: str,
    ) -> IssuedKey:
        """Create an API key, and put its issue on record (never the secret)."""
        issued = self.keys.create(
            actor_id=actor_id, role=role, tenant=tenant, kind=kind, organisation=organisation, groups=groups
        )
        holder = issued.principal
        self.desk.record_key_issued(
            tenant=tenant,
            key_id=holder.key_id,
            holder_id=holder.actor.id,
            holder_kind=holder.actor.kind.value,
            role=role.value,
            by=by,
            via=via,
        )
        return issued

    def create_user(
        self,
        *,
        email: str,
        password: str,
        actor_id: str,
        role: Role,
        tenant: str,
        organisation: str | None = None,
        groups: Collection[str] | None = None,
        language: str | None = None,
        time_zone: str = "UTC",
        by: Actor,
        via: str,
    ) -> WebUser:
        """Create a web user, and put its creation on record as a key's issue is (never the password)."""
        user = self.users.create(
            email=email,
            password=password,
            actor_id=actor_id,
            role=role,
            tenant=tenant,
            organisation=organisation,
            groups=groups,
            language=language,
            time_zone=time_zone,
        )
        holder = user.principal.actor
        self.desk.record_user_created(
            tenant=tenant,
            user_id=user.user_id,
            holder_id=holder.id,
            holder_kind=holder.kind.value,
            role=role.value,
            by=by,
            via=via,
        )
        return user

    def deactivate_user(self, user_id: str, *, tenant: str, by: Actor, via: str) -> WebUser:
        """Stop a user of `tenant` signing in, end their sessions, and put it on record; NotFoundError otherwise."""
        user = self.users.get(user_id)
        if user is None or user.principal.tenant != tenant:
            msg = f"no user {user_id}"
            raise NotFoundError(msg)
        if self.users.deactivate(user_id):
            self.desk.record_user_deactivated(user_id=user_id, by=by, via=via)
        found = self.users.get(user_id)
        assert found is not None  # users are never deleted
        return found

    def set_user_access(
        self, user_id: str, *, tenant: str, role: Role, groups: Collection[str] | None, by: Actor, via: str
    ) -> WebUser:
        """Give an active user of `tenant` a new role and groups, on record; NotFoundError for another's user."""
        self._user_of(user_id, tenant)
        if self.users.set_access(user_id, role=role, groups=groups):
            changed = self._user_of(user_id, tenant).principal.actor.groups
            kept = None if changed is None else sorted(changed)
            self.desk.record_user_access_changed(user_id=user_id, role=role.value, groups=kept, by=by, via=via)
        return self._user_of(user_id, tenant)

    def reset_password(self, user_id: str, *, tenant: str, by: Actor, via: str) -> tuple[WebUser, str]:
        """Give an active user of `tenant` a new password made here, end their sessions, put it on record.

        The password comes back once, for the administrator to pass on; only its hash is kept.
        """
        user = self._user_of(user_id, tenant)
        if not user.active:
            msg = f"user {user_id} is deactivated"
            raise InvalidValueError(msg)
        password = secrets.token_urlsafe(15)  # 20 characters, 120 random bits
        self.users.set_password(user_id, password)
        self.desk.record_password_reset(user_id=user_id, by=by, via=via)
        return user, password

    def _user_of(self, user_id: str, tenant: str) -> WebUser:
        user = self.users.get(user_id)
        if user is None or user.principal.tenant != tenant:
            msg = f"no user {user_id}"
            raise NotFoundError(msg)
        return user

    def revoke_key(self, key_id: str, *, by: Actor, via: str) -> bool:
        """Revoke a key and put that on record; False if there is no such live key."""
        if not self.keys.revoke(key_id):
            return False
        self.desk.record_key_revoked(key_id=key_id, by=by, via=via)
        return True

    def rotate_key(self, key_id: str, *, by: Actor, via: str) -> IssuedKey | None:
        """Give a live key a new secret (the old one stops working) and put that on record; None if not live."""
        rotated = self.keys.rotate(key_id)
        if rotated is not None:
            self.desk.record_key_rotated(key_id=key_id, by=by, via=via)
        return rotated

    def migrate(self) -> tuple[int, int]:
        """Make or update every table, function and index, once, under the schema lock; (version before, after)."""
        versions = self.schema.migrate(self._schema_steps())
        self._schema_made()
        return versions

    def prepare_schema(self) -> None:
        """At start-up: run the schema step (LEDGERDESK_CREATE_TABLES on) or wait for another process's."""
        if self.settings.create_tables:
            self.migrate()
            return
        if self.database.backend is not Backend.MEMORY:
            self.schema.wait()
        self._schema_made()

    def _schema_steps(self) -> list[Step]:
        """Everything that creates tables, in one list.

        The events (eventsourcing's own, the hash chain and the append function), snapshots, the
        key stores, idempotency, the serving read-model generation.
        """
        if self.database.backend is Backend.MEMORY:
            return [
                self.read_models.create_tables,
                self.webhook_store.create_tables,
                self.outbox().create_table,
                self.users.create_tables,
                self.model_store().create_table,
            ]
        steps: list[Step] = [self.desk.recorder.create_table]  # type: ignore[attr-defined]  # SQL recorders have it
        if self.desk.snapshots is not None:
            steps.append(self.desk.snapshots.recorder.create_table)  # type: ignore[attr-defined]
        if isinstance(self.keys, SqlKeyStore | CachedKeyStore):
            steps.append(self.keys.create_table)
        if isinstance(self.data_keys, SqlDataKeys):
            steps.append(self.data_keys.create_table)
        return [
            *steps,
            self.idempotency.create_table,
            self.lease("triggers").create_table,
            self.webhook_store.create_tables,
            self.outbox().create_table,
            self.users.create_tables,
            self.read_models.create_tables,
            self.model_store().create_table,
        ]

    def _schema_made(self) -> None:
        if self.database.backend is Backend.POSTGRES:
            # The events' composite type may have been made after the recorder looked for it.
            self.desk.recorder.datastore.register_type_adapters()  # type: ignore[attr-defined]
        self.read_models.schema_ready()

    def eraser(self) -> Eraser:
        """What carries out erasures of personal data."""
        register = ErasureRegister(Path(self.settings.erasure_register)) if self.settings.erasure_register else None
        return Eraser(self.desk, self.read_models, self.data_keys, self.idempotency, register)

    def news(self) -> threading.Event:
        """An event set whenever the log may have grown, for one follower of it (infrastructure/log_signal.py)."""
        if self.log_signal is None:
            listen = None
            if self.database.backend is Backend.POSTGRES:
                datastore = self.desk.recorder.datastore  # type: ignore[attr-defined]
                # The LISTEN connection is outside the pool, and inside the process's budget.
                datastore.pool.reserve(1)
                listen = (self._listen_connection, self.desk.recorder.channel_name)  # type: ignore[attr-defined]
            self.log_signal = LogSignal(self.desk, listen=listen)
        return self.log_signal.subscribe()

    def start_projections(self) -> ProjectionWorker:
        """Run the projection worker in this process, in background threads."""
        if self.worker is None:
            self.worker = ProjectionWorker(
                self.desk, self.read_models, gather_seconds=self.settings.projection_gather_seconds, news=self.news()
            )
            self.worker.start()
        return self.worker

    def start_sla_watcher(self) -> SlaWatcher:
        """Run the SLA watcher in this process, in a background thread (several at once are safe)."""
        if self.sla_watcher is None:
            self.sla_watcher = SlaWatcher(
                self.desk,
                self.read_models,
                clock=self.desk.clock,
                interval_seconds=self.settings.sla_watch_interval_seconds,
            )
            self.sla_watcher.start()
        return self.sla_watcher

    def start_router(self) -> Router:
        """Run the router in this process, in a background thread (several at once are safe)."""
        if self.router is None:
            self.router = Router(
                self.desk, self.read_models, interval_seconds=self.settings.routing_interval_seconds, news=self.news()
            )
            self.router.start()
        return self.router

    def start_triggers(self) -> TriggerRunner:
        """Run the trigger runner in this process, in a thread (other runners stand by: infrastructure/leases.py)."""
        if self.triggers is None:
            self.triggers = TriggerRunner(self.desk, self.lease("triggers"), news=self.news())
            self.triggers.start()
        return self.triggers

    def start_automations(self) -> AutomationRunner:
        """Run the timed-rule runner in this process, in a background thread (several at once are safe)."""
        if self.automations is None:
            self.automations = AutomationRunner(
                self.desk, self.read_models, interval_seconds=self.settings.automation_interval_seconds
            )
            self.automations.start()
        return self.automations

    def start_webhooks(self) -> WebhookProcess:
        """Run the webhook process in this process: enqueue under a lease, send by claims (several at once are safe)."""
        if self.webhooks is None:
            settings = self.settings
            lease = self.lease("webhooks")
            enqueuer = Enqueuer(
                self.desk, self.read_models, self.webhook_store.deliveries, self.webhook_store.sql, lease
            )
            sender = Sender(
                self.desk,
                self.read_models,
                self.webhook_store,
                self.address_policy(),
                holder=lease.holder,
                backoff=Backoff(settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds),
                timeout=settings.webhook_timeout_seconds,
                max_attempts=settings.webhook_max_attempts,
                disable_after=settings.webhook_disable_after,
                concurrency=settings.webhook_concurrency,
            )
            self.webhooks = WebhookProcess(
                enqueuer, sender, poll_seconds=settings.webhook_poll_seconds, news=self.news()
            )
            self.webhooks.start()
        return self.webhooks

    def start_notifications(self) -> NotificationProcess | NotifierOff:
        """Run the notifier in this process (enqueue under a lease, send by claims); off without an SMTP URL."""
        if self.notifier is None:
            settings = self.settings
            if settings.smtp_url is None:
                log.warning("notifications are off: LEDGERDESK_SMTP_URL is not set")
                self.notifier = NotifierOff()
                return self.notifier
            server = smtp.SmtpServer.parse(settings.smtp_url.get_secret_value())
            lease = self.lease("notifications")
            domain = mail_domain(settings.mail_from)
            outbox = self.outbox()
            hold = settings.notify_timeout_seconds * 4 + 5  # how long a claim holds a row (sender.py)
            enqueuer = NotificationEnqueuer(
                self.desk, outbox, self.webhook_store.sql, lease, domain=domain, left_after_seconds=hold
            )
            sender = NotificationSender(
                self.desk,
                outbox,
                server,
                holder=lease.holder,
                mail_from=settings.mail_from,
                domain=domain,
                links=Links(settings.public_url, settings.rating_path),
                backoff=Backoff(settings.notify_retry_base_seconds, settings.notify_retry_max_seconds),
                timeout=settings.notify_timeout_seconds,
                max_attempts=settings.notify_max_attempts,
                concurrency=settings.notify_concurrency,
            )
            self.notifier = NotificationProcess(
                enqueuer, sender, poll_seconds=settings.notify_poll_seconds, news=self.news()
            )
            self.notifier.start()
        return self.notifier

    def outbox(self) -> Outbox:
        """The notifications table, beside the events (as the webhook tables)."""
        return Outbox(self.webhook_store.sql)

    def notification_templates(self) -> TemplateBook:
        """What admins' template commands go through: compiled in the sandbox first, then recorded."""
        return TemplateBook(self.desk)

    def address_policy(self) -> AddressPolicy:
        """Which addresses webhooks may reach (LEDGERDESK_WEBHOOK_ALLOWLIST)."""
        return AddressPolicy(networks(self.settings.webhook_allowlist))

    def webhook_admin(self) -> WebhookAdmin:
        """What admins' webhook commands go through: the registry, its secrets and deliveries."""
        return WebhookAdmin(
            self.desk,
            self.webhook_store,
            self.address_policy(),
            grace_seconds=self.settings.webhook_secret_grace_seconds,
        )

    def start_schedules(self) -> ScheduleRunner:
        """Run the schedule runner in this process, in a background thread (several at once are safe)."""
        if self.schedules is None:
            self.schedules = ScheduleRunner(
                self.desk,
                LibraryRecurrence(),
                interval_seconds=self.settings.schedule_interval_seconds,
                late_seconds=self.settings.schedule_late_seconds,
            )
            self.schedules.start()
        return self.schedules

    def mail_in(self) -> MailIn:
        """What takes e-mail in for the tenants' mailboxes (`ledgerdesk mail-in`, docs/email.md)."""
        return MailIn(self.desk, self.read_models, self.store_files, max_bytes=self.settings.mail_max_bytes)

    def model_store(self) -> ModelStore:
        """The suggestion models' versions, beside the events (docs/suggestions.md)."""
        return ModelStore(self.webhook_store.sql)

    def suggestions(self) -> Suggestions:
        """Predictions from each tenant's newest model, under the settings (one per process: it caches models)."""
        if self.suggestion_models is None:
            settings = self.settings
            self.suggestion_models = Suggestions(
                self.model_store(),
                enabled=settings.suggestions_enabled,
                off_tenants=_tenant_list(settings.suggestions_off_tenants),
                floor=settings.suggestion_confidence_floor,
                min_tickets=settings.suggestion_min_training_tickets,
                count_done=self.trainer().solved_count,
            )
        return self.suggestion_models

    def trainer(self) -> Trainer:
        """What trains the tenants' models, one process of all at a time (a long lease: training takes a while)."""
        settings = self.settings
        return Trainer(
            self.desk,
            self.read_models,
            self.model_store(),
            self.lease("suggestion-training", seconds=TRAINING_LEASE_SECONDS),
            min_tickets=settings.suggestion_min_training_tickets,
            off_tenants=_tenant_list(settings.suggestions_off_tenants),
        )

    def start_suggestions(self) -> Suggester | NothingRunning:
        """Record suggestions on new tickets in a thread, under a lease (off when suggestions are off)."""
        if not self.settings.suggestions_enabled:
            return NothingRunning()
        if self.suggester is None:
            self.suggester = Suggester(self.desk, self.suggestions(), self.lease("suggestions"), news=self.news())
            self.suggester.start()
        return self.suggester

    def start_suggestion_training(self) -> TrainingSchedule | NothingRunning:
        """Train the tenants' models on the schedule, in a thread (one host of all at a time)."""
        if not self.settings.suggestions_enabled:
            return NothingRunning()
        if self.suggestion_training is None:
            every = self.settings.suggestion_training_interval_seconds
            self.suggestion_training = TrainingSchedule(self.trainer(), every_seconds=every)
            self.suggestion_training.start()
        return self.suggestion_training

    def lease(self, name: str, seconds: float | None = None) -> Lease:
        """The lease of one kind of background work that one process at a time does, in log order."""
        if self.database.backend is Backend.MEMORY:
            return Lease(None, placeholder="?", table="", name=name)
        datastore = self.desk.recorder.datastore  # type: ignore[attr-defined]
        is_postgres = self.database.backend is Backend.POSTGRES
        return Lease(
            lambda: datastore.transaction(commit=True),
            placeholder="%s" if is_postgres else "?",
            table=f'"{datastore.schema}".ledgerdesk_leases' if is_postgres else "ledgerdesk_leases",
            name=name,
            seconds=self.settings.lease_seconds if seconds is None else seconds,
        )

    def _listen_connection(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            **self.database.connect_kwargs(),  # type: ignore[arg-type]
            autocommit=True,
            connect_timeout=self.settings.connect_timeout_seconds,
            application_name=application_name(),
        )

    def background(self) -> dict[str, Callable[[], Stoppable]]:
        """The background processes `ledgerdesk worker` runs, by name, each started by calling it."""
        return {
            "projections": self.start_projections,
            "sla-watcher": self.start_sla_watcher,
            "router": self.start_router,
            "triggers": self.start_triggers,
            "automations": self.start_automations,
            "schedules": self.start_schedules,
            "webhooks": self.start_webhooks,
            "notifications": self.start_notifications,
            "suggestions": self.start_suggestions,
            "suggestion-training": self.start_suggestion_training,
        }

    def projections_in_process(self) -> bool:
        """Whether API processes run the projection worker themselves (see Settings)."""
        configured = self.settings.projections_in_process
        return self.database.backend is not Backend.POSTGRES if configured is None else configured

    def close(self) -> None:
        """Stop the background processes, then release database connections."""
        if self.suggester is not None:
            self.suggester.stop()
            self.suggester = None
        if self.suggestion_training is not None:
            self.suggestion_training.stop()
            self.suggestion_training = None
        if self.notifier is not None:
            self.notifier.stop()
            self.notifier = None
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None
        if self.triggers is not None:
            self.triggers.stop()
            self.triggers = None
        if self.automations is not None:
            self.automations.stop()
            self.automations = None
        if self.schedules is not None:
            self.schedules.stop()
            self.schedules = None
        if self.router is not None:
            self.router.stop()
            self.router = None
        if self.sla_watcher is not None:
            self.sla_watcher.stop()
            self.sla_watcher = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.log_signal is not None:
            self.log_signal.stop()
            self.log_signal = None
        if self.replica_reads is not None:
            self.replica_reads.close()
        self.read_models.close()
        self.desk.close()


#: How long the training lease outlives a trainer that stopped renewing it (a tenant's training may take minutes).
TRAINING_LEASE_SECONDS = 1800.0


class NothingRunning:
    """A background process that is turned off: there is nothing to stop."""

    def stop(self) -> None:
        """Nothing runs."""


def _tenant_list(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def build_services(settings: Settings, *, clock: Clock = system_clock, prepare_schema: bool = True) -> Services:
    """Check the database, build the HelpDesk application and its stores, then make or wait for the schema.

    `prepare_schema=False` leaves the schema alone (for `ledgerdesk migrate`, which runs it itself).
    """
    register_moved_topics()  # before any stored event is read
    database = parse_database_url(settings.database_url)
    check_reachable(database, settings)
    desk = HelpDesk(env=eventsourcing_env(database, settings), clock=clock, recurrence=LibraryRecurrence())
    schema = Schema(database, getattr(desk.recorder, "datastore", None), wait_seconds=settings.schema_wait_seconds)
    data_keys = _data_keys(database, desk, settings)
    cast("PersonalDataMapper", desk.mapper).use_keys(data_keys)
    keys = _key_store(database, desk, settings)
    read_models = ReadModels(desk, database, settings, schema_lock=schema.locked)
    idempotency = _idempotency_store(database, desk, settings)
    attachments = _attachment_store(settings, data_keys)
    services = Services(
        webhook_store=WebhookStore.on(_webhook_sql(database, desk)),
        settings=settings,
        database=database,
        desk=desk,
        keys=keys,
        read_models=read_models,
        idempotency=idempotency,
        data_keys=data_keys,
        schema=schema,
        attachments=attachments,
        users=UserStore(_webhook_sql(database, desk)),  # beside the keys, on the same connections
        store_files=kept_in(attachments),  # files of e-mail taken in, kept as uploads are
    )
    desk.command_outcomes = services.telemetry
    try:
        if prepare_schema:
            services.prepare_schema()
        services.replica_reads = replica_reads(desk, database, settings)
    except BaseException:
        services.close()
        raise
    return services


def _attachment_store(settings: Settings, data_keys: DataKeys) -> AttachmentStore:
    blobs: BlobStore = FileBlobStore(Path(settings.blob_dir))
    if settings.blob_url:
        secret = settings.s3_secret_access_key
        blobs = S3BlobStore(
            settings.blob_url,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=None if secret is None else secret.get_secret_value(),
        )
    policy = AttachmentPolicy.parse(settings.attachment_max_bytes, settings.attachment_types)
    return AttachmentStore(blobs, data_keys, policy)


def _webhook_sql(database: Database, desk: HelpDesk) -> Sql:
    if database.backend is Backend.MEMORY:
        return memory_sql()
    datastore = desk.recorder.datastore  # type: ignore[attr-defined]
    is_postgres = database.backend is Backend.POSTGRES
    return Sql(
        lambda: datastore.transaction(commit=True),
        is_postgres=is_postgres,
        schema=datastore.schema if is_postgres else "",
    )


def _key_store(database: Database, desk: HelpDesk, settings: Settings) -> KeyStore:
    if database.backend is Backend.MEMORY:
        return MemoryKeyStore()
    datastore = desk.recorder.datastore  # type: ignore[attr-defined]  # SQL recorders all have one
    table = "ledgerdesk_api_keys"
    if database.backend is Backend.POSTGRES:
        table = f'"{datastore.schema}".{table}'
    store = SqlKeyStore(
        lambda: datastore.transaction(commit=True),
        placeholder="%s" if database.backend is Backend.POSTGRES else "?",
        table=table,
        read=_single_statement(database, datastore),
    )
    return store if settings.key_cache_seconds == 0 else CachedKeyStore(store, seconds=settings.key_cache_seconds)


def _single_statement(database: Database, datastore: Any) -> Callable[[], AbstractContextManager[Any]]:
    """A cursor for one read-only statement, as the read models take one (`Dialect.reading`)."""
    dialect = POSTGRES if database.backend is Backend.POSTGRES else SQLITE
    return lambda: dialect.reading(datastore)


def _data_keys(database: Database, desk: HelpDesk, settings: Settings) -> DataKeys:
    if database.backend is Backend.MEMORY:
        return MemoryDataKeys()
    datastore = desk.recorder.datastore  # type: ignore[attr-defined]
    is_postgres = database.backend is Backend.POSTGRES
    table = f'"{datastore.schema}".ledgerdesk_person_keys' if is_postgres else "ledgerdesk_person_keys"

    def vacuum() -> None:
        with datastore.get_connection() as connection:  # autocommit, as VACUUM needs
            connection.execute(f"VACUUM {table}")

    def checkpoint() -> None:
        # The page that held the key still sits in SQLite's write-ahead log: empty it (docs/privacy.md).
        with datastore.get_connection(commit=True) as connection, connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # autocommit: outside any transaction

    return SqlDataKeys(
        lambda: datastore.transaction(commit=True),
        placeholder="%s" if is_postgres else "?",
        table=table,
        is_postgres=is_postgres,
        ttl_seconds=settings.privacy_key_cache_seconds,
        reclaim=vacuum if is_postgres else checkpoint,
        read=_single_statement(database, datastore),
    )


def _idempotency_store(database: Database, desk: HelpDesk, settings: Settings) -> IdempotencyStore:
    ttl = timedelta(seconds=settings.idempotency_ttl_seconds)
    lease = timedelta(seconds=settings.idempotency_lease_seconds)
    if database.backend is Backend.MEMORY:
        return IdempotencyStore(None, placeholder="?", table="", ttl=ttl, lease=lease, is_postgres=False)
    datastore = desk.recorder.datastore  # type: ignore[attr-defined]
    is_postgres = database.backend is Backend.POSTGRES
    # In the events' database, so the event recorders can note a key's outcome in their own transaction.
    table = "ledgerdesk_idempotency_keys"
    return IdempotencyStore(
        lambda: datastore.transaction(commit=True),
        placeholder="%s" if is_postgres else "?",
        table=f'"{datastore.schema}".{table}' if is_postgres else table,
        ttl=ttl,
        lease=lease,
        is_postgres=is_postgres,
    )
