"""docker-compose.yml and the Dockerfile agree with what the settings read.

Neither Docker nor the database is needed: the files are parsed, and the
settings load in a fresh interpreter with the environment compose would give,
so a variable that compose sets and the settings ignore (a typo, a renamed
setting) fails here rather than silently in production.
"""

import ast
import json
import re
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")

# What a user's shell gives a required `${VAR:?message}`: a real secret.
_REQUIRED_VALUE = secrets.token_urlsafe(64)
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)
_PRINT_NAMES_READ = textwrap.dedent(
    """
    import json, os
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django
    django.setup()
    import config.env
    print(json.dumps(sorted(config.env.READ)))
    """
)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _services() -> dict:
    return _compose()["services"]


def _interpolate(value: str) -> str:
    """The value compose passes when the user's shell sets only what is required."""

    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        variable = match["name"] or match["bare"]
        assert match["op"], (
            f"${variable} has neither a default (${{{variable}:-...}}) nor a message "
            f"saying it is required (${{{variable}:?...}}): compose would pass an empty value"
        )
        return _REQUIRED_VALUE if match["op"].endswith("?") else match["arg"]

    return _VARIABLE.sub(substitute, value)


def _raw_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    for name, value in environment.items():
        assert value is not None, f"{name} has no value: compose would take it from the shell"
    return {name: str(value) for name, value in environment.items()}


def _environment(service: dict) -> dict[str, str]:
    return {name: _interpolate(value) for name, value in _raw_environment(service).items()}


def _mounts(service: dict) -> dict[str, str]:
    """Mount target -> source (a named volume or a host path)."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume.get("source", "")
        else:
            source, _, rest = volume.partition(":")
            mounts[rest.split(":")[0]] = source
    return mounts


def _names_read_by_settings(environment: dict[str, str]) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", _PRINT_NAMES_READ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, (
        "the production settings do not start with docker-compose.yml's environment:\n" + completed.stderr
    )
    return json.loads(completed.stdout.splitlines()[-1])


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions = []
    current = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_variable_compose_sets_is_read_by_the_production_settings(name):
    # GIVEN the environment compose gives a process of the platform
    environment = _environment(_services()[name])
    assert environment["DJANGO_ENV"] == "production"

    # WHEN the settings load in a fresh interpreter with exactly that environment
    names_read = _names_read_by_settings(environment)

    # THEN they start, and they read every variable compose sets
    unread = sorted(set(environment) - set(names_read))
    assert unread == [], f"docker-compose.yml sets variables the settings never read: {unread}"


def test_web_worker_and_beat_run_with_the_same_environment():
    # GIVEN the services compose runs
    services = _services()

    # WHEN the environments of the platform's processes are compared
    environments = {name: _raw_environment(services[name]) for name in APP_SERVICES}

    # THEN they are identical: a task runs with the settings of the request that queued it
    assert environments["worker"] == environments["web"]
    assert environments["beat"] == environments["web"]


def test_database_url_is_the_db_service_with_its_own_credentials():
    # GIVEN the services compose runs
    services = _services()

    # WHEN the platform parses its DATABASE_URL
    url = urlsplit(_environment(services["web"])["DATABASE_URL"])

    # THEN it names the PostgreSQL service, with the user, password and database it creates
    assert url.hostname in services, f"{url.hostname!r} is not a service of docker-compose.yml"
    database = services[url.hostname]
    assert database["image"].startswith("postgres:")
    created = _environment(database)
    assert url.scheme in ("postgres", "postgresql")
    assert url.username == created["POSTGRES_USER"]
    assert url.password == created["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == created["POSTGRES_DB"]
    assert url.port in (None, 5432)


def _endpoints(environment: dict[str, str]) -> dict[str, tuple[str, int]]:
    redis = urlsplit(environment["REDIS_URL"])
    clamd = urlsplit(environment["CLAMD_URL"])
    return {
        "redis": (redis.hostname, redis.port or 6379),
        "smtp": (environment["EMAIL_HOST"], int(environment["EMAIL_PORT"])),
        "clamd": (clamd.hostname, clamd.port or 3310),
    }


@pytest.mark.parametrize(
    ("endpoint", "image", "port"),
    [
        ("redis", "redis:", 6379),
        ("smtp", "axllent/mailpit", 1025),  # 8025 is Mailpit's web interface, not SMTP
        ("clamd", "clamav/clamav:", 3310),
    ],
)
def test_each_backing_service_is_reached_by_its_compose_name_and_port(endpoint, image, port):
    # GIVEN the services compose runs
    services = _services()

    # WHEN the platform resolves an endpoint from its environment
    host, actual_port = _endpoints(_environment(services["web"]))[endpoint]

    # THEN it is the compose service running that software, on the port it listens on
    assert host in services, f"{endpoint}: {host!r} is not a service of docker-compose.yml"
    assert services[host]["image"].startswith(image)
    assert actual_port == port


@pytest.mark.parametrize("name", APP_SERVICES)
def test_data_dir_is_a_named_volume_in_each_process(name):
    # GIVEN a process of the platform and the DATA_DIR it is told to write to
    service = _services()[name]
    data_dir = _environment(service)["DATA_DIR"]

    # WHEN its mounts are listed
    mounts = _mounts(service)

    # THEN DATA_DIR is a named volume, shared by the processes and kept across containers
    assert data_dir in mounts, f"{name} does not mount anything at DATA_DIR={data_dir}"
    assert mounts[data_dir] in (_compose().get("volumes") or {})


def test_beat_keeps_its_schedule_in_data_dir():
    # GIVEN the beat service
    beat = _services()["beat"]
    data_dir = _environment(beat)["DATA_DIR"]

    # WHEN its command is read
    command = beat["command"]
    arguments = command.split() if isinstance(command, str) else command

    # THEN its schedule file lives in the volume, writable by the unprivileged user
    schedule = arguments[arguments.index("--schedule") + 1]
    assert Path(schedule).parent == Path(data_dir)


def test_the_image_serves_the_wsgi_application_with_gunicorn():
    # GIVEN the Dockerfile
    instructions = _dockerfile_instructions()

    # WHEN a container of the image starts without a command
    command = json.loads([arguments for keyword, arguments in instructions if keyword == "CMD"][-1])

    # THEN gunicorn serves config.wsgi:application on the exposed port
    assert command[0] == "gunicorn"
    assert "config.wsgi:application" in command
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    exposed = " ".join(arguments for keyword, arguments in instructions if keyword == "EXPOSE")
    assert "8000" in exposed.split()
    wsgi = ast.parse((ROOT / "config" / "wsgi.py").read_text(encoding="utf-8"))
    assigned = {
        target.id
        for node in wsgi.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "application" in assigned


def test_the_image_runs_in_production_as_an_unprivileged_user_without_a_secret_key():
    # GIVEN the Dockerfile
    instructions = _dockerfile_instructions()

    # WHEN the environment and the user of its containers are read
    environment = " ".join(args for keyword, args in instructions if keyword in ("ENV", "ARG"))
    user = [arguments for keyword, arguments in instructions if keyword == "USER"][-1]

    # THEN production is on, the build-only key never reaches run time, and the user is not root
    assert re.search(r"\bDJANGO_ENV=production\b", environment)
    assert "DJANGO_SECRET_KEY" not in environment
    assert user.split(":")[0] not in ("root", "0")
