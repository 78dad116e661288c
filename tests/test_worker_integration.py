"""Real Redis, real Celery worker processes, real images: nothing mocked."""

from __future__ import annotations

import csv
import http.server
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest

from catalog.samples import generate
from models.settings import Settings
from worker import jobs
from worker.results_io import read_rows
from worker.sources import SubmitError

pytestmark = pytest.mark.slow


def settings(tmp_path: Path, **kw: Any) -> Settings:
    kw.setdefault("allowed_roots", str(tmp_path))
    return Settings(model_store=tmp_path / "unused-store", **kw)


@pytest.fixture(scope="module")
def mixed_catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """475 good images (some under a wrong extension) + 25 broken ones."""
    root = tmp_path_factory.mktemp("mixed")
    cat = root / "catalog"
    generate(cat, per_class=119, broken=25, seed=11, flat=True)
    truth = {}
    with (root / "catalog.truth.csv").open() as f:
        for r in csv.DictReader(f):
            truth[r["path"]] = r["error_kind"] or "label:" + r["label"]
    victim = sorted(k for k, v in truth.items() if v.startswith("label:"))[0]
    (cat / victim).unlink()
    del truth[victim]
    assert len(truth) == 500
    return cat, truth


def test_every_item_yields_exactly_one_row(
    client: Any, exported: Any, mixed_catalog: tuple[Path, dict[str, str]]
) -> None:
    cat, truth = mixed_catalog
    s = settings(cat.parent)
    sub = jobs.submit(client, cat, str(exported.ref.onnx), s, chunk_size=40)
    st = jobs.wait(client, sub.job_id, timeout_s=180)
    assert st.state == "done" and st.total == 500 and st.chunks == 13
    assert (st.done, st.failed) == (475, 25) and st.processed == st.total
    rows = list(jobs.iter_results(client, sub.job_id))
    ids = [r["id"] for r in rows]
    assert len(ids) == 500 and set(ids) == set(truth)  # none missing, none duplicated
    by_id = {r["id"]: r for r in rows}
    errors = Counter(by_id[i]["error_kind"] for i, t in truth.items() if not t.startswith("label"))
    assert errors == Counter(
        {"truncated": 5, "empty": 5, "not_image": 5, "too_large": 5, "corrupt": 5}
    )
    good = [i for i, t in truth.items() if t.startswith("label:")]
    assert all(by_id[i]["label"] and by_id[i]["error"] is None for i in good)
    wrong_ext = [
        i for i in good if (i.endswith(".png")) != (Path(cat / i).read_bytes()[:4] == b"\x89PNG")
    ]
    assert wrong_ext, "the catalog should hold images under a wrong extension"
    correct = sum(by_id[i]["label"] == truth[i].removeprefix("label:") for i in good)
    assert correct / len(good) >= 0.8


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_results_round_trip(
    client: Any, exported: Any, sample_catalog: Path, tmp_path: Path, suffix: str
) -> None:
    s = settings(sample_catalog.parent)
    sub = jobs.submit(client, sample_catalog, str(exported.ref.onnx), s, chunk_size=50)
    jobs.wait(client, sub.job_id, timeout_s=120)
    out = tmp_path / f"labels{suffix}"
    assert jobs.write_results(client, sub.job_id, out) == sub.total
    back = list(read_rows(out))
    direct = list(jobs.iter_results(client, sub.job_id))
    assert back == direct  # same rows, same order, same types


def test_manifest_with_urls(
    client: Any, exported: Any, sample_catalog: Path, tmp_path: Path
) -> None:
    """Served over loopback HTTP (allowed in tests); a dead port is an error row."""
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(sample_catalog), **k
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = httpd.server_address[1]
        image = sorted((sample_catalog / "mug").glob("*.jpg"))[0].name
        dead = _closed_port()
        manifest = tmp_path / "m.csv"
        manifest.write_text(
            "id,path\n"
            f"served,http://127.0.0.1:{port}/mug/{image}\n"
            f"missing,http://127.0.0.1:{port}/mug/nope.jpg\n"
            f"dead,http://127.0.0.1:{dead}/x.jpg\n"
            f"local,{sample_catalog / 'mug' / image}\n"
        )
        s = settings(
            tmp_path, allow_private_urls=True, allowed_roots=f"{tmp_path}:{sample_catalog}"
        )
        sub = jobs.submit(client, manifest, str(exported.ref.onnx), s)
        jobs.wait(client, sub.job_id, timeout_s=120)
        rows = {r["id"]: r for r in jobs.iter_results(client, sub.job_id)}
    finally:
        httpd.shutdown()
    assert rows["served"]["label"] == rows["local"]["label"]
    assert rows["served"]["confidence"] == rows["local"]["confidence"]
    assert rows["missing"]["error_kind"] == "not_found"
    assert rows["dead"]["error_kind"] == "fetch_error"


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_traversal_and_forbidden_urls_rejected_at_submit(
    client: Any, exported: Any, tmp_path: Path
) -> None:
    s = settings(tmp_path)
    bad_path = tmp_path / "traversal.csv"
    bad_path.write_text("id,path\na,../../../../etc/passwd\n")
    with pytest.raises(SubmitError, match="outside the allowed roots"):
        jobs.submit(client, bad_path, str(exported.ref.onnx), s)
    bad_url = tmp_path / "ssrf.jsonl"
    bad_url.write_text(
        '{"id": "meta", "path": "http://169.254.169.254/latest/meta-data"}\n'
        '{"id": "local", "path": "http://127.0.0.1:6379/"}\n'
    )
    with pytest.raises(SubmitError, match=r"link-local|private"):
        jobs.submit(client, bad_url, str(exported.ref.onnx), s)


