"""`catalog bench`: throughput ratios measured side by side in one run.

On the same images and model (DESIGN §5):
  floor        cores / (t_decode + t_infer), both measured here on one core
  in-process   the labeling code without Celery
  celery       end to end through Redis and Celery workers (submit -> results file)
  scaling      2 one-core workers vs 1 one-core worker
  seed loop    per-image TF decode + Keras `model.predict` (the notebooks' way)
  ORT vs Keras inference alone, batch 64
Peak RSS per worker process is sampled during the Celery run.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx_model import OnnxClassifier
from models.preprocessing import preprocess_file
from models.settings import Settings, cpu_count
from models.store import ModelRef


@dataclass
class Bench:
    rows: list[tuple[str, float, str]] = field(default_factory=list)  # name, img/s, note
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, rate: float, note: str = "") -> None:
        self.rows.append((name, rate, note))

    def rate(self, name: str) -> float:
        return next(r for n, r, _ in self.rows if n == name)


def _images(folder: Path, limit: int | None) -> list[Path]:
    """The items a labeling job on `folder` would have, by the same walk."""
    from itertools import islice

    from worker.sources import PathGuard, iter_items

    items = iter_items(folder, PathGuard([folder], allow_private_urls=False))
    return [Path(i.path) for i in islice(items, limit)]


def _floor(paths: list[Path], onnx: Path, size: tuple[int, int], batch: int) -> tuple[float, float]:
    """Per-image seconds of decode and of inference (at the workers' batch
    size), each on one core."""
    t = time.perf_counter()
    arrays = []
    for p in paths:
        try:
            arrays.append(preprocess_file(p, size))
        except Exception:
            continue
    t_decode = (time.perf_counter() - t) / len(paths)
    clf = OnnxClassifier.load(onnx, intra_op_threads=1)
    x = np.stack(arrays)
    clf.predict(x[:batch])  # warm-up
    t = time.perf_counter()
    for i in range(0, len(x), batch):
        clf.predict(x[i : i + batch])
    t_infer = (time.perf_counter() - t) / len(x)
    return t_decode, t_infer


def _in_process(paths: list[Path], onnx: Path, settings: Settings, cores: int) -> float:
    from worker.labeling import LabelOptions, label_items

    clf = OnnxClassifier.load(onnx, intra_op_threads=cores)
    opts = LabelOptions(batch_size=settings.batch_size, decode_threads=cores)
    items = [(str(p), str(p)) for p in paths]
    t = time.perf_counter()
    for i in range(0, len(items), settings.chunk_size):
        label_items(items[i : i + settings.chunk_size], clf, "bench", opts)
    return len(items) / (time.perf_counter() - t)


class _RssSampler(threading.Thread):
    """Peak RSS of every process under the given worker pids."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            for pid in self.pids:
                try:
                    root = psutil.Process(pid)
                    for p in [root, *root.children(recursive=True)]:
                        self.peak[p.pid] = max(self.peak.get(p.pid, 0), p.memory_info().rss)
                except psutil.Error:
                    continue
            time.sleep(0.1)


