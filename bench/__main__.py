"""Run the benchmarks: python -m bench [name ...].

Each bench/bench_<name>.py has run(), which sets up its own data, measures, and
prints its figures. Benchmarks measure; tests do not time anything.
"""

import importlib
import os
import pkgutil
import sys
import time

import bench


def main(argv):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pars.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or n.removeprefix("bench_") in argv or n in argv]
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        module.run()
        print(f"({name} took {time.perf_counter() - started:.1f}s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
