"""The model servers this process started, by the URL they serve, so that a client can tell
a dead child from a slow or briefly unreachable peer.

A remote endpoint that refuses connections may come back (a restart, a load balancer), so
the client retries it with backoff. A server we started and supervise that has exited will
not: the client asks `death(url)` when a request to it fails and stops at once with the
child's own account (exit signal, log tail) instead of retrying into a closed port.
"""

from __future__ import annotations

from collections.abc import Callable

_CHILDREN: dict[str, Callable[[], str | None]] = {}  # base URL -> a check: None while alive, else why it died


def register(base_url: str, check: Callable[[], str | None]) -> None:
    _CHILDREN[base_url.rstrip("/")] = check


def unregister(base_url: str) -> None:
    _CHILDREN.pop(base_url.rstrip("/"), None)


def death(url: str) -> str | None:
    """Why the supervised server behind `url` (its base URL or an endpoint under it) died; None
    when it is alive or not ours."""
    for base_url, check in _CHILDREN.items():
        if url.startswith(base_url):
            return check()
    return None
