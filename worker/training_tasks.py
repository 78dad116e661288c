"""The `retrain` tasks on the `training` queue. TensorFlow is imported only
inside them (through `catalog.retrain`), never when a worker starts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.errors import CatalogError
from models.settings import get_settings
from worker.celery import app
from worker.schedule import last_slot, parse_map

log = logging.getLogger(__name__)

LOCK_PREFIX = "catalog:retrain-slot:"


def data_dir_for(name: str, override: str | None = None) -> Path:
    """--data, else CATALOG_RETRAIN_DATA: one folder, or "name=DIR;..." per model."""
    if override:
        return Path(override)
    data = get_settings().retrain_data
    if data and "=" not in data:
        return Path(data)
    per_model = parse_map(data, "CATALOG_RETRAIN_DATA")
    if name in per_model:
        return Path(per_model[name])
    raise CatalogError(f"no training data for {name}: set CATALOG_RETRAIN_DATA or pass --data")


def run_retrain(name: str, data_dir: str | None = None) -> dict[str, Any]:
    from catalog.retrain import retrain
    from models.gate import GatePolicy
    from models.store import ModelStore

    s = get_settings()
    policy = GatePolicy(
        floor=s.gate_floor, tolerance=s.gate_tolerance, max_class_recall_drop=s.gate_max_recall_drop
    )
    overrides: dict[str, Any] = {"image_size": s.image_size}
    if s.retrain_epochs:
        overrides["epochs"] = s.retrain_epochs
    if s.retrain_ensemble:
        overrides["ensemble"] = s.retrain_ensemble
    r = retrain(name, data_dir_for(name, data_dir), ModelStore(s.model_store), policy, overrides)
    return {
        "name": r.name,
        "version": r.version,
        "promoted": r.promoted,
        "reasons": r.decision.reasons,
        "champion": r.champion,
        "run_dir": str(r.run_dir),
    }


@app.task(name="worker.tasks.retrain", acks_late=True, ignore_result=False)
def retrain(name: str, data_dir: str | None = None) -> dict[str, Any]:
    """Retrain NAME now (from `catalog retrain`)."""
    return run_retrain(name, data_dir)


@app.task(name="worker.tasks.retrain_scheduled", acks_late=True, ignore_result=False)
def retrain_scheduled(name: str) -> dict[str, Any]:
    """Beat's entry: at most one retrain per schedule slot, whatever the number
    of beats that fired it (a Redis SET NX lock, expiring after a training run)."""
    import redis

    s = get_settings()
    expr = parse_map(s.retrain_schedule, "CATALOG_RETRAIN_SCHEDULE").get(name)
    if not expr:
        return {"skipped": f"{name} has no schedule"}
    slot = last_slot(expr, datetime.now(UTC)).strftime("%Y-%m-%dT%H:%MZ")
    r = redis.Redis.from_url(app.conf.broker_url)
    if not r.set(f"{LOCK_PREFIX}{name}:{slot}", "taken", nx=True, ex=s.retrain_lock_ttl_s):
        log.info("retrain %s for slot %s already ran or runs: skipped", name, slot)
        return {"skipped": f"slot {slot} already taken", "slot": slot}
    return {**run_retrain(name), "slot": slot}