def test_symlink_out_of_root_is_rejected(
    client: Any, exported: Any, tmp_path: Path, sample_catalog: Path
) -> None:
    cat = tmp_path / "cat"
    cat.mkdir()
    os.symlink(next((sample_catalog / "mug").glob("*.jpg")), cat / "link.jpg")
    with pytest.raises(SubmitError, match="outside"):
        jobs.submit(client, cat, str(exported.ref.onnx), Settings(allowed_roots=str(cat)))


def _pool_children(worker: Any) -> list[psutil.Process]:
    return psutil.Process(worker.proc.pid).children(recursive=True)


def test_sigkill_of_a_pool_process_loses_nothing(
    client: Any, exported: Any, celery_worker: Any, tmp_path: Path
) -> None:
    cat = tmp_path / "big"
    generate(cat, per_class=150, broken=0, seed=5, flat=True)  # 600 images
    sub = jobs.submit(client, cat, str(exported.ref.onnx), settings(tmp_path), chunk_size=20)
    deadline = time.monotonic() + 60
    while jobs.status(client, sub.job_id).done_chunks < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victims = _pool_children(celery_worker)
    assert victims, "no pool processes found"
    for v in victims:  # both are busy with a chunk: at least one in-flight task dies
        v.send_signal(signal.SIGKILL)
    st = jobs.wait(client, sub.job_id, timeout_s=240)
    log = celery_worker.log.read_text()
    assert "signal 9" in log or "WorkerLostError" in log, "the kill was not noticed"
    assert st.state == "done" and (st.done, st.failed) == (600, 0)
    rows = list(jobs.iter_results(client, sub.job_id))
    assert len(rows) == 600 and len({r["id"] for r in rows}) == 600


def test_worker_processes_never_load_tensorflow(client: Any, celery_worker: Any) -> None:
    procs = [psutil.Process(celery_worker.proc.pid), *_pool_children(celery_worker)]
    assert len(procs) >= 3
    for p in procs:
        maps = Path(f"/proc/{p.pid}/maps").read_text()
        assert "tensorflow" not in maps, f"pid {p.pid} mapped TensorFlow"
    # the pool processes did run inference (ORT is loaded), so the check means something
    assert any("onnxruntime" in Path(f"/proc/{p.pid}/maps").read_text() for p in procs[1:])


def test_cancel_stops_a_job(client: Any, exported: Any, tmp_path: Path) -> None:
    cat = tmp_path / "c"
    generate(cat, per_class=100, broken=0, seed=9, flat=True)
    sub = jobs.submit(client, cat, str(exported.ref.onnx), settings(tmp_path), chunk_size=5)
    st = jobs.cancel(client, sub.job_id)
    assert st.state == "cancelled"
    with pytest.raises(jobs.JobError, match="cancelled"):
        list(jobs.iter_results(client, sub.job_id))


def test_unknown_job_is_a_clear_error(client: Any) -> None:
    with pytest.raises(jobs.JobError, match="no job"):
        jobs.status(client, "nope")


def test_a_chunk_that_keeps_failing_still_yields_error_rows(client: Any, tmp_path: Path) -> None:
    """Model file gone: retried with backoff, then one error row per item."""
    job_id = "brokenmodel01"
    client.ledger.create(job_id, {"model_version": "ghost"})
    items = [["a", str(tmp_path / "a.jpg")], ["b", str(tmp_path / "b.jpg")]]
    client.app.send_task(
        "worker.tasks.label_chunk",
        args=[job_id, 0, str(tmp_path / "gone.onnx"), "ghost", items],
        queue="labeling",
    )
    client.ledger.set_submitted(job_id, total=2, chunks=1, ttl=600)
    st = jobs.wait(client, job_id, timeout_s=90)
    assert st.state == "done" and (st.done, st.failed) == (0, 2)
    rows = list(jobs.iter_results(client, job_id))
    assert [r["error_kind"] for r in rows] == ["worker_error", "worker_error"]


def test_submit_enqueues_over_20000_items_per_second(
    client: Any, exported: Any, tmp_path: Path
) -> None:
    """The whole submit path (stream, guard, chunk, enqueue to Redis); the job
    is cancelled right after, so workers only skip its chunks."""
    m = tmp_path / "big.csv"
    with m.open("w") as f:
        f.write("id,path\n")
        for i in range(200_000):
            f.write(f"{i},img/{i % 50}/{i}.jpg\n")
    sub = jobs.submit(client, m, str(exported.ref.onnx), settings(tmp_path), chunk_size=256)
    jobs.cancel(client, sub.job_id)
    assert sub.total == 200_000 and sub.chunks == 782
    rate = sub.total / sub.seconds
    assert rate >= 20_000, f"{rate:.0f} items/s"


def test_cli_submit_status_results_against_running_workers(
    redis_url: str, celery_worker: Any, exported: Any, sample_catalog: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    env = {
        **os.environ,
        "CATALOG_BROKER_URL": redis_url,
        "CATALOG_ALLOWED_ROOTS": str(sample_catalog),
    }

    def catalog(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "catalog.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    sub = catalog("submit", str(sample_catalog), "--model", str(exported.ref.onnx))
    assert sub.returncode == 0, sub.stderr
    job = sub.stdout.strip()
    assert len(job) == 16
    st = catalog("status", job, "--watch")
    assert st.returncode == 0 and "[done]" in st.stdout and "(120 labeled, 5 failed)" in st.stdout
    out = tmp_path / "r.csv"
    res = catalog("results", job, "--out", str(out))
    assert res.returncode == 0 and len(list(read_rows(out))) == 125
    assert job in catalog("jobs").stdout
    bad = catalog("results", "nope", "--out", str(out))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
