"""One canonical form of every email address (pars.addresses)."""

import pytest
from django.core.exceptions import ValidationError

from pars.addresses import EMAIL_INVALID, EMAIL_INVISIBLE_CHARACTER, email_canonical, email_lookup_key


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("  Jane.Doe@Example.ORG ", "jane.doe@example.org"),
        ("jane@B\u00fccher.de", "jane@xn--bcher-kva.de"),
        ("jane@xn--bcher-kva.de", "jane@xn--bcher-kva.de"),
        # The dotless i (U+0131) is the letter PostgreSQL's UPPER() already matched with i.
        ("s\u0131ssi@example.org", "sissi@example.org"),
        # Decomposed and composed é are one address.
        ("cafe\u0301@example.org", "caf\u00e9@example.org"),
    ],
)
def test_every_spelling_of_one_mailbox_has_one_canonical_form(typed, canonical):
    assert email_canonical(typed) == canonical


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u00ad", "soft hyphen"),
        ("\u200b", "zero width space"),
        ("\u200c", "zero width non-joiner"),
        ("\u200d", "zero width joiner"),
        ("\ufeff", "zero width no-break space"),
        ("\u200e", "left-to-right mark"),
        ("\u200f", "right-to-left mark"),
        ("\u202a", "left-to-right embedding"),
        ("\u202e", "right-to-left override"),
        ("\u2066", "left-to-right isolate"),
        ("\u2069", "pop directional isolate"),
        ("\x07", "U+0007"),
        ("\t", "U+0009"),
    ],
)
def test_an_invisible_or_control_character_is_refused_with_its_name(char, name):
    with pytest.raises(ValidationError) as error:
        email_canonical(f"fuzz2@exam{char}ple.org")
    assert error.value.messages == [EMAIL_INVISIBLE_CHARACTER.format(name=name)]


@pytest.mark.parametrize("typed", ["", "jane", "jane@", "@example.org", "jane@example", "jane@localhost", "a@b@c.org"])
def test_what_is_no_address_is_refused(typed):
    with pytest.raises(ValidationError) as error:
        email_canonical(typed)
    assert error.value.messages == [EMAIL_INVALID]


def test_a_lookup_of_no_valid_address_is_folded_like_an_address_and_never_fails():
    assert email_lookup_key(" S\u0131ssi@Exam\u00adple.org ") == "sissi@exam\u00adple.org"
    assert email_lookup_key(None) == ""
