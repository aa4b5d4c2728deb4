"""Under production settings (DJANGO_HTTPS=1) every kind of page carries the security headers and secure cookies."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from accounts.tests.factories import PASSWORD, StaffUserFactory, UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory, provider_user
from pars.tests.test_settings import PRODUCTION_SECRET, start_django

pytestmark = pytest.mark.django_db

PRODUCTION = {"SECRET_KEY": PRODUCTION_SECRET, "ALLOWED_HOSTS": "testserver", "DJANGO_HTTPS": "1"}
SECURITY_SETTINGS = [
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_HTTPONLY",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "CONTENT_SECURITY_POLICY",
    "CONTENT_SECURITY_POLICY_REPORT_ONLY",
]
CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}
HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}


def directives(header: str) -> dict:
    """A policy header as {directive: [sources]} (django-csp does not keep the settings' order)."""
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


def production_settings(**environment) -> dict:
    """The security settings pars.settings makes from a production environment, read in a fresh process."""
    show = f"__import__('json').dumps({{name: getattr(s, name, None) for name in {SECURITY_SETTINGS!r}}})"
    result = start_django(show=show, **PRODUCTION, **environment)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.removeprefix("started "))
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


@pytest.fixture(scope="module")
def production():
    return production_settings()


@pytest.fixture
def under_production(settings, production):
    for name, value in production.items():
        setattr(settings, name, value)


@pytest.fixture
def pages(client):
    """A page of each kind, with the client that may open it."""
    organization = OrganizationFactory(name="Sutter Health CME")
    provider = UserFactory()
    services.role_assign(organization=organization, person=provider, role=Role.STAFF, by=None)
    staff_client = type(client)()
    staff_client.force_login(StaffUserFactory(is_superuser=True))
    provider_client = type(client)()
    provider_client.force_login(provider)
    return {
        "site (Profile tab)": (provider_client, reverse("contacts:profile", args=[organization.pk])),
        "admin": (staff_client, reverse("admin:contacts_organization_changelist")),
        "directory": (client, reverse("contacts:directory")),
        "sign-in": (client, reverse("accounts:login")),
    }


def test_production_environment_turns_the_protections_on(production):
    assert (
        production["SECURE_SSL_REDIRECT"] and production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
    )
    assert production["SECURE_HSTS_SECONDS"] == 31536000
    assert production["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["script-src"] == ["'self'"]
    assert production["CONTENT_SECURITY_POLICY_REPORT_ONLY"] is None


@pytest.mark.parametrize("kind", ["site (Profile tab)", "admin", "directory", "sign-in"])
def test_every_kind_of_page_carries_the_security_headers(under_production, pages, kind):
    client, url = pages[kind]
    response = client.get(url, secure=True, **HTTPS)
    assert response.status_code == 200, kind
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert directives(response["Content-Security-Policy"]) == CSP
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https(under_production, client):
    response = client.get(reverse("contacts:directory"))
    assert response.status_code == 301
    assert response.url.startswith("https://")


def test_sign_in_cookies_are_secure_and_the_session_cookie_hidden_from_scripts(under_production, client):
    person = provider_user()
    form = client.get(reverse("accounts:login"), secure=True, **HTTPS)
    csrf = form.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    response = client.post(
        reverse("accounts:login"), {"username": person.email, "password": PASSWORD}, secure=True, **HTTPS
    )
    assert response.status_code == 302
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_report_only_mode_comes_from_the_environment(settings, client):
    report_only = production_settings(CSP_REPORT_ONLY="1")
    assert report_only["CONTENT_SECURITY_POLICY"] is None
    for name, value in report_only.items():
        setattr(settings, name, value)
    response = client.get(reverse("contacts:directory"), secure=True, **HTTPS)
    assert directives(response["Content-Security-Policy-Report-Only"]) == CSP
    assert "Content-Security-Policy" not in response


def test_deploy_checks_pass_under_production_settings():
    # As .ci/run runs it: not with the variables the test run sets for itself (Playwright's async opt-out).
    unset = ("DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="pars.settings", ALLOWED_HOSTS="contacts.example.org")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
