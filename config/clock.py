"""The platform's one clock.

On PostgreSQL it is the database's own time, so no web node's or worker's clock
decides a deadline; elsewhere (the embedded SQLite default) the process clock.
Code reads it as ``clock.now()`` (module attribute, never imported by name), so
tests can replace it with a controlled clock.
"""

from datetime import datetime

from django.db import connection
from django.utils import timezone


def now() -> datetime:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()
