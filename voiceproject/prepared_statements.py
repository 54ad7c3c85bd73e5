"""Statements that PostgreSQL parses and plans once per connection, for the hot paths.

Django binds parameters on the client (psycopg's ClientCursor): every execution sends the
statement's full text, which PostgreSQL parses and plans again. For a Twilio callback's
upsert, a few kilobytes of SQL that writes one row, that costs as much as the write itself.
A PreparedStatement is written once with PostgreSQL's own typed placeholders ($1::type) and
runs through psycopg's RawCursor, which sends it unchanged and prepares it on its first run
on each connection (settings.DATABASES: `prepare_threshold` 0; Django's own cursors bind on
the client and never prepare). Later runs send only the parameters.

Runs through Django's cursor wrapper, so errors are Django's (OperationalError, ...), and
DEBUG's query log and the tests' query counts see it.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from psycopg import RawCursor

# A named placeholder as Django's and psycopg's client-side cursors write it.
_NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class PreparedStatement:
    sql: str  # with $1::type ... placeholders
    names: tuple[str, ...]  # the parameter's name for each $n

    @classmethod
    def from_named(cls, statement: str, type_of: Callable[[str], str]) -> "PreparedStatement":
        """The statement written with %(name)s placeholders, each parameter cast to
        `type_of(name)`: PostgreSQL must know every type when it prepares, NULLs included."""
        names: list[str] = []

        def placeholder(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}::{type_of(name)}"

        return cls(sql=_NAMED_PLACEHOLDER.sub(placeholder, statement), names=tuple(names))

    def execute(self, parameters: Mapping[str, Any]) -> None:
        """Run on the default connection (PostgreSQL)."""
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
        with wrapper(RawCursor(connection.connection), connection) as cursor:
            cursor.execute(self.sql, [parameters[name] for name in self.names])


def cast_type(database_type: str) -> str:
    """The type to cast a parameter to for a column of `database_type`: without a length,
    since a cast to varchar(n) would cut a longer value where the column refuses it."""
    return "text" if database_type.startswith("varchar") else database_type
