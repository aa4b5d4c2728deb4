"""Soak: many people changing the same organizations at once, through gunicorn on PostgreSQL.

    DATABASE_URL=postgres://user:pass@127.0.0.1:5432/db make soak [SOAK_ARGS="--seconds 150 --clients 8"]

Builds a fresh database next to DATABASE_URL's (its name + "_soak"; the role needs
CREATEDB), migrates it, creates organizations and people through the services,
serves the site with gunicorn (several workers, 127.0.0.1 only), and lets client
threads sign in and, for a bounded time, all at once: hand over primaries, add the
same new email addresses, edit the organizations' details, confirm contacts and
remove roles. Then it stops gunicorn and checks, printing each result:

- zero 5xx answers (and no connection refused or reset);
- every organization has exactly one Primary Contact;
- no confirmation lost: each organization's confirmations only ever move forward in
  its history, one per accepted confirmation, and the last one is the one it shows;
- one history row per accepted change (details edits, confirmations, hand-overs,
  added and removed roles);
- no two people with one canonical email address.

It exits 1 if a check fails, 2 without PostgreSQL.
"""

import argparse
import collections
import html
import http.cookiejar
import itertools
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "soak-test-passphrase-" + secrets.token_hex(4)
NEEDS_POSTGRESQL = (
    "make soak needs PostgreSQL: set DATABASE_URL=postgres://user:pass@127.0.0.1:5432/db "
    "(the role needs CREATEDB; the soak uses a database of its own, named after it with _soak)."
)
INPUT = re.compile(r"<input\b[^>]*>", re.S)
ATTRIBUTE = re.compile(r'(\w[\w-]*)="([^"]*)"')
DETAIL_FIELDS = ("city", "street_address")  # free text: every edit a new value


def arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 150)))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", 8)))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SOAK_WORKERS", 4)))
    parser.add_argument("--organizations", type=int, default=4)
    return parser.parse_args(argv)


def soak_database(url: str) -> str:
    """Drop and create the soak's own database; its URL."""
    import psycopg2

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/") + "_soak"
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The data -----------------------------------------------------------------------------------


def populate(organizations: int, clients: int):
    """Organizations, each with an invited primary, and the clients: Staff at every one."""
    from django.contrib.auth import get_user_model

    from contacts import services
    from contacts.models import Role

    User = get_user_model()
    people = []
    for i in range(clients):
        person = User.objects.create_user(f"client{i}@example.org", PASSWORD, first_name="Client", last_name=str(i))
        people.append(person)
    created = []
    for j in range(organizations):
        primary = User.objects.create_user(f"primary{j}@example.org", first_name="Primary", last_name=str(j))
        created.append(
            services.organization_create(
                primary=primary, name=f"Soak Organization {j}", provider_id=f"SOAK{j:03d}", phone="(916) 555-0100"
            ).organization
        )
    for organization in created:
        for person in people:
            services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    return [o.pk for o in created], [p.email for p in people]


# A client -----------------------------------------------------------------------------------


