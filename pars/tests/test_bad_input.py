"""Bad input never gives a 500 and never loses what the user typed, on every page of the site.

The URL sweep walks the resolver (django.urls.get_resolver), so a new page is
never silently left out: each route's parameters get valid and invalid values
(an unknown pk, another organization's pk, a role "bogus", a person not on the
roster, a number too large for any database integer), and each URL is requested
with GET and an empty POST as each kind of user. The test client raises the
view's exception, so a server error fails the test with its traceback.

The form tests post what people really type by mistake (nothing, 10,000
characters, an invalid email address, emoji, a NUL byte, a choice that is not
offered, the same change twice) and check that the page says what is wrong and
shows again every other value the user typed.
"""

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.tests.factories import PASSWORD, InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import ContactRole, EmailLog, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import REVIEWERS, SUPERUSER, cme_staff

pytestmark = pytest.mark.django_db

User = get_user_model()

# Larger than any database integer: the int converter lets it through to the view.
HUGE = "99999999999999999999"
LONG = "x" * 10_000
NUL = "a\x00b"
EMOJI = "Zoë 🩺 Ñandú 医生"
# What a page may answer to bad input: never 500.
SAFE_STATUSES = {200, 301, 302, 400, 403, 404, 405}


# The world every request is made in ------------------------------------------------------------


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """Two organizations. Ours: Jane (primary, signs in), an invited Technical Contact, a Billing Contact.

    Theirs: another primary, Sam, who is a stranger to ours. An email in the log.
    """
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    ours = OrganizationFactory(primary=jane, name="Sierra CME")
    sam = UserFactory(email="sam@example.org", first_name="Sam", last_name="Stranger")
    theirs = OrganizationFactory(primary=sam, name="Coast CME")
    invited = InvitedUserFactory(email="ivy@example.org", first_name="Ivy", last_name="Invited")
    with django_capture_on_commit_callbacks(execute=True):
        technical = services.role_assign(organization=ours, person=invited, role=Role.TECHNICAL, by=jane).contact_role
    email = EmailLog.objects.filter(to_email=invited.email).earliest("pk")
    billing = services.role_assign(organization=ours, person=UserFactory(), role=Role.BILLING, by=jane).contact_role
    their_staff = services.role_assign(
        organization=theirs, person=InvitedUserFactory(), role=Role.STAFF, by=sam
    ).contact_role
    return {
        "jane": jane,
        "ours": ours,
        "sam": sam,
        "theirs": theirs,
        "invited": invited,
        "technical": technical,
        "billing": billing,
        "their_staff": their_staff,
        "email": email,
    }


def person_of(kind, world):
    """The person of one kind of user; None for anonymous."""
    return {
        "affiliated": lambda: world["jane"],
        "stranger": lambda: world["sam"],
        "anonymous": lambda: None,
        "cme_reviewer": lambda: cme_staff(REVIEWERS),
        "cme_superuser": lambda: cme_staff(SUPERUSER),
    }[kind]()


def sign_in_as(client, person):
    client.logout()
    if person is not None:
        client.force_login(person)


USER_KINDS = ["affiliated", "stranger", "anonymous", "cme_reviewer", "cme_superuser"]


# Every route of the resolver ---------------------------------------------------------------------


