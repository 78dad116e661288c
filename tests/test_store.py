"""Model store: immutable versions, atomic champion switches, crash safety."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.card import ModelCard
from models.store import ModelStore, StoreError


def add(store: ModelStore, name: str = "m") -> str:
    v = store.next_version(name)
    src = store.root.parent / f"src-{name}-{v}.onnx"
    src.write_bytes(b"fake onnx " + v.encode())
    card = store.root.parent / f"card-{name}-{v}.json"
    card.write_text(
        ModelCard(name=name, version=v, class_names=["a", "b"], input_size=(8, 8)).to_json()
    )
    store.add_version(name, v, {"model.onnx": src, "card.json": card})
    return v


@pytest.fixture()
def store(tmp_path: Path) -> ModelStore:
    s = ModelStore(tmp_path / "store")
    for _ in range(3):
        add(s)
    return s


def test_versions_are_immutable(store: ModelStore, tmp_path: Path) -> None:
    assert store.versions("m") == ["1", "2", "3"]
    f = tmp_path / "x"
    f.write_text("x")
    with pytest.raises(StoreError, match="immutable"):
        store.add_version("m", "2", {"model.onnx": f})
    assert (store.root / "m" / "2" / "model.onnx").read_bytes() == b"fake onnx 2"
    assert not [p for p in (store.root / "m").iterdir() if p.name.startswith(".staging")]


def test_promote_and_rollback(store: ModelStore) -> None:
    assert store.champion("m") is None
    assert store.promote("m", "1") is None
    assert store.promote("m", "3") == "1"
    assert store.champion("m").version == "3"  # type: ignore[union-attr]
    assert store.rollback("m") == ("3", "1")
    assert store.champion("m").version == "1"  # type: ignore[union-attr]
    with pytest.raises(StoreError, match="no earlier champion"):
        store.rollback("m")
    actions = [e["action"] for e in store.history("m")]
    assert actions == ["promote", "promote", "rollback"]


def test_resolve_specs(store: ModelStore) -> None:
    store.promote("m", "2")
    assert store.resolve("m").version == "2"
    assert store.resolve("m:3").version == "3"
    with pytest.raises(StoreError, match="unknown model"):
        store.resolve("nope")
    with pytest.raises(StoreError, match="no model m:9"):
        store.resolve("m:9")


def test_crash_before_switch_keeps_the_old_champion(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.promote("m", "1")

    def boom(*_: object) -> None:
        raise OSError("disk died mid-switch")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.promote("m", "2")
    monkeypatch.undo()
    assert store.champion("m").version == "1"  # type: ignore[union-attr]
    leftovers = [p.name for p in (store.root / "m").iterdir() if p.name.startswith(".champion")]
    assert leftovers == []


CRASH = """
import os, sys
from models.store import ModelStore
s = ModelStore(sys.argv[1])
s.record = lambda *a, **k: os._exit(17)  # the process dies between switch and log
getattr(s, sys.argv[2])(*sys.argv[3:])
"""


@pytest.mark.parametrize(
    ("op", "args", "expect"), [("promote", ["m", "2"], "2"), ("rollback", ["m"], "1")]
)
def test_process_killed_between_steps_leaves_a_valid_champion(
    store: ModelStore, op: str, args: list[str], expect: str
) -> None:
    store.promote("m", "1")
    if op == "rollback":
        store.promote("m", "3")
    r = subprocess.run(
        [sys.executable, "-c", CRASH, str(store.root), op, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 17, r.stderr
    ptr = json.loads((store.root / "m" / "champion").read_text())  # parses: never torn
    assert ptr["version"] == expect and store.champion("m").version == expect  # type: ignore[union-attr]
    if op == "promote":  # the switch survived, and so did the way back
        assert store.rollback("m") == ("2", "1")