class Tally:
    """What every client saw, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.statuses = collections.Counter()
        self.failures = collections.Counter()
        self.outcomes = collections.Counter()  # (operation, outcome)
        self.accepted = collections.Counter()  # (operation, organization)

    def response(self, status, redirected):
        with self.lock:
            self.requests += 1 + redirected
            self.statuses[status] += 1

    def failure(self, kind):
        with self.lock:
            self.requests += 1
            self.failures[kind] += 1

    def outcome(self, operation, organization, outcome):
        with self.lock:
            self.outcomes[(operation, outcome)] += 1
            if outcome == "accepted":
                self.accepted[(operation, organization)] += 1


class Browser:
    """One signed-in person with cookies, as a browser would send their requests."""

    def __init__(self, base, email, tally):
        self.base, self.tally = base, tally
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.open("/accounts/sign-in/")
        self.open("/accounts/sign-in/", {"username": email, "password": PASSWORD}, token_from=page)
        self.token = self.csrf(self.open("/organizations/"))

    @staticmethod
    def csrf(page):
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page[2]).group(1)

    def open(self, path, data=None, token_from=None):
        """(status, final path, body); a POST carries the CSRF token of `token_from` or the last page."""
        body = None
        if data is not None:
            fields = {"csrfmiddlewaretoken": self.csrf(token_from) if token_from else self.token, **data}
            body = urllib.parse.urlencode(fields).encode()
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                final = urllib.parse.urlsplit(response.geturl()).path
                self.tally.response(response.status, final != path)
                return response.status, final, response.read().decode()
        except urllib.error.HTTPError as error:
            self.tally.response(error.code, False)
            return error.code, path, error.read().decode(errors="replace")
        except OSError as error:
            self.tally.failure(type(error).__name__)
            return 0, path, ""


def form_values(page: str) -> dict:
    values = {}
    for tag in INPUT.findall(page):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes and attributes.get("type") not in ("submit", "checkbox"):
            values[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return values


def roster_choice(organization_pk, *, primary: bool, added_only: bool = False):
    """Someone on the roster (read from the database, as a person reads the page): for a hand-over
    anyone but the primary, for a removal a Staff role of a person the soak added."""
    from contacts.models import ContactRole, Role

    roles = ContactRole.objects.filter(organization_id=organization_pk)
    if primary:
        current = roles.filter(role=Role.PRIMARY).values("person")
        choices = list(roles.exclude(person__in=current).values_list("person_id", flat=True).distinct())
    else:
        choices = list(roles.filter(role=Role.STAFF, person__email__startswith="soak").values_list("pk", flat=True))
    return random.choice(choices) if choices else None


def hand_over(browser, organization, number):
    person = roster_choice(organization, primary=True)
    status, _final, page = browser.open(
        f"/organizations/{organization}/primary/", {"who": "listed", "person": person, "confirm": "1"}
    )
    return "accepted" if status == 200 and "is now the Primary Contact" in page else "refused"


def add_same_email(browser, organization, number):
    # Every client adds the address of the same two-second slot: the same new email, at once.
    slot = int(time.monotonic() / 2)
    data = {"email": f"soak{slot}@example.org", "first_name": "Soak", "last_name": str(slot), "role": "staff"}
    data["confirm"] = "1"  # past the page that checks the answers
    _status, final, page = browser.open(f"/organizations/{organization}/contacts/add/", data)
    return "accepted" if final == f"/organizations/{organization}/" and "is now Staff" in page else "refused"


def edit_details(browser, organization, number):
    status, _final, page = browser.open(f"/organizations/{organization}/edit/")
    if status != 200:
        return "refused"
    values = form_values(page)
    values[random.choice(DETAIL_FIELDS)] = f"c{number}-{secrets.token_hex(3)}"
    status, final, page = browser.open(f"/organizations/{organization}/edit/", values, token_from=(0, "", page))
    if final == f"/organizations/{organization}/" and "are saved" in page:
        return "accepted"
    return "conflict" if "Someone else saved changes" in page else "refused"


def confirm(browser, organization, number):
    _status, _final, page = browser.open(f"/organizations/{organization}/confirm/", {})
    return "accepted" if "are confirmed as current" in page else "refused"


def remove(browser, organization, number):
    role = roster_choice(organization, primary=False)
    if role is None:
        return "nothing to remove"
    _status, _final, page = browser.open(f"/organizations/{organization}/roles/remove/{role}/", {})
    if "no longer holds the Staff role." in page:
        return "accepted"
    return "told already removed" if "someone removed it meanwhile" in page else "refused"


OPERATIONS = {
    "hand-over": hand_over,
    "add same email": add_same_email,
    "edit details": edit_details,
    "confirm": confirm,
    "remove": remove,
}


def client(base, email, organizations, deadline, tally, number):
    from django.db import connection

    try:
        browser = Browser(base, email, tally)
        count = 0
        while time.monotonic() < deadline:
            operation = random.choice(list(OPERATIONS))
            organization = random.choice(organizations)
            count += 1
            tally.outcome(operation, organization, OPERATIONS[operation](browser, organization, f"{number}-{count}"))
    finally:
        connection.close()


# The checks ---------------------------------------------------------------------------------


def checks(tally, organizations, before):
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from contacts.models import ContactRole, Organization, Role
    from pars.addresses import email_lookup_key

    User = get_user_model()
    results = []
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    failures = sum(tally.failures.values())
    results.append(("zero 5xx", server_errors == 0 and failures == 0, f"{server_errors} 5xx, {failures} failed"))

    primaries = dict(
        ContactRole.objects.filter(role=Role.PRIMARY)
        .values_list("organization")
        .annotate(n=Count("pk"))
        .values_list("organization", "n")
    )
    one_primary = all(primaries.get(pk) == 1 for pk in organizations)
    results.append(("exactly one primary each", one_primary, f"{sorted(primaries.values())} primaries"))

    lost, history_mismatches = [], []
    for pk in organizations:
        rows = list(Organization.history.filter(id=pk).order_by("history_date", "history_id"))
        confirmed = [row.contacts_confirmed_at for row in rows if row.contacts_confirmed_at]
        went_back = any(later < earlier for earlier, later in itertools.pairwise(confirmed))
        distinct = len(set(confirmed))
        final = Organization.objects.get(pk=pk).contacts_confirmed_at
        if went_back or distinct != tally.accepted[("confirm", pk)] or (confirmed and final != max(confirmed)):
            lost.append(pk)
        changes = sum(row.history_type == "~" for row in rows)
        expected = tally.accepted[("edit details", pk)] + tally.accepted[("confirm", pk)]
        if changes != expected:
            history_mismatches.append(f"organization {pk}: {changes} rows for {expected} accepted")
    confirmations = sum(n for (operation, _), n in tally.accepted.items() if operation == "confirm")
    results.append(("no confirmation lost", not lost, f"{confirmations} accepted confirmations; lost at {lost}"))

    role_rows = collections.Counter(ContactRole.history.values_list("history_type", flat=True))
    accepted = collections.Counter()
    for (operation, _), n in tally.accepted.items():
        accepted[operation] += n
    for kind, operation, rows in (
        ("~", "hand-over", role_rows["~"]),
        ("-", "remove", role_rows["-"]),
        ("+", "add same email", role_rows["+"] - before["role_rows"]),
    ):
        if rows != accepted[operation]:
            history_mismatches.append(f"roles {kind}: {rows} rows for {accepted[operation]} accepted {operation}")
    results.append(
        (
            "one history row per accepted change",
            not history_mismatches,
            "; ".join(history_mismatches) or "organizations, hand-overs, added and removed roles all match",
        )
    )

    by_canonical = collections.Counter(
        email_lookup_key(email) for email in User.objects.values_list("email", flat=True)
    )
    twice = [email for email, n in by_canonical.items() if n > 1]
    soak_people = User.objects.filter(email__startswith="soak").count()
    results.append(
        ("one person per canonical email", not twice, f"{soak_people} people added by email; twice: {twice}")
    )
    return results


# The run ------------------------------------------------------------------------------------


def serve(port, workers, env, log):
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "pars.wsgi"]
    server_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    server = subprocess.Popen(command, cwd=BASE_DIR, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer on 127.0.0.1:{port}; see {log.name}")


def main(argv):
    options = arguments(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(NEEDS_POSTGRESQL, file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "DATABASE_URL": soak_database(url),
        "DJANGO_SETTINGS_MODULE": "pars.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "EMAIL_URL": "memorymail://",
        "AXES_FAILURE_LIMIT": "1000",
    }
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    organizations, emails = populate(options.organizations, options.clients)
    from contacts.models import ContactRole

    before = {"role_rows": ContactRole.history.count()}

    port = free_port()
    log_path = BASE_DIR / "db" / "soak-gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    tally = Tally()
    with log_path.open("w") as log:
        server = serve(port, options.workers, env, log)
        started = time.monotonic()
        deadline = started + options.seconds
        try:
            threads = [
                threading.Thread(
                    target=client, args=(f"http://127.0.0.1:{port}", email, organizations, deadline, tally, i)
                )
                for i, email in enumerate(emails)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=options.seconds + 120)
        finally:
            server.terminate()
            server.wait(timeout=30)
        duration = time.monotonic() - started

    print(
        f"soak: {options.clients} clients, {options.workers} gunicorn workers, {len(organizations)} organizations, "
        f"{duration:.0f} s, {tally.requests} HTTP requests ({tally.requests / duration:.1f}/s, redirects followed included)"
    )
    print("final answers: " + ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items())))
    if tally.failures:
        print("failed requests: " + ", ".join(f"{kind}: {n}" for kind, n in tally.failures.items()))
    for operation in OPERATIONS:
        outcomes = {outcome: n for (op, outcome), n in sorted(tally.outcomes.items()) if op == operation}
        print(f"  {operation}: " + ", ".join(f"{n} {outcome}" for outcome, n in outcomes.items()))
    results = checks(tally, organizations, before)
    for name, passed, detail in results:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
    print(f"(gunicorn's log: {log_path})")
    return 0 if all(passed for _, passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
