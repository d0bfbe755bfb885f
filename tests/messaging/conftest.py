"""Real servers for the messaging tests: a clamd of our own and a local SMTP server.

clamd is Debian's (package clamav-daemon, installed by .ci/run), started in the
foreground on a unix socket with a signature database the test writes: the EICAR test
file, nothing downloaded. The SMTP server is aiosmtpd, in a thread of the test.
"""

import email
import email.policy
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

# The EICAR test file, written in two halves so that this source file is not itself one.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "Eicar-Test-Signature"
# A signature clamd adds to what it reads from a database outside its official ones.
EICAR_FOUND = f"{EICAR_SIGNATURE}.UNOFFICIAL"
# Larger streams are refused by clamd (« INSTREAM size limit exceeded »).
CLAMD_STREAM_MAX = 1024 * 1024

CLAMD_START_SECONDS = 60


def _clamd_binary() -> str | None:
    for candidate in (shutil.which("clamd"), "/usr/sbin/clamd"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _clamd_answers(path: Path) -> bool:
    from clamav_client.clamd import ClamdError, ClamdUnixSocket

    try:
        return ClamdUnixSocket(path=str(path), timeout=2).ping() == "PONG"
    except (ClamdError, OSError):
        return False


@pytest.fixture(scope="session")
def clamd_url():
    """A running clamd that knows EICAR; yields its ``unix://`` URL and stops it after the session."""
    binary = _clamd_binary()
    if binary is None:
        pytest.skip("clamd n'est pas installé (paquet Debian clamav-daemon, que .ci/run installe)")
    # A short directory: a unix socket path is limited to about 100 characters.
    directory = Path(tempfile.mkdtemp(prefix="clamd-"))
    database = directory / "db"
    database.mkdir()
    # An extended signature (.ndb): name, any file type (0), anywhere (*), the bytes in hex.
    (database / "eicar.ndb").write_text(f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n", encoding="ascii")
    sock = directory / "clamd.sock"
    config = directory / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"LocalSocket {sock}",
                f"DatabaseDirectory {database}",
                f"TemporaryDirectory {directory}",
                f"StreamMaxLength {CLAMD_STREAM_MAX}",
                "Foreground yes",
                "LogTime yes",
                "",
            ]
        ),
        encoding="ascii",
    )
    log_path = directory / "clamd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([binary, f"--config-file={config}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + CLAMD_START_SECONDS
        while not _clamd_answers(sock):
            try:
                # The pause between two PINGs, which also notices clamd dying.
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"clamd ne répond pas après {CLAMD_START_SECONDS} s :\n{log_path.read_text()}"
                    )
            else:
                pytest.fail(
                    f"clamd s'est arrêté au démarrage ({process.returncode}) :\n{log_path.read_text()}"
                )
        yield f"unix://{sock}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


# --- SMTP ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpCollector:
    """An aiosmtpd handler: answers DATA with the replies it is given, in order, then
    « 250 »; keeps every mail it accepted."""

    def __init__(self, replies=()):
        self.replies = list(replies)
        self.envelopes = []
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        reply = self.replies.pop(0) if self.replies else "250 2.0.0 Message accepted"
        if reply.startswith("250"):
            self.envelopes.append(envelope)
        else:
            self.refused += 1
        return reply

    @property
    def mails(self) -> list:
        """Each accepted mail, parsed: ``.recipients``, ``["Subject"]``, ``.text``."""
        parsed = []
        for envelope in self.envelopes:
            mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            mail.recipients = list(envelope.rcpt_tos)
            mail.text = mail.get_body(preferencelist=("plain",)).get_content()
            parsed.append(mail)
        return parsed


def _smtp_settings(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp_server(settings):
    """``smtp_server(*replies)`` starts a real SMTP server on 127.0.0.1 and points Django's
    SMTP backend at it; DATA gets the given replies first (« 451 … »), then « 250 »."""
    from aiosmtpd.controller import Controller

    controllers = []

    def start(*replies) -> SmtpCollector:
        handler = SmtpCollector(replies)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        _smtp_settings(settings, port)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_closed_port(settings):
    """Django's SMTP backend pointed at a port where nothing listens."""
    _smtp_settings(settings, free_port())
