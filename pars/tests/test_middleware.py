import pytest

from accounts.tests.factories import UserFactory
from pars.middleware import NUL_IN_QUERY

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    ["/admin/auth/group/?name__icontains=%00", "/admin/axes/accessattempt/?q=%00", "/admin/auth/group/?%00=1"],
)
def test_nul_in_an_admin_query_string_is_a_clear_400_even_on_django_admin_screens(client, url):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(url)
    assert response.status_code == 400
    assert NUL_IN_QUERY in response.content.decode()
    assert "<h1>Bad request</h1>" in response.content.decode()


def test_query_strings_without_nul_pass_through(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/auth/group/?name__icontains=cme").status_code == 200
