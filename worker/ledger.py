"""The job ledger and chunk results, in Redis.

Keys (prefix `catalog:`):
  job:<id>                 hash: state, catalog, model, model_version, model_path,
                           total, chunks, done_chunks, done, failed, timings
  job:<id>:chunk_counts    hash: chunk -> "labeled,failed" (for exact totals)
  job:<id>:result:<chunk>  JSON list of result rows for that chunk
  jobs                     sorted set of job ids by creation time

Chunk results are written and counted in one Lua script, so a redelivered
chunk overwrites its rows and corrects the totals instead of adding to them:
every item is counted once, whatever the number of deliveries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

PREFIX = "catalog:"

# KEYS: job hash, chunk_counts hash, result key. ARGV: chunk, ok, err, rows, ttl, now
_STORE_CHUNK = """
local prev = redis.call('HGET', KEYS[2], ARGV[1])
local ok, err = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'EX', tonumber(ARGV[5]))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ',' .. ARGV[3])
if prev then
  local pok, perr = string.match(prev, '(%d+),(%d+)')
  redis.call('HINCRBY', KEYS[1], 'done', ok - tonumber(pok))
  redis.call('HINCRBY', KEYS[1], 'failed', err - tonumber(perr))
else
  redis.call('HINCRBY', KEYS[1], 'done', ok)
  redis.call('HINCRBY', KEYS[1], 'failed', err)
  redis.call('HINCRBY', KEYS[1], 'done_chunks', 1)
end
local j = redis.call('HMGET', KEYS[1], 'done_chunks', 'chunks', 'state')
if j[3] == 'running' and tonumber(j[1]) >= tonumber(j[2]) then
  redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[6])
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[6])
return prev and 0 or 1
"""


def job_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}"


def result_key(job_id: str, chunk: int) -> str:
    return f"{PREFIX}job:{job_id}:result:{chunk}"


@dataclass
class JobStatus:
    id: str
    state: str
    total: int
    chunks: int
    done_chunks: int
    done: int
    failed: int
    model: str
    model_version: str
    catalog: str
    created_at: float
    finished_at: float | None
    updated_at: float | None
    skipped: int = 0

    @property
    def processed(self) -> int:
        return self.done + self.failed

    @property
    def elapsed(self) -> float:
        """Seconds since the job was created (submission included)."""
        end = self.finished_at or time.time()
        return max(0.0, end - self.created_at)

    @property
    def rate(self) -> float:
        """Items per second since the job was created."""
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.state != "running" or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.processed) / self.rate)


def _f(v: Any) -> float | None:
    return float(v) if v not in (None, "") else None


class Ledger:
    def __init__(self, redis: Any) -> None:
        self.r = redis
        self._store_chunk = redis.register_script(_STORE_CHUNK)

    def create(self, job_id: str, fields: dict[str, Any]) -> None:
        now = time.time()
        self.r.hset(
            job_key(job_id),
            mapping={
                "state": "submitting",
                "total": 0,
                "chunks": 0,
                "done_chunks": 0,
                "done": 0,
                "failed": 0,
                "created_at": now,
                **fields,
            },
        )
        self.r.zadd(f"{PREFIX}jobs", {job_id: now})

    def set_submitted(self, job_id: str, total: int, chunks: int, ttl: int) -> None:
        """All chunks are enqueued: the job becomes `running` (or `done` if
        workers already finished every chunk while we were submitting)."""
        key = job_key(job_id)
        with self.r.pipeline() as p:
            p.hset(
                key,
                mapping={
                    "total": total,
                    "chunks": chunks,
                    "state": "running",
                    "submitted_at": time.time(),
                },
            )
            p.hget(key, "done_chunks")
            _, done_chunks = p.execute()
        if int(done_chunks or 0) >= chunks:
            self.r.hset(key, mapping={"state": "done", "finished_at": time.time()})
        self.r.expire(key, ttl)
        self.r.expire(f"{key}:chunk_counts", ttl)

    def store_chunk(
        self, job_id: str, chunk: int, rows_json: str, ok: int, err: int, ttl: int
    ) -> bool:
        """Write a chunk's rows and counts atomically. True on first delivery."""
        key = job_key(job_id)
        first = self._store_chunk(
            keys=[key, f"{key}:chunk_counts", result_key(job_id, chunk)],
            args=[chunk, ok, err, rows_json, ttl, time.time()],
        )
        return bool(first)

    def set_fields(self, job_id: str, fields: dict[str, Any]) -> None:
        self.r.hset(job_key(job_id), mapping=fields)

    def state(self, job_id: str) -> str | None:
        s = self.r.hget(job_key(job_id), "state")
        return s.decode() if isinstance(s, bytes) else s

    def set_state(self, job_id: str, state: str) -> None:
        self.r.hset(job_key(job_id), mapping={"state": state, "finished_at": time.time()})

    def status(self, job_id: str) -> JobStatus | None:
        raw = self.r.hgetall(job_key(job_id))
        if not raw:
            return None
        h = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        return JobStatus(
            id=job_id,
            state=h.get("state", "?"),
            total=int(h.get("total", 0)),
            chunks=int(h.get("chunks", 0)),
            done_chunks=int(h.get("done_chunks", 0)),
            done=int(h.get("done", 0)),
            failed=int(h.get("failed", 0)),
            model=h.get("model", ""),
            model_version=h.get("model_version", ""),
            catalog=h.get("catalog", ""),
            created_at=float(h.get("created_at", 0)),
            finished_at=_f(h.get("finished_at")),
            updated_at=_f(h.get("updated_at")),
            skipped=int(h.get("skipped", 0)),
        )

    def jobs(self, limit: int = 50) -> list[str]:
        ids = self.r.zrevrange(f"{PREFIX}jobs", 0, limit - 1)
        return [i.decode() if isinstance(i, bytes) else i for i in ids]

    def chunk_rows(self, job_id: str, chunk: int) -> bytes | None:
        v: bytes | None = self.r.get(result_key(job_id, chunk))
        return v
