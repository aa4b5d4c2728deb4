"""The Content-Security-Policy holds in the browser: an inline script is blocked, and the page fixture hears of it."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INJECT_INLINE_SCRIPT = """() => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineScriptRan = true';
    document.body.appendChild(script);
}"""


def test_an_inline_script_is_blocked_and_reported_as_a_violation(page, csp_violations):
    page.goto(reverse("accounts:login"))
    page.evaluate(INJECT_INLINE_SCRIPT)
    for _ in range(40):  # the report comes back from the browser asynchronously
        if csp_violations:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.inlineScriptRan") is None
    assert any("script-src" in violation for violation in csp_violations), csp_violations
    csp_violations.clear()  # expected here; any other test fails on one
