"""Keeping the database's planner informed after a large write.

Autovacuum and autoanalyze may be off (a freshly loaded database, some managed setups) or
may not have caught up after a large sync: the planner then works from stale statistics,
and on PostgreSQL an empty visibility map keeps index-only scans (which the progress
engine's counts use) from paying off. So the writer does what they would have done, once,
when it has written enough rows to matter."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.db.models import Model

logger = logging.getLogger(__name__)

# Fewer rows than this move no statistic that matters; the routine pays for itself above.
LARGE_WRITE_ROWS = 10_000


def tables_upkeep(*models: type[Model], rows_written: int) -> bool:
    """After `rows_written` rows went into the tables of `models`: `VACUUM (ANALYZE)` on
    PostgreSQL, `ANALYZE` on SQLite. Returns whether it ran: not below LARGE_WRITE_ROWS,
    and not inside a transaction (VACUUM cannot run in one; the caller's work is not
    committed yet either). It never raises: statistics are an optimization, the written
    rows are already safe."""
    if rows_written < LARGE_WRITE_ROWS or connection.in_atomic_block:
        return False
    tables = [connection.ops.quote_name(model._meta.db_table) for model in models]
    command = "VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE"
    try:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"{command} {table}")
    except DatabaseError:
        logger.warning("%s after a large write failed; the planner keeps its old statistics", command, exc_info=True)
        return False
    return True
