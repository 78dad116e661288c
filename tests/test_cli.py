"""The front door: fast help, examples, one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catalog.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_help_is_fast_and_imports_no_tensorflow() -> None:
    code = (
        "import sys, time; t=time.perf_counter();"
        "from catalog.cli import main;"
        "rc = main(['--help']);"
        "print(time.perf_counter()-t); "
        "assert 'tensorflow' not in sys.modules and 'onnxruntime' not in sys.modules"
        " and 'celery' not in sys.modules"
    )
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    wall = time.perf_counter() - t
    assert p.returncode == 0, p.stderr
    assert "Examples:" in p.stdout
    assert float(p.stdout.strip().splitlines()[-1]) < 1.0
    assert wall < 5.0  # interpreter start included; generous for a loaded CI box


@pytest.mark.parametrize(
    "args",
    [
        ["train", "/definitely/not/here", "--out", "x"],
        ["train"],
        ["train", ".", "--out", "x", "--epochs", "zero"],
        ["no-such-command"],
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args: list[str]) -> None:
    p = run(*args)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert "error" in lines[0] and "Traceback" not in p.stderr


def test_every_subcommand_help_has_an_example() -> None:
    from catalog.cli import cli

    for name, cmd in cli.commands.items():
        sub = getattr(cmd, "commands", None)
        targets = [(f"{name} {s}", c) for s, c in sub.items()] if sub else [(name, cmd)]
        for label, c in targets:
            assert c.epilog and "catalog " in c.epilog, f"{label} has no example"


def test_data_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data" / "only-class").mkdir(parents=True)
    rc = main(["train", str(tmp_path / "data"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2 and "at least two class" in err and len(err.strip().splitlines()) == 1