def routes(patterns=None, prefix="", namespace=""):
    """(name, route) of every URL pattern, e.g. ("contacts:profile", "organizations/<int:pk>/")."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join(filter(None, [namespace, pattern.name or ""])) if pattern.name else f"{namespace}:"
            yield name, prefix + str(pattern.pattern)


def uid(pk) -> str:
    return urlsafe_base64_encode(force_bytes(pk))


def parameter_values(world) -> dict:
    """Valid and invalid values for each parameter name a route uses."""
    ours, theirs = world["ours"], world["theirs"]
    return {
        "pk": [ours.pk, theirs.pk, theirs.pk + 1000, HUGE],
        "role": [*Role.values, "bogus", "PRIMARY"],
        "role_pk": [
            world["technical"].pk,
            ours.roles.get(role=Role.PRIMARY).pk,
            world["their_staff"].pk,
            world["their_staff"].pk + 1000,
            HUGE,
        ],
        "person_pk": [
            world["invited"].pk,
            world["jane"].pk,  # on the roster, but keeps her own details
            world["their_staff"].person_id,  # not on our roster
            world["sam"].pk + 1000,
            HUGE,
        ],
        "uidb64": [uid(world["invited"].pk), uid(world["jane"].pk), uid(HUGE), uid("\x00"), "abc", "%00"],
        "token": ["set-password", "abc-123", "%00"],
    }


ADMIN_OBJECTS = {
    "contacts/organization": lambda world: world["ours"].pk,
    "accounts/user": lambda world: world["invited"].pk,
    "contacts/emaillog": lambda world: world["email"].pk,
}
BAD_OBJECT_IDS = ["999999", HUGE, "abc", "%00", "-1"]

CONVERTER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<parameter>\w+)>")
REGEX_GROUP = re.compile(r"\((?:\?P<\w+>)?[^()]*\)")


def admin_urls(route, world):
    """The admin's routes: an object id of the model (when the sweep knows one) and bad ones."""
    model = "/".join(route.split("/")[1:3])
    known = ADMIN_OBJECTS.get(model)
    ids = ([str(known(world))] if known else []) + BAD_OBJECT_IDS
    if route.endswith("/history/([^/]+)/$"):  # simple-history's version page: object and version
        base = route.split("^")[0]
        versions = [str(v) for v in ids if v.isdigit()]
        return [f"/{base}{obj}/history/{version}/" for obj in ids for version in [*versions, "abc"]]
    if "(?P<app_label>" in route:
        return ["/admin/contacts/", "/admin/accounts/", "/admin/bogus/"]
    if "(?P<url>" in route:  # the admin's catch-all
        return ["/admin/nowhere/", "/admin/contacts/organization/1/nowhere/"]
    if "<path:content_type_id>" in route:  # "view on site"
        return [f"/admin/r/{ct}/{obj}/" for ct in ["1", HUGE, "abc"] for obj in ["1", HUGE, "abc"]]
    if "<id>" in route:  # the password change form of a person
        return [f"/{route.replace('<id>', str(v))}" for v in ids]
    if "<path:object_id>" in route:
        return [f"/{route.replace('<path:object_id>', str(v))}" for v in ids]
    return [f"/{route}"]


def urls_for(route, world):
    """Every URL of a route: each combination of the values of its parameters."""
    if route.startswith("admin/"):
        return admin_urls(route, world)
    values = parameter_values(world)
    urls = [""]
    position = 0
    for match in CONVERTER.finditer(route):
        literal = route[position : match.start()]
        choices = values[match["parameter"]]
        urls = [f"{url}{literal}{choice}" for url in urls for choice in choices]
        position = match.end()
    return [f"/{url}{route[position:]}" for url in urls]


def test_the_sweep_knows_every_route_of_the_resolver(world):
    """A new route with a parameter the sweep has no values for fails here, not silently."""
    values = parameter_values(world)
    for name, route in routes():
        assert not REGEX_GROUP.search(route) or route.startswith("admin/"), f"{name}: no values for {route}"
        for match in CONVERTER.finditer(route):
            assert route.startswith("admin/") or match["parameter"] in values, f"{name}: no values for {route}"
        assert urls_for(route, world), name


def all_routes():
    return sorted({route for _name, route in routes()})


@pytest.mark.parametrize("kind", USER_KINDS)
def test_no_url_of_the_site_answers_500_to_get(client, world, kind):
    sign_in_as(client, person_of(kind, world))
    for route in all_routes():
        for url in urls_for(route, world):
            response = client.get(url)
            assert response.status_code in SAFE_STATUSES, f"GET {url} as {kind}: {response.status_code}"


@pytest.mark.parametrize("kind", USER_KINDS)
def test_no_url_of_the_site_answers_500_to_an_empty_post(client, world, kind):
    person = person_of(kind, world)
    sign_in_as(client, person)
    for route in all_routes():
        for url in urls_for(route, world):
            response = client.post(url)
            assert response.status_code in SAFE_STATUSES, f"POST {url} as {kind}: {response.status_code}"
            if url.endswith(("/sign-out/", "/logout/")):
                sign_in_as(client, person)  # whoever asks next is still the same kind of user


# Forms: what a browser would send, one field spoiled at a time ----------------------------------


