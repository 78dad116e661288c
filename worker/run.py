"""`label_catalog`: the main job, on configured workers or an embedded default.

The same path either way: connect, submit, wait, write. Only where the broker
comes from differs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.settings import Settings, cpu_count
from worker import jobs
from worker.ledger import JobStatus


@dataclass
class LabelSummary:
    job_id: str
    total: int
    labeled: int
    failed: int
    rows: int
    seconds: float
    submit_seconds: float
    embedded: bool
    model_version: str
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0


@contextlib.contextmanager
def broker(
    settings: Settings,
    concurrency: int | None = None,
    log_dir: Path | None = None,
    queues: str = "labeling",
) -> Iterator[tuple[str, bool]]:
    """Yields (broker URL, embedded?)."""
    if settings.broker_url:
        yield settings.broker_url, False
        return
    from worker.embedded import embedded

    n = concurrency or settings.concurrency or cpu_count()
    with embedded(n, log_dir=log_dir, queues=queues) as url:
        yield url, True


def retrain_via_workers(
    name: str, data_dir: Path | None, settings: Settings, timeout_s: float | None = None
) -> tuple[dict[str, Any], bool]:
    """Send `retrain` to the training queue (an embedded worker if no broker)
    and wait for its decision."""
    with broker(settings, concurrency=1, queues="training") as (url, is_embedded):
        client = jobs.Client.connect(url)
        try:
            res = client.app.send_task(
                "worker.tasks.retrain",
                # absolute: the worker may run elsewhere, in another directory
                args=[name, str(data_dir.resolve()) if data_dir else None],
                queue="training",
            )
            out: dict[str, Any] = res.get(
                timeout=timeout_s or settings.retrain_time_limit_s, propagate=True
            )
        finally:
            client.close()
        return out, is_embedded


def label_catalog(
    catalog: Path,
    model_spec: str,
    out: Path,
    settings: Settings,
    on_progress: Callable[[JobStatus], None] | None = None,
    concurrency: int | None = None,
    chunk_size: int | None = None,
    log_dir: Path | None = None,
) -> LabelSummary:
    with broker(settings, concurrency, log_dir) as (url, is_embedded):
        client = jobs.Client.connect(url)
        try:
            t0 = time.perf_counter()
            sub = jobs.submit(client, catalog, model_spec, settings, chunk_size)
            st = jobs.wait(client, sub.job_id, on_progress)
            if st.state != "done":
                raise jobs.JobError(f"job {sub.job_id} ended {st.state}")
            rows = jobs.write_results(client, sub.job_id, out)
            seconds = time.perf_counter() - t0
        finally:
            client.close()
        return LabelSummary(
            sub.job_id,
            st.total,
            st.done,
            st.failed,
            rows,
            seconds,
            sub.seconds,
            is_embedded,
            sub.model,
            sub.skipped,
            sub.skipped_examples,
        )
