"""What the deposit benches share: a throwaway platform served by gunicorn on loopback.

    python bench/live_platform.py setup --companies N          (prints one JSON line)
    python bench/live_platform.py deadline --consultation ID --seconds S
    python bench/live_platform.py report --consultation ID [--seal]

The sub-commands run in their own process with the bench's environment (DATA_DIR,
DATABASE_URL…), so that the benches themselves load no Django and measure only HTTP:
``setup`` migrates the database, then makes a buyer, an online consultation with an
opening key (tests/factories.py, a dev dependency), and N companies each with one user and
a personal API token (accounts/api_tokens.py); ``deadline`` moves the consultation's
deadline to S seconds from the platform's clock; ``report`` counts the deposits and seals,
after sealing what is left through the sweep when ``--seal`` is given.

The rest are helpers for the benches: gunicorn started and stopped (only the process this
module started), the worker's peak resident memory from /proc, a small JSON/tus client on
``http.client``.
"""

import argparse
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CELERY = ROOT / ".venv" / "bin" / "celery"
MIB = 1024 * 1024


# --- Processes -----------------------------------------------------------------------------


def platform_env(data_dir: Path, **extra: str) -> dict:
    """The environment of every process of one bench: its own DATA_DIR (SQLite, storage, PKI)
    unless DATABASE_URL says otherwise, no debug, and what the bench adds."""
    env = {**os.environ, "DATA_DIR": str(data_dir), "DJANGO_DEBUG": "false", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def run_step(env: dict, *arguments: str) -> dict:
    """One sub-command of this module in its own process; its last output line is JSON."""
    result = subprocess.run(
        [str(PYTHON), str(Path(__file__).resolve()), *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"bench step {arguments[0]} failed ({result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving config.wsgi on 127.0.0.1, started and stopped by the bench."""

    def __init__(self, env: dict, *, workers: int = 1, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "600",
                "--graceful-timeout",
                "10",
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(workers)

    def _wait_ready(self, workers: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start (see {self.log.name})")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("OPTIONS", "/depots/tus/")
                if connection.getresponse().status == 204 and len(self.worker_pids()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 60 s")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def peak_rss(pid: int) -> int:
    """The process's peak resident size (VmHWM), in bytes."""
    try:
        import psutil  # noqa: PLC0415 — optional

        info = psutil.Process(pid).memory_info()
        peak = getattr(info, "peak_wset", None)
        if peak:
            return peak
    except ImportError:
        pass
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found")


# --- HTTP ----------------------------------------------------------------------------------


class Api:
    """A company's software: its token, one keep-alive connection to the platform."""

    def __init__(self, base_url: str, token: str, timeout: float = 600):
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.auth = {"Authorization": f"Bearer {token}"}
        self.connection = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.connection

    def request(self, method: str, path: str, *, body=None, headers=None) -> tuple[int, dict, bytes]:
        connection = self._connection()
        try:
            connection.request(method, path, body=body, headers={**self.auth, **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def json(self, method: str, path: str, data=None) -> tuple[int, dict]:
        body = json.dumps(data or {}).encode() if method != "GET" else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _headers, content = self.request(method, path, body=body, headers=headers)
        try:
            return status, json.loads(content or b"{}")
        except ValueError:  # an error page: its status says enough
            return status, {"detail": f"HTTP {status}, not JSON"}

    def tus_create(self, *, deposit: int, envelope: int, name: str, size: int) -> str:
        metadata = ",".join(
            f"{key} {base64.b64encode(str(value).encode()).decode()}"
            for key, value in {"filename": name, "deposit": deposit, "envelope": envelope}.items()
        )
        status, headers, content = self.request(
            "POST",
            "/depots/tus/",
            headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": metadata},
        )
        if status != 201:
            raise RuntimeError(f"tus creation: {status} {content.decode(errors='replace')}")
        return urlsplit(headers["Location"]).path

    def tus_patch(self, path: str, offset: int, chunk) -> int:
        status, headers, content = self.request(
            "PATCH",
            path,
            body=chunk,
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(chunk)),
            },
        )
        if status != 204:
            raise RuntimeError(f"tus PATCH: {status} {content.decode(errors='replace')}")
        return int(headers["Upload-Offset"])

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def offer_envelope(started: dict) -> int:
    return next(e["id"] for e in started["envelopes"] if e["kind"] == "offer")


# --- Sub-commands (run in their own process, with Django) ----------------------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django  # noqa: PLC0415

    django.setup()


def setup(companies: int) -> dict:
    _django()
    from datetime import timedelta  # noqa: PLC0415

    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", verbosity=0, interactive=False)

    from accounts.api_tokens import api_token_create  # noqa: PLC0415
    from accounts.models import User  # noqa: PLC0415
    from config import clock  # noqa: PLC0415
    from tests import factories  # noqa: PLC0415
    from tests.factories import AgentFactory, CompanyUserFactory, consultation_online  # noqa: PLC0415

    # A database kept from an earlier run (PostgreSQL) already holds the first numbers.
    start = (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for name in ("UserFactory", "CompanyFactory", "OrganisationFactory", "ConsultationFactory"):
        getattr(factories, name).reset_sequence(start)
    now = clock.now()
    buyer = AgentFactory(can_create=True)
    consultation = consultation_online(
        organisation=buyer.organisation,
        created_by=buyer.user,
        published_at=now - timedelta(days=1),
        deadline=now + timedelta(days=7),
        title="Banc d'essai des dépôts",
    )
    tokens = []
    for _ in range(companies):
        company_user = CompanyUserFactory(user__password=None)
        tokens.append(api_token_create(user=company_user.user, label="Banc d'essai")[1])
    return {"consultation": consultation.pk, "tokens": tokens}


def deadline(consultation_id: int, seconds: float) -> dict:
    _django()
    from datetime import timedelta  # noqa: PLC0415

    from config import clock  # noqa: PLC0415
    from consultations.models import Consultation  # noqa: PLC0415

    moment = clock.now() + timedelta(seconds=seconds)
    Consultation.objects.filter(pk=consultation_id).update(deadline=moment)
    return {"deadline": moment.isoformat()}


def report(consultation_id: int, seal: bool) -> dict:
    _django()
    from django.db.models import Count  # noqa: PLC0415

    from deposits.models import Deposit, DepositState, Seal  # noqa: PLC0415

    swept = None
    if seal:
        from deposits import tasks  # noqa: PLC0415

        sweep = getattr(tasks, "deposits_seal_sweep", None)
        if sweep is not None:
            swept = sweep.apply().result if hasattr(sweep, "apply") else sweep()
    deposits = Deposit.objects.filter(consultation_id=consultation_id)
    by_status = dict(
        deposits.filter(state=DepositState.FINALISED).values_list("status").annotate(n=Count("pk")).order_by()
    )
    finalised = deposits.filter(state=DepositState.FINALISED)
    return {
        "drafts": deposits.filter(state=DepositState.DRAFT).count(),
        "finalised": finalised.count(),
        "by_status": by_status,
        "sealed": Seal.objects.filter(deposit__in=finalised).count(),
        "unsealed_ids": list(finalised.filter(seal__isnull=True).values_list("pk", flat=True)[:20]),
        "swept": swept if isinstance(swept, dict | int | str | None) else str(swept),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("setup")
    command.add_argument("--companies", type=int, default=1)
    command = commands.add_parser("deadline")
    command.add_argument("--consultation", type=int, required=True)
    command.add_argument("--seconds", type=float, required=True)
    command = commands.add_parser("report")
    command.add_argument("--consultation", type=int, required=True)
    command.add_argument("--seal", action="store_true")
    options = parser.parse_args()
    if options.command == "setup":
        result = setup(options.companies)
    elif options.command == "deadline":
        result = deadline(options.consultation, options.seconds)
    else:
        result = report(options.consultation, options.seal)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