def _celery_run(
    catalog: Path,
    ref: ModelRef,
    settings: Settings,
    workers: list[tuple[int, set[int] | None]],
    sample_rss: bool = False,
) -> tuple[float, dict[int, int]]:
    """Label `catalog` through a private Redis and the given workers
    [(concurrency, cpus)], submit -> merged results file. Returns (img/s, peak RSS)."""
    from worker import jobs
    from worker.embedded import start_redis, start_worker, wait_for_workers

    server = start_redis()
    procs = []
    try:
        for i, (conc, cpus) in enumerate(workers):
            threads = max(1, (len(cpus) if cpus else cpu_count()) // conc)
            env = {
                "CATALOG_INTRA_OP_THREADS": str(threads),
                "CATALOG_DECODE_THREADS": str(max(2, threads)),
            }
            procs.append(
                start_worker(
                    server.url, conc, extra_env=env, cpus=cpus, name=f"bench{i}-{os.getpid()}@%h"
                )
            )
        wait_for_workers(server.url, len(procs))
        client = jobs.Client.connect(server.url)
        s = settings.model_copy(update={"allowed_roots": str(catalog)})
        # Warm-up job: loads the model in every pool process, outside the timing.
        with tempfile.TemporaryDirectory() as tmp:
            manifest = Path(tmp) / "warm.csv"
            files = _images(catalog, 64)
            manifest.write_text("id,path\n" + "".join(f"{i},{p}\n" for i, p in enumerate(files)))
            warm = jobs.submit(client, manifest, str(ref.onnx), s, chunk_size=4)
            jobs.wait(client, warm.job_id, poll_s=0.05)
        sampler = _RssSampler([p.proc.pid for p in procs])
        if sample_rss:
            sampler.start()
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            sub = jobs.submit(client, catalog, str(ref.onnx), s)
            st = jobs.wait(client, sub.job_id, poll_s=0.05)
            jobs.write_results(client, sub.job_id, Path(tmp) / "r.parquet")
            rate = st.total / (time.perf_counter() - t)
        sampler.stop.set()
        client.close()
        return rate, sampler.peak
    finally:
        for p in procs:
            p.stop()
        server.stop()


def _seed_loop(paths: list[Path], keras_path: Path, size: tuple[int, int]) -> float:
    """The notebooks' way: TF decode and `model.predict` one image at a time."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    model = keras.saving.load_model(keras_path, compile=False)
    h, w = size

    def one(p: Path) -> None:
        img = tf.io.decode_image(tf.io.read_file(str(p)), channels=3, expand_animations=False)
        x = tf.image.resize(img, (h, w))
        model.predict(tf.expand_dims(x, 0), verbose=0)

    one(paths[0])  # warm-up (graph tracing)
    t = time.perf_counter()
    for p in paths:
        one(p)
    return len(paths) / (time.perf_counter() - t)


def _ort_vs_keras(
    paths: list[Path], ref: ModelRef, size: tuple[int, int], repeats: int = 10
) -> dict[str, float]:
    import keras

    x = np.stack([preprocess_file(p, size) for p in paths[:64]]).astype(np.float32)
    x = np.resize(x, (64, *x.shape[1:]))
    model = keras.saving.load_model(ref.path / "model.keras", compile=False)
    out: dict[str, float] = {}

    def timed(fn: Callable[[], Any]) -> float:
        fn()
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return 64 / best

    out["keras"] = timed(lambda: model.predict(x, batch_size=64, verbose=0))
    fp32 = OnnxClassifier.load(ref.onnx)
    out["onnx_fp32"] = timed(lambda: fp32.predict(x))
    int8 = ref.path / "model.int8.onnx"
    if int8.is_file():
        q = OnnxClassifier.load(int8)
        out["onnx_int8"] = timed(lambda: q.predict(x))
    return out


def run_bench(
    images: Path,
    ref: ModelRef,
    settings: Settings,
    seed_images: int = 100,
    limit: int | None = None,
    echo: Callable[[str], None] = print,
) -> Bench:
    images = images.resolve()
    card = OnnxClassifier.load(ref.onnx).card
    size = card.input_size
    paths = _images(images, limit)
    cores = cpu_count()
    b = Bench()
    b.facts = {
        "images": len(paths),
        "folder": str(images),
        "model": ref.label,
        "input_size": list(size),
        "cores": cores,
        "machine": platform.processor() or platform.machine(),
        "cpu": _cpu_name(),
        "date": time.strftime("%Y-%m-%d"),
    }

    echo(f"floor: decode and infer {len(paths)} images on one core")
    t_dec, t_inf = _floor(paths, ref.onnx, size, settings.batch_size)
    b.facts.update(t_decode_ms=1000 * t_dec, t_infer_ms=1000 * t_inf)
    b.add("floor", cores / (t_dec + t_inf), f"{cores} / ({t_dec * 1e3:.2f} + {t_inf * 1e3:.2f} ms)")

    echo("in-process labeling (no Celery)")
    b.add("in-process", _in_process(paths, ref.onnx, settings, cores), "same code, one process")

    echo(f"Celery + Redis, {cores} processes, end to end")
    rate, peak = _celery_run(images, ref, settings, [(cores, None)], sample_rss=True)
    b.add("celery", rate, f"{cores} pool processes, submit -> results file")
    b.facts["peak_rss_mb"] = {str(k): round(v / 2**20) for k, v in peak.items()}

    if cores >= 2:
        echo("scaling: 1 one-core worker, then 2")
        r1, _ = _celery_run(images, ref, settings, [(1, {0})])
        r2, _ = _celery_run(images, ref, settings, [(1, {0}), (1, {1})])
        b.add("celery 1x1 core", r1, "one worker pinned to one core")
        b.add("celery 2x1 core", r2, "two workers, one core each")

    keras_path = ref.path / "model.keras"
    if keras_path.is_file():
        n = min(seed_images, len(paths))
        echo(f"seed-style loop on {n} images (TF decode + per-image predict)")
        b.add("seed loop", _seed_loop(paths[:n], keras_path, size), f"{n} images")
        echo("inference alone: Keras vs ONNX Runtime, batch 64")
        for k, v in _ort_vs_keras(paths, ref, size).items():
            b.add(f"infer {k}", v, "batch 64, all cores, inference only")
    return b


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def render(b: Bench) -> str:
    f = b.facts
    lines = [
        f"Benchmark {f['date']}: {f['images']} images from {f['folder']}, model {f['model']} "
        f"({f['input_size'][0]} px), {f['cores']} cores ({f['cpu']})",
        "",
        "| path | images/s | note |",
        "|---|---:|---|",
        *(f"| {n} | {r:.1f} | {note} |" for n, r, note in b.rows),
        "",
        "| ratio | value | target |",
        "|---|---:|---|",
    ]
    names = {n for n, _, _ in b.rows}

    def ratio(label: str, a: str, c: str, target: str) -> None:
        if a in names and c in names:
            lines.append(f"| {label} | {b.rate(a) / b.rate(c):.2f} | {target} |")

    ratio("celery / floor", "celery", "floor", ">= 0.8")
    ratio("celery / seed loop", "celery", "seed loop", ">= 20")
    ratio("2 workers / 1 (one core each)", "celery 2x1 core", "celery 1x1 core", ">= 1.7")
    ratio("celery / in-process", "celery", "in-process", ">= 0.9")
    ratio("ORT fp32 / Keras (batch 64)", "infer onnx_fp32", "infer keras", ">= 3")
    ratio("ORT int8 / ORT fp32 (batch 64)", "infer onnx_int8", "infer onnx_fp32", "reported")
    rss = f.get("peak_rss_mb", {})
    if rss:
        lines.append(f"| peak RSS per worker process (MB) | {max(rss.values())} | <= 600 |")
    return "\n".join(lines) + "\n"


def write(b: Bench, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    md = out_dir / f"bench-{stamp}.md"
    md.write_text(render(b))
    (out_dir / f"bench-{stamp}.json").write_text(
        json.dumps({"rows": b.rows, "facts": b.facts}, indent=2)
    )
    return md
