"""The merge page of the people admin, and what a merge leaves readable: the alias search and History."""

import re
from html import unescape

import pytest
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.merge_admin import MERGE_PICK_TWO, MERGE_STALE_FORM, MERGED, NO_SUCH_PERSON
from accounts.merging import MERGE_CHANGED_MEANWHILE, MERGE_INTO_SELF, MERGE_STAFF, person_merge_preview
from accounts.tests.factories import UserFactory
from accounts.tests.test_merging import merge
from contacts import services
from contacts.models import ContactRole, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, SUPERUSER, cme_staff
from contacts.tests.test_views_history import HISTORY_QUERIES
from contacts.tests.test_views_history_people import entries, history
from pars.addresses import EMAIL_INVALID

pytestmark = pytest.mark.django_db

User = get_user_model()
MERGE = reverse("admin:accounts_user_merge")
CHANGELIST = reverse("admin:accounts_user_changelist")
PREVIEW_QUERIES = 8
CONFIRM_QUERIES = 21
REFUSED_QUERIES = 15


@pytest.fixture
def new():
    return UserFactory(first_name="Jane", last_name="Doe", email="jane.doe@sutter.example")


@pytest.fixture
def old():
    return UserFactory(first_name="Jane", last_name="Doe", email="jdoe@kern.example")


@pytest.fixture
def kern(new, old):
    """The duplicate is Primary Contact and Billing Contact; the kept person is Staff there."""
    kern = OrganizationFactory(name="Kern Medical Education", provider_id="CA00123", primary=old)
    services.role_assign(organization=kern, person=old, role=Role.BILLING, by=None)
    services.role_assign(organization=kern, person=new, role=Role.STAFF, by=None)
    return kern


@pytest.fixture
def editor(client):
    editor = cme_staff(EDITORS)
    client.force_login(editor)
    return editor


def text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def preview(client, keep, merge_in):
    return client.get(MERGE, {"keep": keep.email, "merge": merge_in.email})


def confirm_data(response, **choices) -> dict:
    form = response.context["confirm"]
    data = {name: form[name].value() for name in ("keep", "merge", "version")}
    data.update({name: form[name].value() for name in form.fields if name.startswith("role_")})
    data.update(choices)
    return data


def test_editor_previews_what_moves_in_a_fixed_number_of_queries(
    client, editor, new, old, kern, django_assert_max_num_queries
):
    for _ in range(5):  # more roles, same number of queries
        services.role_assign(organization=OrganizationFactory(), person=old, role=Role.CEO, by=None)
    with django_assert_max_num_queries(PREVIEW_QUERIES):
        response = preview(client, new, old)
    assert response.status_code == 200
    page = text(response)
    assert "The person kept becomes the Primary Contact" in page
    assert "Both are on this roster: choose for the Billing Contact role" in page
    assert page.count("Moves to the person kept.") == 5
    assert "jdoe@kern.example can no longer sign in" in page
    assert 'value="Merge jdoe@kern.example into jane.doe@sutter.example"' in response.content.decode()


