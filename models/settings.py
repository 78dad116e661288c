"""One typed settings object, read from `CATALOG_*` environment variables.

Every default works on a fresh machine with nothing configured.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_store() -> Path:
    return Path(user_data_dir("catalog-labeler")) / "model-store"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    # Where model versions live (DESIGN §3). Shared by trainer, exporter, worker.
    model_store: Path = Field(default_factory=_default_store)
    # Redis URL (redis://, rediss:// with TLS, passwords in the URL). Empty means
    # "no broker": `catalog label` then starts an embedded Redis and workers.
    broker_url: str = ""
    # Result backend; defaults to the broker.
    result_backend: str = ""
    # Input edge in pixels when training; stored in the model card afterwards.
    image_size: int = 128
    # Largest image accepted, in pixels (decompression-bomb guard).
    max_pixels: int = 40_000_000
    # ':'-separated roots that local catalog paths must lie under. Empty means
    # the current directory plus the catalog's own folder.
    allowed_roots: str = ""
    # Allow URLs that resolve to private/loopback addresses (tests, intranets).
    allow_private_urls: bool = False
    url_timeout_s: float = 10.0
    url_max_bytes: int = 50_000_000
    # Items per Celery task. Measured on clothing-small (README, Benchmark):
    # 64 kept both pool processes busy to the end (256 left one idle for most
    # of the last chunk) at no measurable per-task cost.
    chunk_size: int = 64
    # Inference batch inside a chunk. ORT throughput on one core was flat from
    # batch 1 to 64 for our CNN, while activation memory grows with the batch:
    # 16 kept worker RSS near 230 MB (batch 64: ~610 MB).
    batch_size: int = 16
    # Decode threads per worker process (Pillow releases the GIL).
    decode_threads: int = 2
    # ORT intra-op threads per process; 0 = cores // concurrency.
    intra_op_threads: int = 0
    # Worker processes for `catalog worker` / embedded label; 0 = cores.
    concurrency: int = 0
    # Seconds. Hard limits must stay below the Redis visibility timeout, or Redis
    # hands a still-running task to another worker (checked at start-up). The
    # timeout is long because retraining is long; a killed pool process is
    # requeued at once anyway (task_reject_on_worker_lost).
    task_time_limit_s: int = 1800
    retrain_time_limit_s: int = 4 * 3600
    visibility_timeout_s: int = 6 * 3600
    worker_max_memory_per_child_kb: int = 1_500_000
    # Chunk results live in Redis (readable from any machine that reaches the
    # broker) for this long.
    results_ttl_s: int = 7 * 24 * 3600
    # Retraining: data folder ("DIR", or "name=DIR;...") and crontab per model
    # ("name=0 3 * * *;..."), read by the training worker and by beat.
    retrain_data: str = ""
    retrain_schedule: str = ""
    retrain_epochs: int = 0  # 0 = the trainer's default
    retrain_ensemble: int = 0  # 0 = the trainer's auto rule
    # One retrain per schedule slot: the slot lock outlives any training run.
    retrain_lock_ttl_s: int = 24 * 3600
    # Promotion gate (models/gate.py).
    gate_floor: float = 0.7
    gate_tolerance: float = 0.01
    gate_max_recall_drop: float = 0.02
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def cpu_count() -> int:
    """Cores this process may use (respects affinity/cgroup pinning)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
