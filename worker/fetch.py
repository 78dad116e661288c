"""Read an item's bytes from a local path or an http(s) URL.

Errors become `FetchError(kind, reason)`; the labeler turns them into error
rows. Transient failures (timeouts, 5xx, connection resets) are retried with
backoff; permanent ones (404, refused address, too large) are not.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from worker.sources import internal_address, is_url

RETRIES = 3


@dataclass(frozen=True)
class FetchError(Exception):
    kind: str  # io_error | not_found | fetch_error | forbidden | too_large
    reason: str
    transient: bool = False

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


def backoff(attempt: int, base: float = 0.2, cap: float = 2.0) -> float:
    """Delay before retry `attempt` (1-based): exponential, capped."""
    return float(min(cap, base * 2 ** (attempt - 1)))


def read_local(path: str, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise FetchError("not_found", f"no such file: {path}") from None
    except IsADirectoryError:
        raise FetchError("io_error", f"is a directory: {path}") from None
    except OSError as e:
        raise FetchError("io_error", str(e), transient=True) from None
    if len(data) > max_bytes:
        raise FetchError("too_large", f"file exceeds {max_bytes} bytes")
    return data


def _check_host(url: str, allow_private: bool) -> None:
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        bad = internal_address(host)
    except socket.gaierror as e:
        raise FetchError("fetch_error", f"cannot resolve {host}: {e}") from None
    if bad:
        raise FetchError("forbidden", f"{host} resolves to internal address {bad}")


def fetch_url(url: str, timeout: float, max_bytes: int, allow_private: bool) -> bytes:
    _check_host(url, allow_private)
    req = urllib.request.Request(url, headers={"User-Agent": "catalog-labeler"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data: bytes = resp.read(max_bytes + 1)
    except urllib.error.HTTPError as e:
        transient = e.code >= 500 or e.code == 429
        kind = "not_found" if e.code == 404 else "fetch_error"
        raise FetchError(kind, f"HTTP {e.code} for {url}", transient) from None
    except TimeoutError as e:
        raise FetchError("fetch_error", f"timeout fetching {url}: {e}", True) from None
    except urllib.error.URLError as e:
        transient = isinstance(e.reason, (TimeoutError, ConnectionResetError))
        raise FetchError("fetch_error", f"{url}: {e.reason}", transient) from None
    except (ConnectionError, OSError) as e:
        raise FetchError("fetch_error", f"{url}: {e}", True) from None
    if len(data) > max_bytes:
        raise FetchError("too_large", f"{url} exceeds {max_bytes} bytes")
    return data


def read_item(
    path: str, timeout: float, max_bytes: int, allow_private: bool, retries: int = RETRIES
) -> bytes:
    """Bytes of a local file or URL, retrying transient failures."""
    for attempt in range(1, retries + 1):
        try:
            if is_url(path):
                return fetch_url(path, timeout, max_bytes, allow_private)
            return read_local(path, max_bytes)
        except FetchError as e:
            if not e.transient or attempt == retries:
                raise
            time.sleep(backoff(attempt))
    raise AssertionError("unreachable")
