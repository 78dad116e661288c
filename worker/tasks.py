"""Celery tasks: thin adapters over plain functions in `worker.labeling`/`ledger`."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from models.settings import cpu_count, get_settings
from worker.celery import app
from worker.fetch import backoff
from worker.labeling import (
    LabelOptions,
    SessionCache,
    count,
    dumps_rows,
    error_row,
    label_items,
)
from worker.ledger import Ledger

log = logging.getLogger(__name__)
_sessions = SessionCache(size=2)


@lru_cache(maxsize=1)
def _ledger() -> Ledger:
    """One Redis connection pool per process, created after fork."""
    import redis

    return Ledger(redis.Redis.from_url(app.conf.broker_url))


def _options() -> LabelOptions:
    s = get_settings()
    return LabelOptions(
        batch_size=s.batch_size,
        decode_threads=s.decode_threads,
        max_pixels=s.max_pixels,
        url_timeout_s=s.url_timeout_s,
        url_max_bytes=s.url_max_bytes,
        allow_private_urls=s.allow_private_urls,
    )


def intra_op_threads() -> int:
    configured = os.environ.get("CATALOG_INTRA_OP_THREADS") or get_settings().intra_op_threads
    return int(configured) if configured else cpu_count()


@app.task(name="worker.tasks.label_chunk", bind=True, max_retries=3)
def label_chunk(
    self: Any,
    job_id: str,
    chunk: int,
    model_path: str,
    model_version: str,
    items: list[list[str]],
) -> dict[str, int]:
    """Label one chunk of a job and store its rows (idempotent per job+chunk).

    Bad images are rows, not failures. If the chunk itself keeps failing (model
    unreadable, Redis flapping), it is retried with backoff and finally stored
    as error rows, so the job still ends with one row per item.
    """
    ledger = _ledger()
    if ledger.state(job_id) == "cancelled":
        return {"skipped": len(items)}
    pairs = [(str(i), str(p)) for i, p in items]
    try:
        clf = _sessions.get(Path(model_path), intra_op_threads())
        rows = label_items(pairs, clf, model_version, _options())
    except SoftTimeLimitExceeded:
        rows = [error_row(it, "timeout", "chunk exceeded the task time limit") for it in pairs]
    except Exception as e:
        if self.request.retries < self.max_retries:
            raise self.retry(
                exc=e, countdown=backoff(self.request.retries + 1, base=1.0, cap=30.0)
            ) from e
        log.exception("chunk %s of job %s failed for good", chunk, job_id)
        rows = [error_row(it, "worker_error", f"{type(e).__name__}: {e}") for it in pairs]
    ok, err = count(rows)
    ledger.store_chunk(job_id, chunk, dumps_rows(rows), ok, err, get_settings().results_ttl_s)
    return {"labeled": ok, "failed": err}
