"""`make bench`: every benchmark in turn (or those named: python -m bench fanout api), each
printing one table; progress goes to stderr."""

import importlib
import sys

from bench import common

BENCHMARKS = ("fanout", "outbox_indexes", "reminder_burst", "api", "jobs")


def main() -> None:
    names = sys.argv[1:] or BENCHMARKS
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    print(f"Measured on {common.machine()}\n", flush=True)
    for name in names:
        common.progress(f"bench.{name}")
        importlib.import_module(f"bench.{name}").main()
        print(flush=True)


if __name__ == "__main__":
    main()