def test_editor_confirms_and_lands_on_the_kept_person_with_what_happened(
    client, editor, new, old, kern, django_assert_max_num_queries
):
    for _ in range(5):  # more roles to move, same number of queries
        services.role_assign(organization=OrganizationFactory(), person=old, role=Role.CEO, by=None)
    data = confirm_data(preview(client, new, old))
    with django_assert_max_num_queries(CONFIRM_QUERIES):
        response = client.post(MERGE, data)
    assert response.url == reverse("admin:accounts_user_change", args=[new.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        MERGED.format(merge=old, old=old.email, keep=new, new=new.email, moved=7, removed=0)
    ]
    assert set(ContactRole.objects.filter(organization=kern).values_list("person", "role")) == {
        (new.pk, Role.PRIMARY),
        (new.pk, Role.BILLING),
        (new.pk, Role.STAFF),
    }


def test_the_editors_choice_to_remove_a_role_is_applied(client, editor, new, old, kern):
    billing = ContactRole.objects.get(organization=kern, role=Role.BILLING)
    response = preview(client, new, old)
    client.post(MERGE, confirm_data(response, **{f"role_{billing.pk}": "remove"}))
    assert not ContactRole.objects.filter(organization=kern, role=Role.BILLING).exists()
    assert User.objects.get(pk=old.pk).merged_into == new


def test_a_change_since_the_preview_shows_the_new_preview_keeping_the_choices(
    client, editor, new, old, kern, django_assert_max_num_queries
):
    billing = ContactRole.objects.get(organization=kern, role=Role.BILLING)
    data = confirm_data(preview(client, new, old), **{f"role_{billing.pk}": "remove"})
    User.objects.filter(pk=old.pk).update(job_title="Medical Director of CME")

    with django_assert_max_num_queries(REFUSED_QUERIES):
        response = client.post(MERGE, data)

    assert response.status_code == 200
    assert MERGE_CHANGED_MEANWHILE.format(keep=new.email, merge=old.email) in text(response)
    confirm = response.context["confirm"]
    assert confirm["version"].value() == person_merge_preview(keep=new, merge=User.objects.get(pk=old.pk)).version
    assert confirm[f"role_{billing.pk}"].value() == "remove"
    assert User.objects.get(pk=old.pk).is_active
    # Confirming the new preview merges.
    client.post(MERGE, confirm_data(response))
    assert User.objects.get(pk=old.pk).merged_into == new


@pytest.mark.parametrize("who", ["staff", "self"])
def test_a_refused_pair_is_stated_and_offers_no_merge_button(client, editor, new, who):
    other = cme_staff(EDITORS) if who == "staff" else new
    response = preview(client, new, other)
    message = MERGE_STAFF.format(person=other) if who == "staff" else MERGE_INTO_SELF
    assert message in text(response)
    assert response.context["preview"].refusals == (message,)
    assert 'type="submit" class="default"' not in response.content.decode()


def test_an_unknown_or_invalid_address_is_shown_on_the_form_as_typed(client, editor, new):
    response = client.get(MERGE, {"keep": new.email, "merge": "nobody@kern.example"})
    assert response.context["choice"].errors == {"merge": [NO_SUCH_PERSON]}
    assert 'value="nobody@kern.example"' in response.content.decode()
    response = client.get(MERGE, {"keep": "jane@", "merge": new.email})
    assert response.context["choice"].errors == {"keep": [EMAIL_INVALID]}
    assert 'value="jane@"' in response.content.decode()
    assert response.context["preview"] is None


@pytest.mark.parametrize(
    "data",
    [{}, {"keep": "abc", "merge": "1", "version": "v"}, {"keep": str(2**70), "merge": "1", "version": "v"}],
    ids=["empty", "not an id", "too large"],
)
def test_a_tampered_confirmation_is_refused_with_a_message_not_a_500(client, editor, data):
    response = client.post(MERGE, data)
    assert response.url == MERGE
    assert [str(m) for m in get_messages(response.wsgi_request)] == [MERGE_STALE_FORM]


def test_reviewers_may_neither_open_nor_post_the_merge(client, new, old, kern):
    client.force_login(cme_staff(REVIEWERS))
    assert preview(client, new, old).status_code == 403
    assert client.post(MERGE, {"keep": new.pk, "merge": old.pk, "version": "x"}).status_code == 403
    assert "Merge two people" not in client.get(CHANGELIST).content.decode()


@pytest.mark.parametrize("kind", [EDITORS, SUPERUSER])
def test_the_people_list_offers_the_merge_to_editors_and_superusers(client, kind):
    client.force_login(cme_staff(kind))
    assert f'href="{MERGE}"' in client.get(CHANGELIST).content.decode()


def test_the_list_action_opens_the_preview_of_the_two_selected(client, editor, new, old):
    response = client.post(CHANGELIST, {"action": "merge_people", helpers.ACTION_CHECKBOX_NAME: [old.pk, new.pk]})
    later, earlier = sorted([new, old], key=lambda person: (person.date_joined, person.pk), reverse=True)
    assert response.url == f"{MERGE}?keep={later.email.replace('@', '%40')}&merge={earlier.email.replace('@', '%40')}"
    response = client.post(CHANGELIST, {"action": "merge_people", helpers.ACTION_CHECKBOX_NAME: [new.pk]})
    assert [str(m) for m in get_messages(response.wsgi_request)] == [MERGE_PICK_TWO.format(count=1)]


# After the merge: the alias, History


def test_the_old_address_finds_the_kept_person_in_the_people_search(client, editor, new, old, kern):
    merge(keep=new, merge=old, by=editor)
    response = client.get(CHANGELIST, {"q": "JDoe@Kern.example"})
    found = set(response.context["cl"].result_list)
    assert new in found
    assert found <= {new, User.objects.get(pk=old.pk)}  # the closed duplicate itself may be listed, nobody else
    closed = client.get(reverse("admin:accounts_user_change", args=[old.pk]))
    assert "Merged into Jane Doe <jane.doe@sutter.example> : this duplicate is closed" in text(closed)
    assert not closed.context["has_change_permission"]  # a closed record, viewed only
    kept = client.get(reverse("admin:accounts_user_change", args=[new.pk]))
    assert "Duplicates merged in (their addresses find this person): jdoe@kern.example" in text(kept)


def test_the_organizations_history_tab_names_both_with_their_addresses(
    client, editor, new, old, kern, django_assert_max_num_queries
):
    merge(keep=new, merge=old, by=editor)
    client.force_login(new)
    with django_assert_max_num_queries(HISTORY_QUERIES):
        html = history(client, kern)
    assert entries(html)[:2] == [
        f"{editor} CMA CME staff merged the duplicate Jane Doe <jdoe@kern.example> into Jane Doe "
        "<jane.doe@sutter.example>, who now holds the Primary Contact role.",
        f"{editor} CMA CME staff merged the duplicate Jane Doe <jdoe@kern.example> into Jane Doe "
        "<jane.doe@sutter.example>, who now holds the Billing Contact role.",
    ]
    # Before the merge, the duplicate is named with the address it had.
    assert "CME staff or the system assigned Jane Doe <jdoe@kern.example> as Primary Contact." in entries(html)


def test_a_removed_duplicate_role_reads_as_such_in_history(client, editor, new, old):
    organization = OrganizationFactory(name="Kern Medical Education")
    for person in (new, old):
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    merge(keep=new, merge=old, by=editor)
    client.force_login(new)
    assert entries(history(client, organization))[0] == (
        f"{editor} CMA CME staff removed the duplicate Jane Doe <jdoe@kern.example> from Staff on merging them "
        "into Jane Doe <jane.doe@sutter.example>."
    )


def test_every_history_row_of_both_stays_and_the_admin_history_says_merged(client, editor, new, old, kern):
    people_rows = {p.pk: p.history.count() for p in (new, old)}
    role_rows = list(ContactRole.history.filter(organization_id=kern.pk).values_list("history_id", flat=True))

    merge(keep=new, merge=old, by=editor)

    assert User.history.filter(id=old.pk).count() == people_rows[old.pk] + 1  # closed, recorded
    assert User.history.filter(id=new.pk).count() >= people_rows[new.pk]
    assert set(role_rows) <= set(
        ContactRole.history.filter(organization_id=kern.pk).values_list("history_id", flat=True)
    )
    page = text(client.get(reverse("admin:contacts_organization_history", args=[kern.pk])))
    assert (
        f"Changed: Merged duplicate person #{old.pk} into person #{new.pk} Primary Contact Jane Doe <jane.doe@sutter.example>"
        in page
    )
    assert "Created Primary Contact Jane Doe <jdoe@kern.example>" in page


def test_the_roster_person_search_offers_the_kept_person_for_the_old_address_never_the_duplicate(
    client, editor, new, old, kern
):
    merge(keep=new, merge=old, by=editor)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "contacts", "model_name": "contactrole", "field_name": "person", "term": "jdoe@kern.example"},
    )
    assert [result["id"] for result in response.json()["results"]] == [str(new.pk)]
