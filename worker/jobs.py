"""The client side of a labeling job: submit, watch, merge results, cancel.

Plain functions over a `Client` (a Celery app + a Redis connection), used by
the CLI (`submit/status/jobs/results/cancel/label`), the benchmark and tests.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import CatalogError
from models.settings import Settings
from models.store import ModelStore
from worker.ledger import JobStatus, Ledger
from worker.sources import PathGuard, Skipped, SubmitError, default_roots, iter_items


class JobError(CatalogError):
    pass


@dataclass
class Client:
    app: Any  # celery.Celery
    redis: Any  # redis.Redis
    ledger: Ledger

    @classmethod
    def connect(cls, broker_url: str) -> Client:
        """A client-side Celery app of its own per broker (the module-level worker
        app caches its connection pool, so re-pointing it is unreliable)."""
        import redis
        from celery import Celery

        from models.settings import get_settings
        from worker.celery import celery_config

        conf = celery_config(get_settings())
        conf.update(broker_url=broker_url, result_backend=broker_url)
        app = Celery("catalog-client", set_as_current=False)
        app.conf.update(conf)
        r = redis.Redis.from_url(broker_url)
        try:
            r.ping()
        except redis.exceptions.ConnectionError as e:
            raise JobError(f"cannot reach the broker at {_redact(broker_url)}: {e}") from None
        return cls(app, r, Ledger(r))

    def close(self) -> None:
        self.app.close()
        self.redis.close()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@dataclass
class Submitted:
    job_id: str
    total: int
    chunks: int
    model: str
    seconds: float
    skipped: int = 0  # non-image files a folder walk left out
    skipped_examples: list[str] = field(default_factory=list)


def submit(
    client: Client,
    catalog: Path,
    model_spec: str,
    settings: Settings,
    chunk_size: int | None = None,
    store: ModelStore | None = None,
) -> Submitted:
    """Stream the catalog into chunks and enqueue one `label_chunk` task each.

    The model is resolved (champion or NAME:VERSION or file) and pinned now:
    the job keeps this version even if the champion changes while it runs.
    """
    t0 = time.perf_counter()
    store = store or ModelStore(settings.model_store)
    ref = store.resolve(model_spec)
    if not ref.onnx.is_file():
        raise JobError(f"{ref.label} has no model.onnx at {ref.onnx}")
    model_path = str(ref.onnx.resolve())
    version = ref.label if ref.version != "file" else f"file:{ref.onnx.name}"
    chunk_size = chunk_size or settings.chunk_size
    catalog = Path(catalog)
    guard = PathGuard(
        default_roots(catalog.resolve(), settings.allowed_roots), settings.allow_private_urls
    )
    job_id = uuid.uuid4().hex[:16]
    client.ledger.create(
        job_id,
        {
            "catalog": str(catalog.resolve()),
            "model": model_spec,
            "model_version": version,
            "model_path": model_path,
            "chunk_size": chunk_size,
        },
    )
    total = chunks = 0
    buf: list[list[str]] = []
    skipped = Skipped()

    def flush() -> None:
        nonlocal chunks, buf
        client.app.send_task(
            "worker.tasks.label_chunk",
            args=[job_id, chunks, model_path, version, buf],
            queue="labeling",
        )
        chunks += 1
        buf = []

    try:
        for item in iter_items(catalog, guard, skipped):
            buf.append([item.id, item.path])
            total += 1
            if len(buf) >= chunk_size:
                flush()
        if buf:
            flush()
    except (SubmitError, OSError) as e:
        client.ledger.set_state(job_id, "cancelled")  # workers skip what was sent
        if isinstance(e, SubmitError):
            raise
        raise SubmitError(f"cannot read catalog {catalog}: {e}") from None
    if skipped.count:
        client.ledger.set_fields(
            job_id, {"skipped": skipped.count, "skipped_examples": json.dumps(skipped.examples)}
        )
    client.ledger.set_submitted(job_id, total, chunks, settings.results_ttl_s)
    return Submitted(
        job_id, total, chunks, version, time.perf_counter() - t0, skipped.count, skipped.examples
    )


def status(client: Client, job_id: str) -> JobStatus:
    st = client.ledger.status(job_id)
    if st is None:
        raise JobError(f"no job {job_id!r} (see `catalog jobs`)")
    return st


def wait(
    client: Client,
    job_id: str,
    on_progress: Callable[[JobStatus], None] | None = None,
    poll_s: float = 0.25,
    timeout_s: float | None = None,
) -> JobStatus:
    """Block until the job is done or cancelled."""
    deadline = time.monotonic() + timeout_s if timeout_s else None
    while True:
        st = status(client, job_id)
        if on_progress:
            on_progress(st)
        if st.state in ("done", "cancelled", "failed"):
            return st
        if deadline and time.monotonic() > deadline:
            raise JobError(
                f"job {job_id} not finished after {timeout_s:.0f} s: {st.processed}/"
                f"{st.total} items"
            )
        time.sleep(poll_s)


def iter_results(client: Client, job_id: str) -> Iterator[dict[str, Any]]:
    """Every row of the job in input order (chunk order, then item order)."""
    st = status(client, job_id)
    if st.state != "done":
        raise JobError(
            f"job {job_id} is {st.state} ({st.processed}/{st.total} items): "
            "results are complete only when it is done"
        )
    for chunk in range(st.chunks):
        raw = client.ledger.chunk_rows(job_id, chunk)
        if raw is None:
            raise JobError(f"job {job_id}: results of chunk {chunk} are missing (expired?)")
        yield from json.loads(raw)


def write_results(client: Client, job_id: str, out: Path) -> int:
    from worker.results_io import write_rows

    st = status(client, job_id)
    n = write_rows(iter_results(client, job_id), out)
    if n != st.total:
        raise JobError(f"job {job_id}: wrote {n} rows for {st.total} items")
    return n


def cancel(client: Client, job_id: str) -> JobStatus:
    st = status(client, job_id)
    if st.state in ("done", "cancelled"):
        return st
    client.ledger.set_state(job_id, "cancelled")
    return status(client, job_id)
