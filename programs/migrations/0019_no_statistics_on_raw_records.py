"""PostgreSQL: no planner statistics on the columns no query filters or sorts on.

A large sync ends with `VACUUM (ANALYZE)` of the tables it wrote (`programs.table_upkeep`).
Most of ANALYZE's time went to the raw provider records (jsonb, compared value by value to
find the common ones) and to the digests (all distinct): about two thirds of it on 40,000
enrollments. The planner never needs them: rows are found by their keys, and these columns
are only read or compared row by row. SQLite keeps no such statistics per column.
"""

from django.db import migrations

COLUMNS = {
    "programs_enrollment": ("raw", "fingerprint", "raw_digest"),
    "programs_unmatchedrecord": ("raw", "fingerprint"),
    "programs_invalidrecord": ("raw",),
}


def statistics_set(target):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        for table, columns in COLUMNS.items():
            changes = ", ".join(f"ALTER COLUMN {quote(column)} SET STATISTICS {target}" for column in columns)
            schema_editor.execute(f"ALTER TABLE {quote(table)} {changes}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("programs", "0018_enrollment_raw_digest"),
    ]

    # -1: the server's default_statistics_target again.
    operations = [migrations.RunPython(statistics_set(0), statistics_set(-1))]
