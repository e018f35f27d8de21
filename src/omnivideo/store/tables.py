"""SQLAlchemy tables. Rows never leave the store: the repository turns them into domain objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: signs callback deliveries (Standard Webhooks, `whsec_...`)
    webhook_secret: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[int] = mapped_column(BigInteger)
    #: the account's unfinished tasks and the resource packs it was ever granted, kept by
    #: triggers on those tables (migration 0006): a create reads them, counts nothing
    active_tasks: Mapped[int] = mapped_column(Integer, server_default="0")
    pack_count: Mapped[int] = mapped_column(Integer, server_default="0")


class KeyRow(Base):
    """Credentials of an account: a Kling access/secret key pair and a plain bearer API key."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    access_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: kept in clear: HS256 verification needs it, exactly as Kling does
    secret_key: Mapped[str] = mapped_column(String(128))
    #: sha256 of the bearer API key; the key itself is shown once
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("account_id", "external_task_id", name="uq_tasks_account_external"),
        Index("ix_tasks_account_created", "account_id", "created_at"),
        Index("ix_tasks_status", "status"),
        # The per-account limit counts active tasks on every create: an index on
        # (account, status) keeps that count independent of the account's history.
        Index("ix_tasks_account_status", "account_id", "status"),
        Index("ix_tasks_account_endpoint_created", "account_id", "endpoint", "created_at"),
    )

    task_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    #: a second, shorter numeric id for faces whose clients read ids as JSON numbers (useapi):
    #: 18 digits do not survive JavaScript's doubles
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    external_task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: the useapi account (email) a task was created under; it has its own concurrency limit
    channel: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    status_msg: Mapped[str] = mapped_column(Text, default="")
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the Kling endpoint that created the task (omni-video, text2video, ...): listed there
    endpoint: Mapped[str] = mapped_column(String(32), default="omni-video")
    #: the TaskSpec planned at submit (omnivideo.contract.spec), versioned
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    videos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    final_unit_deduction: Mapped[str] = mapped_column(String(16), default="0")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: how often a worker started this task; bounded so a crashing task cannot loop forever
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: a task in `submitted` is not started before this time (ms), for simulated queueing
    not_before: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the queue (engine and model) whose workers render the task
    queue: Mapped[str] = mapped_column(String(100), default="")
    #: the worker rendering the task and when it last said it is alive (ms): a task whose
    #: worker went silent is taken over by another worker
    worker: Mapped[str] = mapped_column(String(120), default="")
    heartbeat_at: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ChannelRow(Base):
    """A useapi-style account (an email) of an omnivideo account, with its own `maxJobs`."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("account_id", "email", name="uq_channels_account_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str] = mapped_column(String(200))
    max_jobs: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class CallbackRow(Base):
    """The callback outbox: one row per status change to deliver, in `seq` order per task."""

    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_pending", "state", "next_attempt_at"),
        Index("ix_callbacks_task_seq", "task_id", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(24))
    seq: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: pending | delivered | dead
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    delivered_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ElementRow(Base):
    """An element of the element library; `account_id` is NULL for operator presets."""

    __tablename__ = "elements"

    element_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: image_refer | video_refer
    reference_type: Mapped[str] = mapped_column(String(16), default="image_refer")
    #: stored paths (relative to the data dir) and the URLs the user gave
    frontal_image: Mapped[str] = mapped_column(Text)
    refer_images: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tag_list: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: the creation task of the advanced element API (18 digits), and the caller's own id
    task_id: Mapped[str | None] = mapped_column(String(24), nullable=True, unique=True)
    external_task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AssetRow(Base):
    """An upload (useapi's `POST /assets`); the bytes live in the blob store under `key`."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_account_created", "account_id", "created_at"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)


class SecretRow(Base):
    """Secrets every replica must share (the URL-signing key), created once."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class ResourcePackRow(Base):
    """A pre-paid pack of Kling units for one account; an account without packs is unlimited.

    Units are kept in thousandths (integers), so deductions such as 4.5 add up exactly.
    """

    __tablename__ = "resource_packs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    total_milli: Mapped[int] = mapped_column(BigInteger)
    used_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class IdempotencyRow(Base):
    """A create made with an ``Idempotency-Key`` (one per account and key)."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    #: a task id, or ``element:<id>`` for an element
    result_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, index=True)
