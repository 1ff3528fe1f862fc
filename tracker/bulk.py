"""Bulk inserts for the operations' batch functions: COPY on PostgreSQL, executemany elsewhere.

Only operations modules call these (imports, integrations and the demo reach them through the
operations). Rows go in inside the session's open transaction, so the unit of work commits
them with everything else or rolls them back.
"""
from __future__ import annotations

import sqlalchemy as sa

from tracker.extensions import db

BATCH = 10_000


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def insert(table: sa.Table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``; flush first so the ORM's rows come before."""
    if not rows:
        return
    db.session.flush()
    if is_postgresql():
        copy(table, rows)
        return
    for i in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(table), rows[i:i + BATCH])


def copy(table: sa.Table, rows: list[dict]) -> None:
    """PostgreSQL: COPY the rows in, on the session's connection (so inside its transaction).

    psycopg's executemany sends a statement per row, and SQLAlchemy's multi-row INSERTs spend
    most of their time in psycopg parsing the long statement; COPY is ten times faster than either.
    """
    from psycopg import sql

    columns = list(rows[0])
    enums = {c.name: c.type for c in table.columns if isinstance(c.type, sa.Enum) and c.name in columns}
    for name, enum_type in enums.items():  # what the INSERT's CHECK would refuse, refused here too
        allowed = set(enum_type.enums)
        bad = {_text(r[name]) for r in rows if r[name] is not None and _text(r[name]) not in allowed}
        if bad:
            raise ValueError(f"{table.name}.{name}: not one of {sorted(allowed)}: {sorted(bad)}")
    raw = db.session.connection().connection.driver_connection
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with raw.cursor() as cur, cur.copy(statement) as out:
        for row in rows:
            out.write_row([_text(row[c]) if c in enums else row[c] for c in columns])


def _text(value):
    return getattr(value, "value", value)
