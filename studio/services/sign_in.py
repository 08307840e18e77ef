"""Failed sign-ins are counted, so guessing a password is slow: the page and the token
endpoint refuse an address after too many failures, for the rest of a 15-minute window.

Counted per (account, address) and per address, never per account alone: a lock on the
account would let anyone lock a member out by failing on purpose. The counters live in the
cache (Redis when REDIS_URL is set, so every Daphne process shares them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache

WINDOW_S = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5  # from one address
MAX_FAILURES_PER_ADDRESS = 30  # over every account


def client_address(meta: Mapping[str, Any]) -> str:
    """The caller's address: REMOTE_ADDR, or the entry NUM_PROXIES hops back in
    X-Forwarded-For when Studio runs behind that many trusted proxies. Without a configured
    proxy count the header is ignored: anyone can write it."""
    remote = str(meta.get("REMOTE_ADDR", ""))
    proxies = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote


def _keys(username: str, address: str) -> tuple[str, str]:
    account = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return f"sign-in:account:{account}", f"sign-in:address:{address}"


def sign_in_blocked(username: str, address: str) -> bool:
    """True while this address has failed too often (for this account or in all)."""
    account_key, address_key = _keys(username, address)
    counts = cache.get_many([account_key, address_key])
    return (
        counts.get(account_key, 0) >= MAX_FAILURES_PER_ACCOUNT
        or counts.get(address_key, 0) >= MAX_FAILURES_PER_ADDRESS
    )


def sign_in_failed(username: str, address: str) -> None:
    for key in _keys(username, address):
        cache.add(key, 0, timeout=WINDOW_S)  # the window starts at the first failure
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_S)


def sign_in_succeeded(username: str, address: str) -> None:
    """A right password clears this account's count from this address (not the address's)."""
    cache.delete(_keys(username, address)[0])


BLOCKED_MESSAGE = (
    "Too many failed sign-ins from this address. Wait 15 minutes and try again, "
    "or ask a producer of your project to reset your password."
)
