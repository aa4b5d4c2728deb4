"""Settings from the environment: production refuses to start half-configured; the layout names the support address."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import path, reverse

pytestmark = pytest.mark.django_db

# Starts Django the way gunicorn would, ignoring any developer's .env so that only
# the environment given here counts. It reads the values past LazySettings, whose own
# empty-SECRET_KEY check fires only at first use: starting must fail by itself.
START = (
    "import environ; environ.Env.read_env = staticmethod(lambda *a, **k: None); "
    "import django; django.setup(); "
    "from django.conf import settings; s = settings._wrapped; print('started', {show})"
)
UNSET = ("DJANGO_DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SUPPORT_EMAIL")
PRODUCTION_SECRET = "a-long-production-secret-0123456789abcdefghijklmnop"


def start_django(show="s.DEBUG, len(s.SECRET_KEY), s.ALLOWED_HOSTS", **environment):
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(DJANGO_SETTINGS_MODULE="pars.settings", **environment)
    return subprocess.run(
        [sys.executable, "-c", START.format(show=show)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = start_django(ALLOWED_HOSTS="contacts.example.org")
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the SECRET_KEY environment variable" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = start_django(SECRET_KEY=PRODUCTION_SECRET)
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the ALLOWED_HOSTS environment variable" in result.stderr


@pytest.mark.parametrize(
    "environment",
    [
        {"SECRET_KEY": "", "ALLOWED_HOSTS": "contacts.example.org"},
        {"SECRET_KEY": PRODUCTION_SECRET, "ALLOWED_HOSTS": ""},
    ],
    ids=["empty SECRET_KEY", "empty ALLOWED_HOSTS"],
)
def test_production_refuses_to_start_with_an_empty_secret_key_or_allowed_hosts(environment):
    # As in a .env copied from .env.example without filling it in.
    result = start_django(**environment)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY and ALLOWED_HOSTS must not be empty" in result.stderr


def test_production_starts_with_a_secret_key_and_allowed_hosts():
    result = start_django(SECRET_KEY=PRODUCTION_SECRET, ALLOWED_HOSTS="contacts.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started False 51 ['contacts.example.org']"


def test_development_starts_without_a_secret_key_or_allowed_hosts():
    result = start_django(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("started True")


def test_not_found_page_has_the_site_layout_and_the_support_address(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert html.count("<h1") == 1 and "Page not found" in html
    assert 'class="navbar' in html and "<footer" in html
    assert "vendor/bootstrap/css/bootstrap.min.css" in html
    assert f'href="mailto:{settings.SUPPORT_EMAIL}"' in html


def test_footer_names_the_support_address(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert f'<a href="mailto:{settings.SUPPORT_EMAIL}">{settings.SUPPORT_EMAIL}</a>' in html


def test_footer_honours_a_configured_support_address(client, settings):
    settings.SUPPORT_EMAIL = "help@cme.example.org"
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<a href="mailto:help@cme.example.org">help@cme.example.org</a>' in html
    assert "cme@cmadocs.org" not in html


def test_support_address_comes_from_the_environment():
    result = start_django(show="s.SUPPORT_EMAIL", DJANGO_DEBUG="1", SUPPORT_EMAIL="help@cme.example.org")
    assert result.stdout.strip() == "started help@cme.example.org", result.stderr


def test_support_address_defaults_to_cma():
    result = start_django(show="s.SUPPORT_EMAIL", DJANGO_DEBUG="1")
    assert result.stdout.strip() == "started cme@cmadocs.org", result.stderr


def broken_view(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken_view)]
handler500 = "pars.views.server_error"


def test_server_error_page_has_the_site_look_and_the_support_address(client, settings):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert 'class="navbar' in html and f'href="mailto:{settings.SUPPORT_EMAIL}"' in html
