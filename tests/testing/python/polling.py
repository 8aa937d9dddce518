"""Waiting for something a server does in the background, with a deadline
(a hang detector, not a timing assertion)."""

import time

DEADLINE_S = 20


def wait_for_count(collect, count, what, timeout=DEADLINE_S):
    """Polls `collect()` until it returns at least `count` items, and returns
    them; fails saying how many of `what` came instead."""
    deadline = time.monotonic() + timeout
    while True:
        items = collect()
        if len(items) >= count:
            return items
        if time.monotonic() >= deadline:
            raise AssertionError("%d %s expected, %d came" % (count, what, len(items)))
        time.sleep(0.02)
