"""Trivial job bodies, so the benchmarks measure the queue and worker, not the work."""


def noop(index: int) -> int:
    """Return the index."""
    return index
