"""SQLAlchemy tables. Rows never leave the store: the repository turns them into domain objects.

Core tables, not ORM classes: the store runs Core statements only, and a process that never
imports SQLAlchemy's ORM starts faster. ``default=`` values are Python-side: an INSERT that
leaves such a column out gets them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ACCOUNTS = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    # signs callback deliveries (Standard Webhooks, `whsec_...`)
    Column("webhook_secret", String(80), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # the account's unfinished tasks and the resource packs it was ever granted, kept by
    # triggers on those tables (migration 0006): a create reads them, counts nothing
    Column("active_tasks", Integer, nullable=False, server_default="0"),
    Column("pack_count", Integer, nullable=False, server_default="0"),
)

# Credentials of an account: a Kling access/secret key pair and a plain bearer API key.
API_KEYS = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("access_key", String(64), nullable=False, unique=True),
    # kept in clear: HS256 verification needs it, exactly as Kling does
    Column("secret_key", String(128), nullable=False),
    # sha256 of the bearer API key; the key itself is shown once
    Column("api_key_hash", String(64), nullable=False, unique=True),
    Column("api_key_prefix", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

TASKS = Table(
    "tasks",
    metadata,
    Column("task_id", String(24), primary_key=True),
    # a second, shorter numeric id for faces whose clients read ids as JSON numbers (useapi):
    # 18 digits do not survive JavaScript's doubles
    Column("number", BigInteger, nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("external_task_id", String(64), nullable=True),
    # the useapi account (email) a task was created under; it has its own concurrency limit
    Column("channel", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_msg", Text, nullable=False, default=""),
    Column("request", JSON, nullable=False),
    # the Kling endpoint that created the task (omni-video, text2video, ...): listed there
    Column("endpoint", String(32), nullable=False, default="omni-video"),
    # the TaskSpec planned at submit (omnivideo.contract.spec), versioned
    Column("spec", JSON, nullable=True),
    Column("options", JSON, nullable=False, default=dict),
    Column("videos", JSON, nullable=False, default=list),
    Column("final_unit_deduction", String(16), nullable=False, default="0"),
    Column("progress", Float, nullable=False, default=0.0),
    Column("error_code", Integer, nullable=True),
    Column("callback_url", Text, nullable=True),
    # how often a worker started this task; bounded so a crashing task cannot loop forever
    Column("attempts", Integer, nullable=False, default=0),
    # a task in `submitted` is not started before this time (ms), for simulated queueing
    Column("not_before", BigInteger, nullable=False, default=0),
    # the queue (engine and model) whose workers render the task
    Column("queue", String(100), nullable=False, default=""),
    # the worker rendering the task and when it last said it is alive (ms): a task whose
    # worker went silent is taken over by another worker
    Column("worker", String(120), nullable=False, default=""),
    Column("heartbeat_at", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "external_task_id", name="uq_tasks_account_external"),
    Index("ix_tasks_account_created", "account_id", "created_at"),
    Index("ix_tasks_status", "status"),
    # The per-account limit counts active tasks on every create: an index on
    # (account, status) keeps that count independent of the account's history.
    Index("ix_tasks_account_status", "account_id", "status"),
    Index("ix_tasks_account_endpoint_created", "account_id", "endpoint", "created_at"),
)

# A useapi-style account (an email) of an omnivideo account, with its own `maxJobs`.
CHANNELS = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("email", String(200), nullable=False),
    Column("max_jobs", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "email", name="uq_channels_account_email"),
)

# The callback outbox: one row per status change to deliver, in `seq` order per task.
CALLBACKS = Table(
    "callbacks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(24), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    # pending | delivered | dead
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Index("ix_callbacks_pending", "state", "next_attempt_at"),
    Index("ix_callbacks_task_seq", "task_id", "seq"),
)

# An element of the element library; `account_id` is NULL for operator presets.
ELEMENTS = Table(
    "elements",
    metadata,
    Column("element_id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(32), nullable=True, index=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    # image_refer | video_refer
    Column("reference_type", String(16), nullable=False, default="image_refer"),
    # stored paths (relative to the data dir) and the URLs the user gave
    Column("frontal_image", Text, nullable=False),
    Column("refer_images", JSON, nullable=False, default=list),
    Column("source", JSON, nullable=False, default=dict),
    Column("tag_list", JSON, nullable=False, default=list),
    # the creation task of the advanced element API (18 digits), and the caller's own id
    Column("task_id", String(24), nullable=True, unique=True),
    Column("external_task_id", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger, nullable=True),
)

# An upload (useapi's `POST /assets`); the bytes live in the blob store under `key`.
ASSETS = Table(
    "assets",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("file_name", String(120), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("width", Integer, nullable=False, default=0),
    Column("height", Integer, nullable=False, default=0),
    Column("duration_ms", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_assets_account_created", "account_id", "created_at"),
)

# Secrets every replica must share (the URL-signing key), created once.
SERVER_SECRETS = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

# A pre-paid pack of Kling units for one account; an account without packs is unlimited.
# Units are kept in thousandths (integers), so deductions such as 4.5 add up exactly.
RESOURCE_PACKS = Table(
    "resource_packs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("total_milli", BigInteger, nullable=False),
    Column("used_milli", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
)

# A create made with an ``Idempotency-Key`` (one per account and key).
IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(32), ForeignKey("accounts.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    # a task id, or ``element:<id>`` for an element
    Column("result_id", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False, index=True),
)
