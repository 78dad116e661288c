"""Retraining end to end: real Redis, a real training worker, real beat processes."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models.store import ModelStore
from worker import jobs
from worker.embedded import start_worker, wait_for_workers

pytestmark = pytest.mark.slow

ENV = {
    "CATALOG_IMAGE_SIZE": "48",
    "CATALOG_RETRAIN_EPOCHS": "12",
    "CATALOG_RETRAIN_ENSEMBLE": "1",
    "CATALOG_RETRAIN_SCHEDULE": "sample=* * * * *",
}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("retrain-store")


@pytest.fixture(scope="module")
def trainer(
    redis_url: str, store_dir: Path, sample_catalog: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    log = tmp_path_factory.mktemp("trainer") / "worker.log"
    env = {
        **ENV,
        "CATALOG_MODEL_STORE": str(store_dir),
        "CATALOG_RETRAIN_DATA": str(sample_catalog),
    }
    w = start_worker(
        redis_url, 1, queues="training", log=log, extra_env=env, name=f"trainer-{os.getpid()}@%h"
    )
    wait_for_workers(redis_url, 1)  # tasks queue up until the trainer is ready anyway
    yield w
    w.stop()


def retrain(redis_url: str, data: Path) -> dict[str, Any]:
    client = jobs.Client.connect(redis_url)
    try:
        res = client.app.send_task(
            "worker.tasks.retrain", args=["sample", str(data)], queue="training"
        )
        out: dict[str, Any] = res.get(timeout=300)
        return out
    finally:
        client.close()


def shuffled_copy(src: Path, dst: Path) -> Path:
    files = sorted(p for p in src.rglob("*") if p.is_file())
    labels = [p.parent.name for p in files]
    random.Random(0).shuffle(labels)
    for p, label in zip(files, labels, strict=True):
        (dst / label).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dst / label / f"{p.parent.name}_{p.name}")
    return dst


def test_first_retrain_promotes_then_shuffled_labels_are_refused(
    redis_url: str, trainer: Any, store_dir: Path, sample_catalog: Path, tmp_path: Path
) -> None:
    first = retrain(redis_url, sample_catalog)
    assert first["promoted"] and first["champion"] == first["version"] == "1", first
    store = ModelStore(store_dir)
    assert (store_dir / "sample" / "evalset" / "index.json").is_file()

    bad = retrain(redis_url, shuffled_copy(sample_catalog, tmp_path / "shuffled"))
    assert not bad["promoted"] and bad["version"] == "2" and bad["champion"] == "1", bad
    assert any("worse than the champion" in r for r in bad["reasons"])
    champ = store.champion("sample")
    assert champ is not None and champ.version == "1"
    refusal = store.history("sample")[-1]
    assert refusal["action"] == "refuse" and refusal["candidate"] == "2"
    assert refusal["figures"]["candidate"]["accuracy"] < 0.7


def test_failed_training_leaves_champion_and_marks_run(
    redis_url: str, trainer: Any, store_dir: Path, tmp_path: Path
) -> None:
    store = ModelStore(store_dir)
    before = store.champion("sample")
    empty = tmp_path / "one-class"
    (empty / "only").mkdir(parents=True)
    with pytest.raises(Exception, match="at least two class"):
        retrain(redis_url, empty)
    after = store.champion("sample")
    assert (before and before.version) == (after and after.version)
    assert store.history("sample")[-1]["action"] == "retrain-failed"
    runs = sorted((store_dir / "sample" / "runs").iterdir())
    assert '"failed"' in (runs[-1] / "status.json").read_text()


def test_two_beats_one_retrain_per_slot(
    redis_url: str, trainer: Any, store_dir: Path, tmp_path: Path
) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    store = ModelStore(store_dir)
    n_before = len(store.history("sample"))
    env = {
        **os.environ,
        **ENV,
        "CATALOG_BROKER_URL": redis_url,
        "CATALOG_MODEL_STORE": str(store_dir),
    }
    beats, logs = [], []
    for i in range(2):
        log = tmp_path / f"beat{i}.log"
        logs.append(log)
        with log.open("wb") as f:
            beats.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "worker",
                        "beat",
                        "--loglevel",
                        "INFO",
                        "--schedule",
                        str(tmp_path / f"beat{i}.db"),
                    ],
                    env=env,
                    stdout=f,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        deadline = time.monotonic() + 90  # the next minute boundary, at most
        while time.monotonic() < deadline:
            sent = [lg.read_text().count("Sending due task retrain-sample") for lg in logs]
            if all(sent):
                break
            time.sleep(0.5)
        assert all(sent), f"both beats should fire the slot, sent={sent}"
    finally:
        for b in beats:
            b.terminate()
            b.wait(20)
    assert sent == [1, 1]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        done = len(store.history("sample")) - n_before
        if done >= 1 and r.llen("training") == 0:
            break
        time.sleep(1)
    time.sleep(3)  # let the second (skipped) delivery finish too
    new = store.history("sample")[n_before:]
    assert len(new) == 1, new  # one retrain for the slot, not two
    assert len(r.keys("catalog:retrain-slot:sample:*")) == 1
