"""A real Celery worker, started as its own process, takes a task from the Redis broker."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from config.celery import app, ping

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL")


@pytest.fixture
def worker_queue():
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "REDIS_URL": REDIS_URL}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL non défini : pas de broker Redis pour un vrai worker")
def test_a_real_worker_executes_a_task_sent_through_redis(worker_queue):
    app.conf.task_always_eager = False  # the autouse fixture puts it back
    result = ping.apply_async(queue=worker_queue)
    assert result.get(timeout=60) == "pong"
    assert result.successful()
