"""The project's overrides of Django's admin templates (templates/admin/): what axe needs, without a browser.

e2e/test_admin_pages_axe.py runs axe itself on these pages.
"""

import pytest
from django.urls import reverse

from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, cme_staff

pytestmark = pytest.mark.django_db

ROW_TITLES_HEADER = '<th class="original"><span class="visually-hidden">Contact</span></th>'
HIDDEN_DELETE_HEADER = '<th><span class="visually-hidden">Delete?</span></th>'
VISIBLE_DELETE_HEADER = "<th>Delete?</th>"


def roster_page(client, kind):
    client.force_login(cme_staff(kind))
    organization = OrganizationFactory()
    return client.get(reverse("admin:contacts_organization_change", args=[organization.pk])).content.decode()


def test_reviewer_roster_names_every_column_for_screen_readers(client):
    html = roster_page(client, REVIEWERS)
    assert ROW_TITLES_HEADER in html
    assert HIDDEN_DELETE_HEADER in html
    assert "<th></th>" not in html


def test_editor_roster_shows_its_delete_header(client):
    html = roster_page(client, EDITORS)
    assert ROW_TITLES_HEADER in html
    assert VISIBLE_DELETE_HEADER in html


def test_admin_pages_load_the_project_stylesheet_and_script_and_keep_the_site_header(client):
    client.force_login(cme_staff(REVIEWERS))
    html = client.get(reverse("admin:index")).content.decode()
    assert '<link rel="stylesheet" href="/static/css/admin.css">' in html
    assert '<script src="/static/js/admin.js"></script>' in html
    assert "PARS contacts — CMA CME staff" in html
    assert "<title>Organizations, contacts and their history | PARS contacts admin · CMA</title>" in html


def test_admin_login_page_has_one_heading(client):
    html = client.get(reverse("admin:login")).content.decode()
    assert html.count("<h1") == 1
    assert "<h1>Log in</h1>" in html
