"""Where one page's time goes: pyinstrument over repeated requests, in process, on the load test's database.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.profile_page /find-a-provider/?q=cardiology
    .venv/bin/python -m bench.profile_page --as-user /organizations/ID/     # signed in as the load test's person

Run `make loadtest` first: it seeds the database this reads (LOADTEST_DATABASE, or
db/loadtest.sqlite3). Production settings, as under gunicorn; PROFILE_REQUESTS (200)
requests after a warm-up, then pyinstrument's call tree of the slowest frames.
"""

import os
import sys

from bench.loadtest import BENCH_EMAIL, environment


def main(argv: list[str]) -> None:
    as_user = "--as-user" in argv
    (path,) = [arg for arg in argv if not arg.startswith("--")]
    os.environ.update(environment())
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(HTTP_HOST="127.0.0.1")
    if as_user:
        client.force_login(get_user_model().objects.get(email=BENCH_EMAIL), backend="accounts.backends.EmailBackend")
    for _ in range(20):
        assert client.get(path).status_code == 200
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(int(os.environ.get("PROFILE_REQUESTS", "200"))):
            client.get(path)
    print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total"))


if __name__ == "__main__":
    main(sys.argv[1:])
