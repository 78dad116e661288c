"""What can be checked of the Docker deployment without a Docker engine."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.cli import cli
from models.settings import Settings

DOCKER = Path(__file__).resolve().parent.parent / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def check_command(argv: list[str]) -> None:
    """A real `catalog` subcommand with valid options, or a real celery entry."""
    if argv[0] == "catalog":
        cmd = cli.commands[argv[1]]  # KeyError: not a catalog subcommand
        cmd.make_context(argv[1], list(argv[2:]))  # click validates every option
    elif argv[0] == "celery":
        assert argv[1:3] == ["-A", "worker"], argv
        assert argv[3] in {"worker", "beat", "flower", "inspect"}, argv
        from celery.app.utils import find_app

        assert find_app("worker").main == "catalog"
        if argv[3] == "flower":
            import flower  # noqa: F401 - installed through the ops extra
    else:
        pytest.fail(f"unknown entry point {argv}")


def test_compose_has_every_service() -> None:
    assert set(SERVICES) == {"redis", "worker", "trainer", "beat", "flower"}
    redis_cmd = SERVICES["redis"]["command"]
    assert "--appendonly" in redis_cmd and redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in redis_cmd
    for name in ("redis", "worker", "trainer", "flower"):
        assert "healthcheck" in SERVICES[name], name
    assert SERVICES["beat"]["deploy"]["replicas"] == 1
    assert set(COMPOSE["volumes"]) >= {"model-store", "catalogs", "training-data", "redis-data"}


@pytest.mark.parametrize("service", ["worker", "trainer", "beat", "flower"])
def test_service_commands_are_real_entry_points(service: str) -> None:
    check_command(SERVICES[service]["command"])


@pytest.mark.parametrize("service", ["worker", "trainer", "beat", "flower"])
def test_every_environment_variable_is_a_setting(service: str) -> None:
    env = SERVICES[service]["environment"]
    fields = {f"CATALOG_{k.upper()}" for k in Settings.model_fields}
    for key in env:
        assert key in fields, f"{service}: {key} is not a known setting"
    assert "redis://:" in env["CATALOG_BROKER_URL"] and "@redis:6379" in env["CATALOG_BROKER_URL"]


def dockerfile(name: str) -> str:
    return (DOCKER / name).read_text()


@pytest.mark.parametrize(
    ("name", "extras", "forbidden"),
    [
        ("worker.Dockerfile", {"worker", "ops"}, {"train"}),
        ("trainer.Dockerfile", {"train", "worker"}, set()),
    ],
)
def test_dockerfiles_install_their_role(name: str, extras: set[str], forbidden: set[str]) -> None:
    text = dockerfile(name)
    assert len(re.findall(r"^FROM ", text, re.M)) == 2  # multi-stage
    assert re.search(r"^USER catalog$", text, re.M)  # non-root
    installs = re.findall(r"pip install [^\n]*-c constraints\.txt '\.\[([a-z,]+)\]'", text)
    assert len(installs) == 1, "one pinned install of the project"
    got = set(installs[0].split(","))
    assert got == extras and not (got & forbidden)
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))  # type: ignore[union-attr]
    check_command(cmd)


def test_healthchecks_call_real_commands() -> None:
    for name in ("worker", "trainer"):
        test = SERVICES[name]["healthcheck"]["test"]
        argv = shlex.split(test[1])
        assert argv[:4] == ["celery", "-A", "worker", "inspect"]
