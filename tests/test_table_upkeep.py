"""After a large write the writer refreshes the planner's view of the tables it touched
(autovacuum may be off): VACUUM (ANALYZE) on PostgreSQL, never inside a transaction."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection, transaction

from programs.models import Enrollment
from programs.table_upkeep import LARGE_WRITE_ROWS, tables_upkeep
from tests.factories import EnrollmentFactory


def vacuums_and_analyzes() -> tuple[int, int]:
    """How many times the enrollments table was vacuumed and analyzed by hand."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT vacuum_count, analyze_count FROM pg_stat_user_tables WHERE relname = %s",
            [Enrollment._meta.db_table],
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_a_large_write_vacuums_and_analyzes_the_table_a_small_one_or_an_open_transaction_does_not():
    if connection.vendor != "postgresql":
        pytest.skip("checks PostgreSQL's statistics views")
    vacuums, analyzes = vacuums_and_analyzes()
    assert tables_upkeep(Enrollment, rows_written=LARGE_WRITE_ROWS - 1) is False
    with transaction.atomic():
        assert tables_upkeep(Enrollment, rows_written=LARGE_WRITE_ROWS) is False
    assert vacuums_and_analyzes() == (vacuums, analyzes)

    assert tables_upkeep(Enrollment, rows_written=LARGE_WRITE_ROWS) is True
    assert vacuums_and_analyzes() == (vacuums + 1, analyzes + 1)


def analyzed_columns() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = %s", [Enrollment._meta.db_table])
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_after_migration_0019_analyze_skips_the_raw_records_and_digests_and_keeps_the_keys():
    if connection.vendor != "postgresql":
        pytest.skip("checks PostgreSQL's statistics views")
    # The test database is made from the models (--nomigrations): the migration is applied here.
    migration = importlib.import_module("programs.migrations.0019_no_statistics_on_raw_records")
    EnrollmentFactory.create_batch(3)
    try:
        with connection.schema_editor() as editor:
            migration.statistics_set(0)(None, editor)
        assert tables_upkeep(Enrollment, rows_written=LARGE_WRITE_ROWS) is True
        assert {"learner_key", "course_id", "employee_id", "connection_id", "completed_at"} <= analyzed_columns()
        assert analyzed_columns().isdisjoint({"raw", "fingerprint", "raw_digest"})
    finally:
        with connection.schema_editor() as editor:
            migration.statistics_set(-1)(None, editor)

    assert tables_upkeep(Enrollment, rows_written=LARGE_WRITE_ROWS) is True  # reversed: all columns again
    assert {"raw", "fingerprint", "raw_digest"} <= analyzed_columns()
