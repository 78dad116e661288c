"""Celery settings that keep items from being lost, and their start-up checks."""

from __future__ import annotations

import ssl

import pytest

from models.errors import CatalogError
from models.settings import Settings
from worker.celery import beat_schedule, celery_config, check_time_limits


def test_defaults_that_matter() -> None:
    c = celery_config(Settings(broker_url="redis://:pw@host:6379/0"))
    assert c["task_acks_late"] and c["task_reject_on_worker_lost"]
    assert c["worker_prefetch_multiplier"] == 1
    assert c["task_serializer"] == "json" and c["accept_content"] == ["json"]
    assert c["task_time_limit"] < c["broker_transport_options"]["visibility_timeout"]
    assert c["worker_send_task_events"] and c["task_send_sent_event"]
    assert c["result_backend"] == "redis://:pw@host:6379/0"
    assert "broker_use_ssl" not in c


def test_tls_urls_verify_certificates() -> None:
    c = celery_config(Settings(broker_url="rediss://:pw@host:6380/0"))
    assert c["broker_use_ssl"]["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert c["redis_backend_use_ssl"]["ssl_cert_reqs"] == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    "kw",
    [
        {"task_time_limit_s": 3600, "visibility_timeout_s": 3600},
        {"retrain_time_limit_s": 7200, "visibility_timeout_s": 3600},
        {"retrain_lock_ttl_s": 100, "retrain_time_limit_s": 200},
    ],
)
def test_start_up_refuses_limits_that_would_redeliver_running_tasks(kw: dict[str, int]) -> None:
    with pytest.raises(CatalogError):
        check_time_limits(Settings.model_validate(kw))


def test_beat_schedule_from_settings() -> None:
    sched = beat_schedule(Settings(retrain_schedule="slash=0 3 * * *;clothing=30 4 * * 0"))
    assert set(sched) == {"retrain-slash", "retrain-clothing"}
    entry = sched["retrain-slash"]
    assert entry["task"] == "worker.tasks.retrain_scheduled" and entry["args"] == ["slash"]
    assert entry["options"]["queue"] == "training"