class FormParser(HTMLParser):
    """The forms of a page, each with its fields in page order and the values a browser would send."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._field = None  # the textarea or select being read
        self._option = None  # the option being read, when it has no value attribute

    def handle_starttag(self, tag, attrs):
        attrs = {key: "" if value is None else value for key, value in attrs}
        if tag == "form":
            self.forms.append(
                {"method": attrs.get("method", "get").lower(), "action": attrs.get("action"), "fields": []}
            )
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text").lower()
            if kind not in ("submit", "button", "image", "reset", "file"):
                checked = kind not in ("checkbox", "radio") or "checked" in attrs
                default = "on" if kind in ("checkbox", "radio") else ""
                self._add(attrs["name"], kind, [attrs.get("value", default)] if checked else [])
        elif tag == "textarea" and attrs.get("name"):
            self._field = self._add(attrs["name"], "textarea", [""])
        elif tag == "select" and attrs.get("name"):
            self._field = self._add(attrs["name"], "select", [])
            self._field.update(options=[], multiple="multiple" in attrs)
        elif tag == "option" and self._field is not None:
            value = attrs.get("value")
            self._option = value is None
            self._field["options"].append(value or "")
            if "selected" in attrs:
                self._field["values"].append(value or "")

    def handle_data(self, data):
        field = self._field
        if field is not None and field["type"] == "textarea":
            field["values"][0] += data
        elif field is not None and self._option:  # <option>text</option> sends its text
            field["options"][-1] += data.strip()

    def handle_endtag(self, tag):
        field = self._field
        if tag == "select" and field is not None and not field["values"] and not field["multiple"] and field["options"]:
            field["values"] = [field["options"][0]]  # a browser sends the first option when none is selected
        if tag in ("textarea", "select"):
            self._field = None
        if tag == "option":
            self._option = None

    def _add(self, name, kind, values):
        field = {"name": name, "type": kind, "values": values}
        self.forms[-1]["fields"].append(field)
        return field


def main_form(content: str) -> dict | None:
    """The page's main POST form: the one with the most fields (not the sign-out button)."""
    parser = FormParser()
    parser.feed(content)
    forms = [form for form in parser.forms if form["method"] == "post"]
    return max(forms, key=lambda form: len(form["fields"])) if forms else None


def main_form_get(content: str) -> dict:
    parser = FormParser()
    parser.feed(content)
    return next(form for form in parser.forms if form["method"] == "get")


def form_data(form: dict) -> dict:
    """What the browser sends, as {name: [values]}."""
    data = {}
    for field in form["fields"]:
        data.setdefault(field["name"], []).extend(field["values"])
    return data


ERROR_MARKERS = ("invalid-feedback", "alert-danger", "errorlist", "errornote")
TEXT_TYPES = {"text", "email", "tel", "url", "search", "password", "textarea", "number", "date", "datetime-local"}
NEW_PASSWORD = "a-New-Password-4-Pars"


def shows_an_error(content: str) -> bool:
    return any(marker in content for marker in ERROR_MARKERS)


def spoilings(field: dict) -> list[tuple[str, list | None]]:
    """The bad values one field is sent, by name; None means the field is left out."""
    if field["type"] == "select":
        return [("missing", None), ("invalid choice", ["bogus"]), ("NUL", [NUL]), ("huge", [HUGE])]
    spoiled = [("empty", [""]), ("missing", None), ("10,000 characters", [LONG]), ("NUL", [NUL]), ("emoji", [EMOJI])]
    if field["type"] == "email" or "email" in field["name"] or field["name"] == "username":
        spoiled.append(("invalid email", ["not an email@"]))
    return spoiled


def invitation_url(world):
    from contacts.services import invitation_url as url

    return url(world["invited"])


def reset_url(world):
    from django.contrib.auth.tokens import default_token_generator

    jane = world["jane"]
    return f"/accounts/password/reset/{uid(jane.pk)}/{default_token_generator.make_token(jane)}/"


