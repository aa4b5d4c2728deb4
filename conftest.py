"""Fixtures shared by every app's tests: Chromium (browser, page) and axe-core (assert_accessible).

People and organizations come from the factories in contacts/tests/factories.py.

Browser tests need Debian's Chromium at /usr/bin/chromium. Without it they are
skipped, and the run ends with a banner saying so; with REQUIRE_BROWSER=1 a
missing Chromium fails the run instead. Tests marked postgres are skipped, with
a banner, on SQLite.
"""

import os
import shutil

import pytest
from django.core.cache import cache
from django.db import connection

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
NEEDS_POSTGRES = "needs PostgreSQL: set DATABASE_URL=postgres://..."
NEEDS_CHROMIUM = f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)"


def _require_browser() -> bool:
    return os.environ.get("REQUIRE_BROWSER", "") not in ("", "0", "false")


def pytest_collection_modifyitems(config, items):
    if any(item.get_closest_marker("browser") for item in items):
        # Playwright's sync API runs an event loop in the test's thread.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(NEEDS_POSTGRES)
    if item.get_closest_marker("browser") and not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if _require_browser():
            pytest.fail(f"REQUIRE_BROWSER=1 but Chromium is not at {CHROMIUM}", pytrace=False)
        pytest.skip(NEEDS_CHROMIUM)


def _skipped_for(reason: str, reports) -> int:
    # Read from the reports, not counted in pytest_runtest_setup: under pytest-xdist the
    # tests run in worker processes and only their reports reach this one.
    return sum(1 for report in reports if reason in str(report.longrepr))


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    browser, postgres = _skipped_for(NEEDS_CHROMIUM, skipped), _skipped_for(NEEDS_POSTGRES, skipped)
    lines = []
    if browser:
        lines.append(f"{browser} BROWSER TESTS WERE SKIPPED: Chromium is not installed (apt-get install -y chromium).")
    if postgres:
        lines.append(
            f"{postgres} POSTGRESQL TESTS WERE SKIPPED: this run used SQLite (.ci/run also runs them on PostgreSQL)."
        )
    if lines:
        terminalreporter.write_sep("!", "SKIPPED FOR LACK OF A SERVICE", red=True, bold=True)
        for line in lines:
            terminalreporter.write_line(line, red=True, bold=True)
        terminalreporter.write_sep("!", red=True, bold=True)


@pytest.fixture
def client():
    """The test client (pytest-django's fixture), verified in two-factor sign-in along with force_login."""
    from accounts.tests.client import Client

    return Client()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


# Runs in every document before its own scripts: reports each Content-Security-Policy
# violation (blocked inline script or style, eval, a foreign source) to the test.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
    window.reportCspViolation([event.documentURI, event.effectiveDirective, event.blockedURI,
                               event.sourceFile + ':' + event.lineNumber, event.sample].join(' | '));
});
"""


@pytest.fixture
def csp_violations():
    """Content-Security-Policy violations the browser reported in this test (the page fixture fails on any)."""
    return []


@pytest.fixture
def page(browser, live_server, settings, csp_violations):
    """A fresh browser page; emails link to the live server. The test fails on any CSP violation on any page."""
    settings.SITE_URL = live_server.url
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.expose_function("reportCspViolation", lambda violation: csp_violations.append(violation))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Content Security Policy" in message.text
            and csp_violations.append(f"console: {message.text}")
        ),
    )
    yield page
    context.close()
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


@pytest.fixture
def assert_accessible():
    """Run axe-core on the page and fail with the violations listed."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page):
        # Without preloading the CSSOM: axe would copy @import-ed stylesheets (the admin's
        # forms.css imports widgets.css) into inline <style> elements, which the site's CSP
        # rightly blocks. Only axe's css-orientation-lock rule reads that copy.
        results = axe.run(page, options={"resultTypes": ["violations"], "preload": {"assets": ["media"]}})
        violations = results.response["violations"]
        assert not violations, f"axe found {len(violations)} violation(s) on {page.url}:\n" + results.generate_report()

    return check


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: a page cached by one test is never another's."""
    cache.clear()
    yield
    cache.clear()
