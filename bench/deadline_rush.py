"""Benchmark of the deadline rush: many companies depositing at the same moment, on PostgreSQL.

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/marches_bench \\
    [REDIS_URL=redis://127.0.0.1:6379/5] \\
        .venv/bin/python bench/deadline_rush.py [--deposits 200] [--mib 5] [--window 30] [--workers 4]

Use a throwaway database: the bench migrates it and adds a buyer, a consultation and
``--deposits`` companies (bench/live_platform.py setup). Files go to a throwaway DATA_DIR
under ``--dir``. gunicorn runs ``--workers`` sync workers on 127.0.0.1; with REDIS_URL, a
Celery worker started by the bench seals the deposits (as in production), else they are
sealed inside the finalising request, after its commit (the embedded default, eager).

Every company's software works in its own thread with its own token. First, all released
at once, each starts its deposit through the API and sends a ``--mib`` MiB PDF to the tus
endpoint. Then the consultation's deadline is set ``--window`` seconds ahead on the
platform's clock (the database's), and all, released at once again, validate. With
``--together``, the deadline is set first and each sends and validates in one go, all
under it. Prints: errors (any answer but the expected one, or a broken connection: target
0), lost deposits (validated with a 200 but not recorded as received: target 0), how many
were on time and late, the finalisation latency (median, p99, max: the time of the
« valider » request), whether all were received within the window, and, once the sealing
has drained (the Celery worker, or the in-request sealing, then the sweep for what is
left), that every received deposit has its seal. Figures are printed, never asserted.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_platform import CELERY, MIB, ROOT, Api, Gunicorn, offer_envelope, platform_env, run_step  # noqa: E402


class Outcome:
    def __init__(self):
        self.error = ""
        self.deposit = None
        self.status = ""
        self.finalise_seconds = None
        self.done_at = None


def send(base_url: str, token: str, consultation: int, content: bytes, gate, outcome: Outcome) -> None:
    """Start the deposit and send its file."""
    api = Api(base_url, token, timeout=300)
    try:
        gate.wait()
        status, started = api.json("POST", f"/api/consultations/{consultation}/depots/")
        if status not in (200, 201):
            outcome.error = f"start {status}: {started.get('detail', started)}"
            return
        outcome.deposit = started["id"]
        path = api.tus_create(
            deposit=started["id"], envelope=offer_envelope(started), name="offre.pdf", size=len(content)
        )
        offset, chunk = 0, 8 * MIB
        while offset < len(content):
            offset = api.tus_patch(path, offset, memoryview(content)[offset : offset + chunk])
    except Exception as error:  # noqa: BLE001 — every failure is counted and shown
        outcome.error = f"{type(error).__name__}: {error}"
    finally:
        api.close()


def validate(base_url: str, token: str, gate, outcome: Outcome) -> None:
    """« Valider » the deposit sent."""
    api = Api(base_url, token, timeout=300)
    try:
        gate.wait()
        if outcome.error or outcome.deposit is None:
            return
        start = time.perf_counter()
        status, received = api.json(
            "POST", f"/api/depots/{outcome.deposit}/valider/", {"conditions_accepted": True}
        )
        outcome.finalise_seconds = time.perf_counter() - start
        outcome.done_at = time.monotonic()
        if status != 200:
            outcome.error = f"valider {status}: {received.get('detail', received)}"
            return
        outcome.status = received["status"]
    except Exception as error:  # noqa: BLE001 — every failure is counted and shown
        outcome.error = f"{type(error).__name__}: {error}"
    finally:
        api.close()


class _Open:
    def wait(self) -> None:
        pass


def send_and_validate(
    base_url: str, token: str, consultation: int, content: bytes, gate, outcome: Outcome
) -> None:
    send(base_url, token, consultation, content, gate, outcome)
    validate(base_url, token, _Open(), outcome)


def at_once(target, argument_lists: list[tuple]) -> float:
    """Run ``target`` in one thread per argument list, all released together (the gate goes
    before the last argument); returns the moment of the release."""
    gate = threading.Barrier(len(argument_lists) + 1)
    threads = [threading.Thread(target=target, args=(*args[:-1], gate, args[-1])) for args in argument_lists]
    for thread in threads:
        thread.start()
    gate.wait()
    released = time.monotonic()
    for thread in threads:
        thread.join()
    return released


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def drain(env: dict, consultation: int, finalised: int, timeout: float) -> dict:
    """Wait until every received deposit is sealed, or the timeout; returns the last report."""
    deadline = time.monotonic() + timeout
    while True:
        report = run_step(env, "report", "--consultation", str(consultation))
        if report["sealed"] >= finalised or time.monotonic() > deadline:
            return report
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--deposits", type=int, default=200, help="companies depositing at once (default 200)"
    )
    parser.add_argument("--mib", type=float, default=5, help="size of each deposit, in MiB (default 5)")
    parser.add_argument("--window", type=float, default=30, help="seconds until the deadline (default 30)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument(
        "--together", action="store_true", help="send and validate in one go, all under the deadline"
    )
    parser.add_argument("--drain-timeout", type=float, default=600, help="seconds to wait for the seals")
    parser.add_argument("--dir", default="var/bench", help="where to write (default var/bench)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway folder (logs)")
    options = parser.parse_args()
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "deadline_rush needs PostgreSQL: DATABASE_URL=postgres://…/a_throwaway_database "
            "(the database's clock judges the deadline, and the workers write at the same time)"
        )
    Path(options.dir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="deadline-rush-", dir=options.dir))
    env = platform_env(folder / "data")
    celery = None
    server = None
    print(
        f"{os.cpu_count()} CPU(s), database {database.split('@')[-1]}, gunicorn × {options.workers}, "
        f"sealing: {'Celery worker (REDIS_URL)' if os.environ.get('REDIS_URL') else 'in the request (eager)'}"
    )
    try:
        setup = run_step(env, "setup", "--companies", str(options.deposits))
        consultation, tokens = setup["consultation"], setup["tokens"]
        size = int(options.mib * MIB)
        content = b"%PDF-1.7\n" + os.urandom(size - 9)
        server = Gunicorn(env, workers=options.workers, log=folder / "gunicorn.log")
        if os.environ.get("REDIS_URL"):
            celery = subprocess.Popen(
                [str(CELERY), "-A", "config", "worker", "--loglevel", "WARNING", "--concurrency", "2"],
                env=env,
                cwd=ROOT,
                stdout=(folder / "celery.log").open("ab"),
                stderr=subprocess.STDOUT,
            )
        outcomes = [Outcome() for _ in tokens]
        pairs = list(zip(tokens, outcomes, strict=True))
        sending = None
        if options.together:
            # Each company sends its file and validates in one go, all under the deadline.
            deadline = run_step(
                env, "deadline", "--consultation", str(consultation), "--seconds", str(options.window)
            )
            launched = at_once(
                send_and_validate, [(server.url, t, consultation, content, o) for t, o in pairs]
            )
        else:
            # The files first, all at once; then, the deadline set, every « valider » at once.
            started = at_once(send, [(server.url, t, consultation, content, o) for t, o in pairs])
            sending = time.monotonic() - started
            deadline = run_step(
                env, "deadline", "--consultation", str(consultation), "--seconds", str(options.window)
            )
            launched = at_once(validate, [(server.url, t, o) for t, o in pairs])
        elapsed = time.monotonic() - launched

        errors = [o.error for o in outcomes if o.error]
        received = [o for o in outcomes if o.status]
        latencies = [o.finalise_seconds for o in received]
        last = max((o.done_at for o in received), default=launched) - launched
        report = drain(env, consultation, len(received), options.drain_timeout)
        leftover = report["finalised"] - report["sealed"]
        swept = run_step(env, "report", "--consultation", str(consultation), "--seal") if leftover else report

        lost = len(received) - report["finalised"]
        by_status = {s: sum(1 for o in received if o.status == s) for s in ("on_time", "late")}
        print(f"\n{options.deposits} deposits of {options.mib:g} MiB, deadline {deadline['deadline']}")
        if sending is not None:
            print(
                f"sending the {options.deposits} files at once: {sending:.1f} s (before the deadline was set)"
            )
        print(f"errors: {len(errors)}")
        for error in sorted(set(errors))[:10]:
            print(f"  {errors.count(error)} × {error}")
        print(f"lost: {lost} (validated {len(received)}, recorded as received {report['finalised']})")
        print(
            f"on time: {by_status['on_time']}, late: {by_status['late']}; "
            f"in the database: {report['by_status']}"
        )
        if latencies:
            print(
                f"finalisation latency: median {statistics.median(latencies):.2f} s, "
                f"p99 {percentile(latencies, 0.99):.2f} s, max {max(latencies):.2f} s"
            )
        in_window = "yes" if last <= options.window and not errors else "NO"
        print(
            f"all received within {options.window:g} s: {in_window} "
            f"(last validation {last:.1f} s after the release; all threads done after {elapsed:.1f} s)"
        )
        print(
            f"sealed once drained: {report['sealed']} of {report['finalised']}"
            + (f"; after the sweep: {swept['sealed']} of {swept['finalised']}" if leftover else "")
        )
    finally:
        if celery is not None:
            celery.terminate()
            celery.wait(timeout=60)
        if server is not None:
            server.stop()
        if options.keep:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
