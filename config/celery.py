"""The Celery application: tasks of every app are found by autodiscovery.

Periodic tasks live in ``CELERY_BEAT_SCHEDULE`` in the settings, nowhere else.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.ping")
def ping() -> str:
    """Answer from a worker: used by health checks and by the worker test."""
    return "pong"
