"""Job progress for the terminal: a rich bar with throughput, ETA and failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from worker.ledger import JobStatus


def status_line(st: JobStatus) -> str:
    eta = f", ETA {st.eta:.0f} s" if st.eta is not None else ""
    return (
        f"job {st.id} [{st.state}] model {st.model_version}: {st.processed}/{st.total} items "
        f"({st.done} labeled, {st.failed} failed), chunks {st.done_chunks}/{st.chunks}, "
        f"{st.rate:.1f} items/s over {st.elapsed:.1f} s{eta}"
        + (f"; {st.skipped} non-image files skipped" if st.skipped else "")
    )


class ProgressBar:
    """Context manager yielding a callback for `jobs.wait(on_progress=...)`."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[JobStatus], None]:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]labeling"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f} img/s"),
                TextColumn("failed {task.fields[failed]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("job", total=None, rate=0.0, failed=0)
        return self.update

    def update(self, st: JobStatus) -> None:
        if self._progress is not None:
            self._progress.update(
                self._task,
                total=st.total or None,
                completed=st.processed,
                rate=st.rate,
                failed=st.failed,
            )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