# Each form page: who opens it, its URL, and what makes the rest of the form valid.
FORM_PAGES = {
    "organization edit": ("affiliated", lambda w: f"/organizations/{w['ours'].pk}/edit/", {}),
    "add a contact": (
        "affiliated",
        lambda w: f"/organizations/{w['ours'].pk}/contacts/add/",
        {"email": "nia@example.org", "first_name": "Nia", "last_name": "New", "role": "technical"},
    ),
    "assign a role (new person)": (
        "affiliated",
        lambda w: f"/organizations/{w['ours'].pk}/roles/ceo/assign/",
        {"email": "olu@example.org", "first_name": "Olu", "last_name": "Other"},
    ),
    "assign a role (someone on the roster)": (
        "affiliated",
        lambda w: f"/organizations/{w['ours'].pk}/roles/medical_director/assign/",
        {"person": lambda w: str(w["invited"].pk)},
    ),
    "hand over the primary role": (
        "affiliated",
        lambda w: f"/organizations/{w['ours'].pk}/primary/",
        {"email": "pat@example.org", "first_name": "Pat", "last_name": "Primary"},
    ),
    "edit a contact without a password": (
        "affiliated",
        lambda w: f"/organizations/{w['ours'].pk}/people/{w['invited'].pk}/edit/",
        {},
    ),
    "edit my profile": ("affiliated", lambda w: "/accounts/profile/", {"current_password": PASSWORD}),
    "change my password": (
        "affiliated",
        lambda w: "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    "sign in": ("anonymous", lambda w: "/accounts/sign-in/", {"username": "jane@example.org", "password": PASSWORD}),
    "ask for a reset link": ("anonymous", lambda w: "/accounts/password/reset/", {"email": "jane@example.org"}),
    "set a password from the reset link": (
        "anonymous",
        reset_url,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    "set a password from the invitation": (
        "anonymous",
        invitation_url,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    "admin: change an organization": (
        "cme_superuser",
        lambda w: f"/admin/contacts/organization/{w['ours'].pk}/change/",
        {},
    ),
    "admin: add an organization": (
        "cme_superuser",
        lambda w: "/admin/contacts/organization/add/",
        {"name": "Delta CME", "provider_id": "CA77777", "primary_contact": lambda w: str(w["invited"].pk)},
    ),
    "admin: change a person": ("cme_superuser", lambda w: f"/admin/accounts/user/{w['invited'].pk}/change/", {}),
    "admin: add a person": (
        "cme_superuser",
        lambda w: "/admin/accounts/user/add/",
        {"email": "quinn@example.org", "first_name": "Quinn", "last_name": "Q", "usable_password": "false"},
    ),
    "admin: set a person's password": (
        "cme_superuser",
        lambda w: f"/admin/accounts/user/{w['invited'].pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    ),
    "admin: sign in": ("anonymous", lambda w: "/admin/login/", {"username": "jane@example.org", "password": "wrong"}),
}


@pytest.mark.parametrize("page", FORM_PAGES)
def test_bad_input_in_any_field_is_refused_with_a_message_and_keeps_what_was_typed(client, world, page):
    kind, url_of, valid = FORM_PAGES[page]
    sign_in_as(client, person_of(kind, world))
    response = client.get(url_of(world), follow=True)
    assert response.status_code == 200, page
    url = response.request["PATH_INFO"]
    form = main_form(response.content.decode())
    assert form is not None, f"{page}: no form"
    baseline = form_data(form)
    baseline.update({name: [value(world) if callable(value) else value] for name, value in valid.items()})
    for field in form["fields"]:
        if field["type"] not in TEXT_TYPES | {"select"} or field["name"] == "csrfmiddlewaretoken":
            continue
        for spoiling, values in spoilings(field):
            data = {**baseline}
            if values is None:
                del data[field["name"]]
            else:
                data[field["name"]] = values
            what = f"{page}: {field['name']} {spoiling}"
            response = client.post(url, data)
            assert response.status_code in SAFE_STATUSES, f"{what}: {response.status_code}"
            if response.status_code != 200:
                continue
            content = response.content.decode()
            again = main_form(content)
            assert again is not None, f"{what}: the form is not shown again"
            if spoiling in ("NUL", "invalid email", "invalid choice", "huge"):
                assert shows_an_error(content), f"{what}: no error message"
            assert_typed_input_kept(what, form, again, data, spoiled=field["name"], spoiling=spoiling)


def assert_typed_input_kept(what, form, again, data, *, spoiled, spoiling):
    """Every value typed in the form (but the spoiled one and passwords) is shown again as typed."""
    shown = form_data(again)
    for name, sent in data.items():
        typed = next((f for f in form["fields"] if f["name"] == name), None)
        if typed is None or typed["type"] in ("password", "hidden"):
            continue
        if name == spoiled and spoiling in ("NUL", "invalid choice", "huge"):
            continue
        offered = next((f.get("options") for f in again["fields"] if f["name"] == name), None)
        if typed["type"] == "select" and offered is not None and not set(sent) <= set(offered):
            continue  # no longer offered: an earlier submission gave this person the role
        assert shown.get(name) == sent, f"{what}: {name} was {sent!r:.80}, shown again as {shown.get(name)!r:.80}"


# Query strings ---------------------------------------------------------------------------------

SITE_QUERIES = [
    "page=abc",
    "page=-1",
    "page=0",
    "page=%00",
    f"q={LONG}",
    "q=%00",
    f"q={EMOJI}",
    "status=bogus",
    "status=%00",
    "accreditor=%00",
    f"accreditor={LONG}",
    "role=%00",
    "role=primary",
    "next=%00",
    "next=//evil.example",
]
ADMIN_QUERIES = [
    "q=%00",
    f"q={LONG}",
    "p=abc",
    f"p={HUGE}",
    "o=bogus",
    "o=%00",
    "e=%00",
    "_popup=1&_to_field=password",
    "accreditation_status__exact=%00",
    "accreditor__exact=%00",
    "confirmed=%00",
    "unfilled=%00",
    "has_set_password=%00",
    "is_staff__exact=abc",
    f"groups__id__exact={HUGE}",
    "kind__exact=%00",
    "status__exact=%00",
    f"sent_at__year={HUGE}",
    "sent_at__year=9999",
    "sent_at__year=9999&sent_at__month=12",
    "sent_at__year=2024&sent_at__month=2&sent_at__day=31",
    "name__icontains=%00",
    f"id__exact={HUGE}",
]
AUTOCOMPLETE_QUERIES = [
    "term=%00&app_label=contacts&model_name=contactrole&field_name=person",
    f"term={LONG}&app_label=contacts&model_name=contactrole&field_name=person",
    "term=a&app_label=%00&model_name=contactrole&field_name=person",
    "term=a&app_label=accounts&model_name=user&field_name=password",
]


def site_urls(world):
    """One URL of each page outside the admin, with valid arguments."""
    return [urls_for(route, world)[0] for route in all_routes() if not route.startswith("admin/")]


@pytest.mark.parametrize("kind", ["affiliated", "anonymous"])
def test_bad_query_strings_on_the_site_never_give_a_500(client, world, kind):
    person = person_of(kind, world)
    for url in site_urls(world):
        for query in SITE_QUERIES:
            if url.endswith("sign-out/"):
                sign_in_as(client, person)
            response = client.get(f"{url}?{query}")
            assert response.status_code in SAFE_STATUSES, f"{url}?{query:.60}: {response.status_code}"


def test_directory_search_too_long_or_with_nul_says_what_is_wrong_and_keeps_the_rest(client, world):
    response = client.get("/find-a-provider/", {"q": LONG, "status": "accreditation"})
    assert "at most 100 characters" in response.content.decode()
    assert form_data(main_form_get(response.content.decode()))["status"] == ["accreditation"]
    response = client.get("/find-a-provider/?q=a%00b&status=bogus")
    assert response.status_code == 200
    assert shows_an_error(response.content.decode())


@pytest.mark.parametrize("kind", ["cme_superuser", "cme_reviewer"])
def test_bad_query_strings_on_admin_lists_never_give_a_500(client, world, kind):
    """Every list of the project's own models (a new one is included by registering it)."""
    sign_in_as(client, person_of(kind, world))
    lists = [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in apps.get_models()
        if admin.site.is_registered(model) and model._meta.app_label in ("accounts", "contacts")
    ]
    assert len(lists) >= 3
    for url in lists:
        for query in ADMIN_QUERIES:
            response = client.get(f"{url}?{query}")
            assert response.status_code in SAFE_STATUSES, f"{url}?{query:.60}: {response.status_code}"
    for query in AUTOCOMPLETE_QUERIES:
        response = client.get(f"/admin/autocomplete/?{query}")
        assert response.status_code in SAFE_STATUSES, f"autocomplete ?{query:.60}: {response.status_code}"


def test_history_page_number_too_large_for_the_database_is_404_not_500(client, world):
    sign_in_as(client, world["jane"])
    response = client.get(f"/organizations/{world['ours'].pk}/history/?page={HUGE}")
    assert response.status_code == 404


def test_history_page_that_is_not_a_number_shows_the_first_page(client, world):
    sign_in_as(client, world["jane"])
    for query in ["page=abc", "page=-1", "page=0", "page=%00", "page=1e3"]:
        response = client.get(f"/organizations/{world['ours'].pk}/history/?{query}")
        assert response.status_code == 200, query


# The same change twice: a second tab, a double click, a page left open ------------------------


def test_removing_the_same_role_twice_says_so_the_second_time_and_changes_nothing_more(client, world):
    sign_in_as(client, world["jane"])
    technical = world["technical"]
    url = f"/organizations/{world['ours'].pk}/roles/remove/{technical.pk}/"
    assert client.post(url).status_code == 302
    roles_left = world["ours"].roles.count()
    history_rows = ContactRole.history.filter(id=technical.pk).count()
    second = client.post(url, follow=True)
    assert second.redirect_chain[-1][0] == f"/organizations/{world['ours'].pk}/"
    told = services.ROLE_ALREADY_REMOVED.format(person=technical.person, role=technical.get_role_display())
    assert told in [str(message) for message in second.context["messages"]]
    assert world["ours"].roles.count() == roles_left
    assert ContactRole.history.filter(id=technical.pk).count() == history_rows


def test_removing_a_role_that_never_was_here_answers_404(client, world):
    sign_in_as(client, world["jane"])
    # Another organization's role, never removed from ours: no history here, so a plain 404.
    theirs = world["theirs"].roles.first()
    assert client.post(f"/organizations/{world['ours'].pk}/roles/remove/{theirs.pk}/").status_code == 404
    assert world["theirs"].roles.filter(pk=theirs.pk).exists()


def test_handing_over_to_someone_just_removed_is_refused_and_keeps_the_primary(client, world):
    sign_in_as(client, world["jane"])
    ours = world["ours"]
    page = client.get(f"/organizations/{ours.pk}/primary/")
    assert str(world["invited"].pk) in dict.fromkeys(
        next(f for f in main_form(page.content.decode())["fields"] if f["name"] == "person")["options"]
    )
    services.role_remove(contact_role=world["technical"], by=world["jane"])  # in another tab
    response = client.post(f"/organizations/{ours.pk}/primary/", {"person": world["invited"].pk, "confirm": "1"})
    assert response.status_code == 200
    assert shows_an_error(response.content.decode())
    assert ours.roles.get(role=Role.PRIMARY).person == world["jane"]


def test_confirming_the_same_hand_over_twice_says_they_already_are_primary(client, world):
    sign_in_as(client, world["jane"])
    url = f"/organizations/{world['ours'].pk}/primary/"
    data = {
        "who": "new",
        "email": "pat@example.org",
        "first_name": "Pat",
        "last_name": "Primary",
        "keep_as_staff": "on",
    }
    assert client.post(url, {**data, "confirm": "1"}).status_code == 302
    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 200
    assert services.ALREADY_PRIMARY.format(person="Pat Primary") in response.content.decode()
    assert form_data(main_form(response.content.decode()))["email"] == ["pat@example.org"]
    assert world["ours"].roles.get(role=Role.PRIMARY).person.email == "pat@example.org"


def test_adding_a_contact_to_a_role_just_filled_says_so_and_keeps_what_was_typed(client, world):
    sign_in_as(client, world["jane"])
    url = f"/organizations/{world['ours'].pk}/contacts/add/"
    typed = {
        "email": "ceo@example.org",
        "first_name": "Cleo",
        "last_name": "Chief",
        "credentials": "MD, MPH",
        "job_title": "CEO",
        "phone": "(916) 555-0199",
        "role": "ceo",
    }
    services.role_assign(organization=world["ours"], person=UserFactory(), role=Role.CEO, by=world["jane"])
    response = client.post(url, typed)
    assert response.status_code == 200
    assert "already has a CEO Contact" in response.content.decode()
    assert form_data(main_form(response.content.decode())) == {
        **{name: [value] for name, value in typed.items()},
        "csrfmiddlewaretoken": form_data(main_form(response.content.decode()))["csrfmiddlewaretoken"],
    }


def test_adding_the_same_contact_twice_says_they_already_hold_the_role(client, world):
    sign_in_as(client, world["jane"])
    url = f"/organizations/{world['ours'].pk}/contacts/add/"
    typed = {"email": "Nia@Example.org", "first_name": "Nia", "last_name": "New", "role": "staff", "confirm": "1"}
    assert client.post(url, typed).status_code == 302
    response = client.post(url, typed)
    assert response.status_code == 200
    assert "already holds the Staff role" in response.content.decode()
    assert form_data(main_form(response.content.decode()))["email"] == ["Nia@Example.org"]
    assert world["ours"].roles.filter(role=Role.STAFF).count() == 1


def test_emoji_and_accents_are_saved_as_typed(client, world):
    sign_in_as(client, world["jane"])
    ours = world["ours"]
    data = form_data(main_form(client.get(f"/organizations/{ours.pk}/edit/").content.decode()))
    response = client.post(f"/organizations/{ours.pk}/edit/", {**data, "name": EMOJI, "city": "São Paulo"})
    assert response.status_code == 302
    ours.refresh_from_db()
    assert (ours.name, ours.city) == (EMOJI, "São Paulo")
    assert client.get("/find-a-provider/", {"q": "sao"}).content.decode().count(EMOJI) >= 1
