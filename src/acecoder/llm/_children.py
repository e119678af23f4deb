"""The model servers this process started, by the URL they serve, so that a client can tell
a dead child from a slow or briefly unreachable peer.

A remote endpoint that refuses connections may come back (a restart, a load balancer), so
the client retries it with backoff. A server we started and supervise that has exited will
not: the client asks `death(url)` when a request to it fails and stops at once with the
child's own account (exit signal, log tail) instead of retrying into a closed port.

A child also says whether it seeds the samples of one request apart (`seeded_n`): llama.cpp's
server gives the k-th sample of a request with `n` and `seed` the seed `seed + k`, which is
the client's own rule for seeded samples, so their prompt is processed once, not n times.
"""

from __future__ import annotations

from collections.abc import Callable

_CHILDREN: dict[str, Callable[[], str | None]] = {}  # base URL -> a check: None while alive, else why it died
_SEEDED_N: set[str] = set()  # base URLs whose server seeds sample k of a seeded request with seed + k


def register(base_url: str, check: Callable[[], str | None], *, seeded_n: bool = False) -> None:
    _CHILDREN[base_url.rstrip("/")] = check
    if seeded_n:
        _SEEDED_N.add(base_url.rstrip("/"))


def unregister(base_url: str) -> None:
    _CHILDREN.pop(base_url.rstrip("/"), None)
    _SEEDED_N.discard(base_url.rstrip("/"))


def seeded_n(base_url: str) -> bool:
    """Whether the server at `base_url`, one of ours, gives sample k of a request with `n`
    and `seed` the seed `seed + k` (as if each had been asked for alone)."""
    return base_url.rstrip("/") in _SEEDED_N


def death(url: str) -> str | None:
    """Why the supervised server behind `url` (its base URL or an endpoint under it) died; None
    when it is alive or not ours."""
    for base_url, check in _CHILDREN.items():
        if url.startswith(base_url):
            return check()
    return None
