"""The pages as users meet them: HTTP against gunicorn under production settings, driven by wrk.

    make loadtest                                  # SQLite (db/loadtest.sqlite3), 10,000 organizations
    DATABASE_URL=postgres://... make loadtest      # PostgreSQL, in its own database (LOADTEST_DATABASE)
    BENCH_ORGS=100000 LOADTEST_PAGES=directory LOADTEST_CONNECTIONS=1 make loadtest

It seeds N organizations (BENCH_ORGS, default 10,000; bulk inserts, each with
exactly one primary) plus four organizations made through the services (3-
and 40-person rosters, one with 5,000 entries of history, one for edits), starts gunicorn on 127.0.0.1 with
production settings (DJANGO_DEBUG=0, a throwaway SECRET_KEY, the manifest
static files, PARS_BENCH_VIEWS=1 for the reference pages and the SQL
count header), and drives every page with wrk in interleaved rounds: every
page once per round, so a page's ratio to the bare view and to the floor page
compares figures measured seconds apart. It prints one table (medians of the
rounds; p99 is the worst round's) and the workers' memory.

PostgreSQL: DATABASE_URL names a server and a role that may create databases;
the load test never touches that database but creates LOADTEST_DATABASE
(default pars_loadtest). A seeded database of the right size is reused
(LOADTEST_FRESH=1 seeds again). Bounded: ROUNDS x pages x SECONDS, about two
minutes by default.

Knobs: LOADTEST_ROUNDS (3), LOADTEST_SECONDS (3), LOADTEST_CONNECTIONS (8),
LOADTEST_WORKERS (5), LOADTEST_PAGES (comma-separated label prefixes),
LOADTEST_PORT (8765), DIRECTORY_CACHE_SECONDS (0 measures the directory's database work).
"""

import json
import os
import resource
import secrets
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
ORGANIZATIONS = int(os.environ.get("BENCH_ORGS", "10000"))
ROUNDS = int(os.environ.get("LOADTEST_ROUNDS", "3"))
SECONDS = int(os.environ.get("LOADTEST_SECONDS", "3"))
CONNECTIONS = int(os.environ.get("LOADTEST_CONNECTIONS", "8"))
WORKERS = int(os.environ.get("LOADTEST_WORKERS", "5"))
PORT = int(os.environ.get("LOADTEST_PORT", "8765"))
DATABASE_NAME = os.environ.get("LOADTEST_DATABASE", "pars_loadtest")
SQL_HEADER = "X-SQL-Statements"
PASSWORD = "loadtest-password-not-secret"
BENCH_EMAIL = "loadtest@bench.example.org"
ADMIN_EMAIL = "loadtest-admin@bench.example.org"
CSRF = secrets.token_hex(16)  # 32 characters: Django accepts it as the CSRF secret, cookie and header alike

WRK_SCRIPT = r"""
wrk.method = "%(method)s"
wrk.headers["Cookie"] = "%(cookie)s"
wrk.headers["X-CSRFToken"] = "%(csrf)s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local body = "%(body)s"
local n = 0
if body ~= "" then
  request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, body .. string.format("%%03d", n %% 1000))
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"errors":%%d,"timeouts":%%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status, e.timeout))
end
"""


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{BASE_DIR / 'db' / 'loadtest.sqlite3'}"
    scheme, netloc, path, query, fragment = urlsplit(url)
    if path.lstrip("/") == DATABASE_NAME:
        raise SystemExit(f"DATABASE_URL must name another database than the load test's {DATABASE_NAME!r}.")
    return urlunsplit((scheme, netloc, f"/{DATABASE_NAME}", query, fragment))


def postgres_database_ensure(server_url: str, fresh: bool) -> None:
    import psycopg2

    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        exists = cursor.fetchone() is not None
        if exists and fresh:
            cursor.execute(f'DROP DATABASE "{DATABASE_NAME}" WITH (FORCE)')
        if fresh or not exists:
            cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    connection.close()


def environment() -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="pars.settings",
        DJANGO_DEBUG="0",
        SECRET_KEY=env.get("LOADTEST_SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        PARS_BENCH_VIEWS="1",
        DATABASE_URL=bench_database_url(),
        EMAIL_URL="dummymail://",
        LOG_LEVEL="WARNING",
    )
    return env


