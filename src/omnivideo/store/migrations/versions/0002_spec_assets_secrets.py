"""task spec and endpoint, worker heartbeats, assets and shared secrets

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("endpoint", sa.String(length=32), nullable=False, server_default="omni-video")
        )
        batch.add_column(sa.Column("spec", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("queue", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("worker", sa.String(length=120), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("heartbeat_at", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_index("ix_tasks_account_status", "tasks", ["account_id", "status"])
    op.create_index(
        "ix_tasks_account_endpoint_created", "tasks", ["account_id", "endpoint", "created_at"]
    )
    op.create_table(
        "assets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_assets_account_created", "assets", ["account_id", "created_at"])
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
    op.drop_index("ix_assets_account_created", table_name="assets")
    op.drop_table("assets")
    op.drop_index("ix_tasks_account_endpoint_created", table_name="tasks")
    op.drop_index("ix_tasks_account_status", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        for column in ("heartbeat_at", "worker", "queue", "spec", "endpoint"):
            batch.drop_column(column)
