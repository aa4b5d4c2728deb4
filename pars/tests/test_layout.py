"""The site header: drawn once per process for each kind of visitor, each request's own CSRF field in it."""

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from accounts.tests.client import Client as VerifyingClient
from accounts.tests.factories import StaffUserFactory
from contacts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

DIRECTORY = reverse("contacts:directory")  # anonymous visitors get it whole from the cache: not for them
SIGN_IN = reverse("accounts:login")
PROFILE = reverse("accounts:profile")
HEADER = "includes/header.html"


def header_of(response) -> str:
    html = response.content.decode()
    return html[html.index("<header>") : html.index("</header>")]


def links(header: str) -> list[str]:
    return re.findall(r'class="nav-link"[^>]*>([^<]+)<', header) + re.findall(r">(Sign out)</button>", header)


def test_each_kind_of_visitor_gets_their_own_header_however_often_it_is_reused(client):
    provider = OrganizationFactory().primary_contact
    staff = StaffUserFactory()
    anonymous, pending, verified = Client(), Client(), VerifyingClient()
    pending.force_login(staff)  # a CME staff member who has not given a second factor yet
    verified.force_login(staff)  # ...and one who has
    client.force_login(provider)
    for _ in range(2):
        assert links(header_of(anonymous.get(SIGN_IN))) == ["Find a CME Provider", "Sign in"]
        assert links(header_of(client.get(DIRECTORY))) == [
            "My organizations",
            "Find a CME Provider",
            "Edit My Profile",
            "Sign out",
        ]
        assert links(header_of(pending.get(PROFILE, follow=True))) == [
            "Find a CME Provider",
            "Sign out",
        ]
        assert links(header_of(verified.get(PROFILE))) == [
            "My organizations",
            "Find a CME Provider",
            "CME staff admin",
            "Edit My Profile",
            "Sign out",
        ]


def test_the_header_is_drawn_once_then_reused(client):
    client.force_login(OrganizationFactory().primary_contact)
    client.get(DIRECTORY)
    again = client.get(PROFILE)
    assert HEADER not in [template.name for template in again.templates]
    assert "Sign out" in header_of(again)


@override_settings(DEBUG=True)
def test_with_debug_on_the_header_is_drawn_every_time_so_an_edited_template_shows(client):
    client.get(SIGN_IN)
    assert HEADER in [template.name for template in client.get(SIGN_IN).templates]


def test_a_new_accreditor_name_shows_in_a_header_drawn_before(client):
    client.get(SIGN_IN)
    with override_settings(ACCREDITOR_NAME="Medical Board of Testing"):
        assert "Medical Board of Testing" in header_of(client.get(SIGN_IN))


def test_each_session_signs_out_with_its_own_csrf_field():
    provider = OrganizationFactory().primary_contact
    browsers = [Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)]
    tokens = []
    for browser in browsers:
        browser.force_login(provider)
        header = header_of(browser.get(PROFILE))
        tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', header).group(1))
    assert tokens[0] != tokens[1]
    for browser, token in zip(browsers, tokens, strict=True):
        response = browser.post(reverse("accounts:logout"), {"csrfmiddlewaretoken": token})
        assert response.status_code == 302
        assert browser.get(PROFILE).status_code == 302  # signed out: the sign-in page