def seed(count: int) -> dict:
    """The organizations (bulk) and the three the pages are measured on (through the services)."""
    from django.contrib.auth import get_user_model

    from bench.bench_directory import load
    from contacts import services
    from contacts.models import ContactRole, Organization, Role

    user_model = get_user_model()
    me = user_model.objects.filter(email=BENCH_EMAIL).first()
    if me and Organization.objects.count() in (count + 3, count + 4):
        print(f"reusing the seeded {count:,} organizations")
        if not ContactRole.objects.filter(organization__name=EDITS_NAME, role=Role.BILLING).exists():
            raise SystemExit("Seeded by an older load test (the edits went to a measured page): LOADTEST_FRESH=1.")
    else:
        if Organization.objects.exists():
            raise SystemExit("The load test's database holds other data: run with LOADTEST_FRESH=1.")
        started = time.perf_counter()
        load(count)
        me = user_model.objects.create_user(email=BENCH_EMAIL, password=PASSWORD, first_name="Lode", last_name="Tester")
        user_model.objects.create_superuser(email=ADMIN_EMAIL, password=PASSWORD)
        with redirect_stdout(StringIO()):
            for name, roster in [("Loadtest Three", 3), ("Loadtest Forty", 40)]:
                organization = services.organization_create(
                    primary=me, by=me, name=name, provider_id=name[-5:].upper(), city="Sacramento"
                ).organization
                services.contact_add(
                    organization=organization, email=f"billing@{roster}.example.org", role=Role.BILLING, by=me,
                    first_name="Bill", last_name=f"Payer{roster}",
                )  # fmt: skip
                for n in range(roster - 2):
                    services.contact_add(
                        organization=organization, email=f"staff{n}@{roster}.example.org", role=Role.STAFF, by=me,
                        first_name=f"Staff{n}", last_name=f"Member{roster}",
                    )  # fmt: skip
            edits = services.organization_create(primary=me, by=me, name=EDITS_NAME, provider_id="EDITS").organization
            services.contact_add(
                organization=edits, email="billing@edits.example.org", role=Role.BILLING, by=me,
                first_name="Bill", last_name="Edited",
            )  # fmt: skip
            deep_history_seed(me)
        print(f"seeded {count:,} organizations in {time.perf_counter() - started:.0f}s")
    three = Organization.objects.get(name="Loadtest Three")
    deep = Organization.objects.get(name=DEEP_NAME)
    # The roster-edit POST writes here, never to an organization whose pages are measured: a few thousand
    # phone changes a run would otherwise become the measured organization's history.
    edited = Organization.objects.get(name=EDITS_NAME).roles.get(role=Role.BILLING).person
    return {
        "three": three.pk,
        "forty": Organization.objects.get(name="Loadtest Forty").pk,
        "deep": deep.pk,
        "deep_oldest": oldest_history_cursor(deep),
        "edits": Organization.objects.get(name=EDITS_NAME).pk,
        "billing": edited.pk,
        "billing_email": edited.email,
        "provider": Organization.objects.in_directory().order_by("pk").values_list("pk", flat=True).first(),
        "me": user_model.objects.get(email=BENCH_EMAIL),
        "admin": user_model.objects.get(email=ADMIN_EMAIL),
    }


EDITS_NAME = "Loadtest Edits"
DEEP_NAME = "Loadtest Deep"
DEEP_ENTRIES = 5000


