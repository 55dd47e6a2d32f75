"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "utc", "utcnow"]


def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime; naive values are taken to be UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A UTC instant stored naive (SQLite and MariaDB have no time zones),
    with microseconds on MariaDB too (its DATETIME drops them by default),
    and returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return utc(value).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite text from a raw SQL expression
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)
