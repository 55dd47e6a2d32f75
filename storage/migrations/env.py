"""Alembic environment: the store hands over an open connection (no alembic.ini at run time).

For ``alembic revision --autogenerate`` during development, run
``python -m storage.migrate revision -m "..."`` (see ``storage/migrate.py``).
"""
from __future__ import annotations

from alembic import context

from storage.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("storage migrations run through storage.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