def deep_history_seed(me) -> None:
    """An organization with a 10-person roster and DEEP_ENTRIES entries of history, all made through the services.

    The mix a busy provider's years leave: mostly contacts' details corrected
    (the people stream), Billing Contacts replaced (the roster: a removal and an
    addition each), and the organization's own details edited.
    """
    from contacts import services
    from contacts.models import Role

    organization = services.organization_create(
        primary=me, by=me, name=DEEP_NAME, provider_id="DEEP", city="Fresno"
    ).organization
    billing = [
        services.person_get_or_create(
            email=f"billing{n}@deep.example.org", first_name="Bill", last_name=f"Deep{n}"
        ).person
        for n in range(2)
    ]
    services.role_assign(organization=organization, person=billing[0], role=Role.BILLING, by=me)
    staff = [
        services.contact_add(
            organization=organization, email=f"staff{n}@deep.example.org", role=Role.STAFF, by=me,
            first_name=f"Staff{n}", last_name="Deep",
        ).contact_role.person
        for n in range(7)
    ]  # fmt: skip
    entries = 10  # the creation and the roster so far
    number = 0
    while entries < DEEP_ENTRIES:
        number += 1
        if number % 10 == 0:
            services.role_replace(organization=organization, role=Role.BILLING, to=billing[number % 20 // 10], by=me)
            entries += 2
        elif number % 10 == 5:
            services.organization_update(organization=organization, by=me, city=f"Fresno {number}")
            entries += 1
        else:
            person = staff[number % len(staff)]
            services.person_update(person=person, by=None, phone=f"(559) 555-{number:04d}")
            entries += 1


def oldest_history_cursor(organization) -> str:
    """The ?before= cursor of the organization's oldest page of history, as "Older changes" links reach it."""
    from contacts.history import history_page
    from contacts.views import HistoryView

    cursor, before = None, None
    while True:
        _, older = history_page(organization, page=1, per_page=HistoryView.paginate_by, before=before)
        if older is None:
            return str(cursor)
        cursor = before = older


def session_cookie(user) -> str:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.tests.client import Client  # force_login also passes a second factor

    if user.is_staff:  # CME staff sign in with a second factor: give the admin one
        TOTPDevice.objects.get_or_create(user=user, name="loadtest", defaults={"confirmed": True})
    client = Client()
    client.force_login(user, backend="accounts.backends.EmailBackend")
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={CSRF}"


def pages(ids: dict, me: str, admin: str) -> list[dict]:
    three, forty = ids["three"], ids["forty"]
    edit_body = urlencode(
        {
            "first_name": "Bill",
            "last_name": "Edited",
            "credentials": "",
            "job_title": "",
            "email": ids["billing_email"],  # unchanged: the edit corrects the phone only
            "phone": "(916) 555-1",
        }
    )
    return [
        {"label": "bare view", "path": "/bench/bare"},
        {"label": "signed in, no layout", "path": "/bench/signed-in", "cookie": me},
        {"label": "floor page (signed in)", "path": "/bench/floor", "cookie": me},
        {"label": "sign-in page", "path": "/accounts/sign-in/"},
        {"label": "dashboard", "path": "/organizations/", "cookie": me},
        {"label": "profile, 3 people", "path": f"/organizations/{three}/", "cookie": me},
        {"label": "profile, 40 people", "path": f"/organizations/{forty}/", "cookie": me},
        {"label": "history, 3 people", "path": f"/organizations/{three}/history/", "cookie": me},
        {"label": "history, 40 people", "path": f"/organizations/{forty}/history/", "cookie": me},
        {"label": "profile, deep history", "path": f"/organizations/{ids['deep']}/", "cookie": me},
        {"label": "history 5,000, newest", "path": f"/organizations/{ids['deep']}/history/", "cookie": me},
        {
            "label": "history 5,000, oldest",
            "path": f"/organizations/{ids['deep']}/history/?{urlencode({'page': 2, 'before': ids['deep_oldest']})}",
            "cookie": me,
        },
        {"label": "directory (all)", "path": "/find-a-provider/"},
        {"label": "directory q=cardiology", "path": "/find-a-provider/?q=cardiology"},
        {"label": "directory q=san jose", "path": "/find-a-provider/?q=san+jose"},
        {"label": "directory q=la", "path": "/find-a-provider/?q=la"},
        {"label": "directory last page", "path": "/find-a-provider/?page=999999"},
        {"label": "directory JSON q=cardiology", "path": "/find-a-provider/providers.json?q=cardiology"},
        {"label": "provider page", "path": f"/find-a-provider/{ids['provider']}/"},
        {
            "label": "roster edit (POST)",
            "path": f"/organizations/{ids['edits']}/people/{ids['billing']}/edit/",
            "cookie": me,
            "method": "POST",
            "body": f"{edit_body}",
            "expect": 302,
        },
        {"label": "admin organization list", "path": "/admin/contacts/organization/", "cookie": admin},
    ]


def fetch(page: dict) -> tuple[int, str]:
    """One request outside wrk: its status and SQL statement count."""
    data = (page["body"] + "000").encode() if page.get("body") else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{page['path']}",
        data=data,
        method=page.get("method", "GET"),
        headers={"Cookie": page.get("cookie", f"csrftoken={CSRF}"), "X-CSRFToken": CSRF},
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    return response.status, response.headers.get(SQL_HEADER, "?")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def wrk(page: dict, seconds: int, script_dir: Path) -> dict:
    script = script_dir / "page.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "method": page.get("method", "GET"),
            "cookie": page.get("cookie", f"csrftoken={CSRF}"),
            "csrf": CSRF,
            "body": page.get("body", ""),
        }
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
         f"http://127.0.0.1:{PORT}{page['path']}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(output.split("RESULT ", 1)[1])
    result["wrk_cpu"] = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / seconds
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


# Measured in every run, whatever LOADTEST_PAGES chooses: the bare view, the floor page, and between them
# the cost of signing in alone (pars.bench).
REFERENCES = ("bare view", "signed in, no layout", "floor page (signed in)")


def measure(all_pages: list[dict], master: int) -> None:
    wanted = [p.strip() for p in os.environ.get("LOADTEST_PAGES", "").split(",") if p.strip()]
    chosen = [p for p in all_pages if p["label"] in REFERENCES]
    chosen += [p for p in all_pages if p not in chosen and (not wanted or p["label"].startswith(tuple(wanted)))]
    for page in chosen:
        status, _ = fetch(page)
        if status != page.get("expect", 200):
            raise SystemExit(f"{page['label']}: {page['path']} answered {status}, not {page.get('expect', 200)}")
    results = {page["label"]: [] for page in chosen}
    with tempfile.TemporaryDirectory() as script_dir:
        for page in chosen:  # warm every worker's caches and connections, then count one request's SQL
            wrk(page, 1, Path(script_dir))
            # The fewest of three: a worker's first request on a new connection adds PostgreSQL's type lookups.
            page["sql"] = min(int(fetch(page)[1]) for _ in range(3))
        for number in range(ROUNDS):
            print(f"round {number + 1} of {ROUNDS}", flush=True)
            for page in chosen:
                workers = worker_pids(master)
                cpu_before = cpu_seconds(workers)
                result = wrk(page, SECONDS, Path(script_dir))
                result["server_ms"] = (cpu_seconds(workers) - cpu_before) * 1000 / max(result["requests"], 1)
                results[page["label"]].append(result)
    report(chosen, results)
    rss = [int(line.split()[1]) for pid in worker_pids(master)
           for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS")]  # fmt: skip
    print(f"\nworker memory after the run (RSS): max {max(rss) / 1024:.0f} MB, {len(rss)} workers")


def report(chosen: list[dict], results: dict) -> None:
    bare, floor = results["bare view"], results["floor page (signed in)"]
    print(
        f"\n{'page':26} {'req/s':>7} {'/bare':>6} {'/floor':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
        f" {'SQL':>4} {'cpu ms':>6} {'cpu/bare':>8} {'wrk cpu':>7}"
    )
    for page in chosen:
        runs = results[page["label"]]
        median = statistics.median
        to_bare = median(r["rps"] / b["rps"] for r, b in zip(runs, bare, strict=True))
        to_floor = median(r["rps"] / f["rps"] for r, f in zip(runs, floor, strict=True))
        print(
            f"{page['label']:26} {median(r['rps'] for r in runs):7.0f} {to_bare:6.3f} {to_floor:6.2f}"
            f" {median(r['p50_us'] for r in runs) / 1000:7.1f} {max(r['p99_us'] for r in runs) / 1000:7.1f}"
            f" {sum(r['errors'] + r['timeouts'] for r in runs):6d} {page['sql']:>4}"
            f" {median(r['server_ms'] for r in runs):6.1f}"
            f" {median(b['server_ms'] / r['server_ms'] for r, b in zip(runs, bare, strict=True)):8.3f}"
            f" {median(r['wrk_cpu'] for r in runs):6.0%}"
        )
    print(
        f"\n{ROUNDS} interleaved rounds of {SECONDS}s per page, wrk -t1 -c{CONNECTIONS}, gunicorn {WORKERS} sync"
        " workers; req/s, ratios, p50 and cpu: median of rounds; p99: worst round; SQL: statements on the wire"
        " for one request on an open connection (BEGIN/COMMIT included); cpu ms: gunicorn workers' CPU per request;"
        " cpu/bare: the bare view's CPU per request over the page's (the throughput share CPU allows);"
        " wrk cpu: the load generator's share of one core"
    )


def main() -> None:
    server_url = os.environ.get("DATABASE_URL", "")
    env = environment()
    os.environ.update(env)
    fresh = bool(os.environ.get("LOADTEST_FRESH"))
    if env["DATABASE_URL"].startswith("sqlite"):
        database = BASE_DIR / "db" / "loadtest.sqlite3"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
    else:
        postgres_database_ensure(server_url, fresh)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    ids = seed(ORGANIZATIONS)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    me, admin = session_cookie(ids["me"]), session_cookie(ids["admin"])
    connection.close()
    print(f"database: {connection.vendor}, {ORGANIZATIONS:,} organizations", flush=True)
    (BASE_DIR / "db").mkdir(exist_ok=True)
    server = subprocess.Popen(
        [str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "pars.wsgi"],
        cwd=BASE_DIR,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{PORT}", "GUNICORN_WORKERS": str(WORKERS)},
        stdout=subprocess.DEVNULL,
        stderr=(BASE_DIR / "db" / "loadtest-gunicorn.log").open("w"),
    )
    try:
        for _ in range(60):
            try:
                if fetch({"path": "/bench/bare"})[0] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        measure(pages(ids, me, admin), server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
