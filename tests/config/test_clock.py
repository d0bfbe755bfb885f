"""The platform's one clock is the database's on PostgreSQL, so no web node's clock decides."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config import clock


@pytest.mark.django_db
def test_on_postgresql_the_time_comes_from_the_database(django_assert_num_queries):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the embedded SQLite default reads the process clock")
    with django_assert_num_queries(1) as captured:
        moment = clock.now()
    assert "statement_timestamp()" in captured.captured_queries[0]["sql"]
    assert moment.tzinfo is not None and abs(moment - timezone.now()) < timedelta(minutes=1)


@pytest.mark.django_db
def test_on_sqlite_the_process_clock_serves(django_assert_num_queries):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with django_assert_num_queries(0):
        moment = clock.now()
    assert moment.tzinfo is not None and abs(moment - timezone.now()) < timedelta(seconds=5)
