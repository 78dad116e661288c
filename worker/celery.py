"""The Celery application: `celery -A worker worker -Q labeling` finds `app` here.

Settings that keep items from being lost (DESIGN §4):
- `task_acks_late` + `task_reject_on_worker_lost`: a task whose pool process
  dies (SIGKILL, OOM) goes back to the queue instead of vanishing;
- the hard time limit stays below Redis's `visibility_timeout`, or Redis would
  hand a still-running task to a second worker (checked here, at start-up);
- prefetch multiplier 1: a long chunk never sits reserved behind another.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import celeryd_init

from models.errors import CatalogError
from models.settings import Settings, cpu_count, get_settings

LABELING_QUEUE = "labeling"
TRAINING_QUEUE = "training"


def check_time_limits(s: Settings) -> None:
    for name, limit in (
        ("TASK_TIME_LIMIT_S", s.task_time_limit_s),
        ("RETRAIN_TIME_LIMIT_S", s.retrain_time_limit_s),
    ):
        if limit >= s.visibility_timeout_s:
            raise CatalogError(
                f"CATALOG_{name} ({limit}) must be below CATALOG_VISIBILITY_TIMEOUT_S "
                f"({s.visibility_timeout_s}): otherwise Redis redelivers a task that is "
                "still running"
            )
    if s.retrain_lock_ttl_s <= s.retrain_time_limit_s:
        raise CatalogError("CATALOG_RETRAIN_LOCK_TTL_S must exceed CATALOG_RETRAIN_TIME_LIMIT_S")


def beat_schedule(s: Settings) -> dict[str, Any]:
    from worker.schedule import crontab_from, parse_map

    return {
        f"retrain-{name}": {
            "task": "worker.tasks.retrain_scheduled",
            "schedule": crontab_from(expr),
            "args": [name],
            "options": {"queue": TRAINING_QUEUE},
        }
        for name, expr in parse_map(s.retrain_schedule, "CATALOG_RETRAIN_SCHEDULE").items()
    }


def celery_config(s: Settings) -> dict[str, Any]:
    check_time_limits(s)
    broker = s.broker_url or "redis://127.0.0.1:6379/0"
    transport = {"visibility_timeout": s.visibility_timeout_s}
    tls: dict[str, Any] = {}
    if broker.startswith("rediss://") and "ssl_cert_reqs" not in broker:
        # TLS to Redis: verify the server's certificate unless the URL says
        # otherwise (kombu and the Redis result backend both need to be told).
        import ssl

        tls = {
            "broker_use_ssl": {"ssl_cert_reqs": ssl.CERT_REQUIRED},
            "redis_backend_use_ssl": {"ssl_cert_reqs": ssl.CERT_REQUIRED},
        }
    return {
        **tls,
        "broker_url": broker,
        "result_backend": s.result_backend or broker,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": s.task_time_limit_s,
        "task_soft_time_limit": max(1, s.task_time_limit_s - 30),
        "worker_max_memory_per_child": s.worker_max_memory_per_child_kb,
        "task_default_queue": LABELING_QUEUE,
        "task_routes": {
            "worker.tasks.label_chunk": {"queue": LABELING_QUEUE},
            "worker.tasks.retrain": {"queue": TRAINING_QUEUE},
            "worker.tasks.retrain_scheduled": {"queue": TRAINING_QUEUE},
        },
        "task_annotations": {
            "worker.tasks.retrain": {"time_limit": s.retrain_time_limit_s},
            "worker.tasks.retrain_scheduled": {"time_limit": s.retrain_time_limit_s},
        },
        "beat_schedule": beat_schedule(s),
        "timezone": "UTC",
        # Events on, so Flower and `celery events` see tasks.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_ignore_result": True,  # results live in our own ledger keys
        "worker_hijack_root_logger": False,
    }


app = Celery("catalog", include=["worker.tasks", "worker.training_tasks"])
app.conf.update(celery_config(get_settings()))


@celeryd_init.connect
def _pin_threads(sender: Any = None, instance: Any = None, **_: Any) -> None:
    """Before the pool forks: give each process cores // concurrency ORT threads
    (processes x threads <= cores) unless CATALOG_INTRA_OP_THREADS says otherwise."""
    if not os.environ.get("CATALOG_INTRA_OP_THREADS"):
        concurrency = getattr(instance, "concurrency", None) or cpu_count()
        os.environ["CATALOG_INTRA_OP_THREADS"] = str(max(1, cpu_count() // int(concurrency)))
