"""One canonical form of every email address, so that one mailbox is one person.

Every address that is stored, and every address that is looked up (sign-in, the
sign-in throttle, adding a contact, password reset, admin search), goes through
email_canonical() first; the database then compares with plain equality. Python
and the database never each fold case their own way, so they cannot disagree
about which account an address means (PostgreSQL's UPPER() matched "s\\u0131ssi" with
"sissi" while Python's lower() did not).

The canonical form: the domain in its IDNA (ASCII) form, lower case; the local
part Unicode-normalized (NFC) and case-folded by upper-then-lower case, which
folds the dotless i (U+0131) and the long s (U+017F) onto i and s as the database's case-insensitive
match did. Addresses with an invisible or control character (a soft hyphen, a
zero-width space, a bidirectional mark) are refused with a message that names
it: they look like another address on screen while reaching another mailbox.

Validation is email-validator's, deliverability checks off (no DNS).

This lives in pars/ because both accounts and contacts need it, and contacts
does not import accounts.
"""

import unicodedata

import email_validator
from django import forms
from django.core.exceptions import ValidationError

EMAIL_INVALID = "Enter a valid email address."
EMAIL_INVISIBLE_CHARACTER = (
    "This email address contains an invisible or control character ({name}). "
    "Type the address again, without copying it from elsewhere."
)
EMAIL_MAX_LENGTH = 254

# Unicode categories of characters that show nothing (or steer the text) where they stand.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def _invisible(address: str) -> str | None:
    """The name of the first invisible or control character in the address, if any."""
    for char in address:
        category = unicodedata.category(char)
        if category in _INVISIBLE_CATEGORIES or (category == "Zs" and char != " "):
            name = unicodedata.name(char, "")
            return name.lower() if name else f"U+{ord(char):04X}"
    return None


def _fold(local_part: str) -> str:
    return unicodedata.normalize("NFC", local_part.upper().lower())


def email_canonical(address: str) -> str:
    """The canonical form of an address; a ValidationError with a readable message if it is not one."""
    address = (address or "").strip()
    invisible = _invisible(address)
    if invisible:
        raise ValidationError(EMAIL_INVISIBLE_CHARACTER.format(name=invisible), code="invisible")
    try:
        valid = email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise ValidationError(EMAIL_INVALID, code="invalid") from None
    canonical = f"{_fold(valid.local_part)}@{valid.ascii_domain.lower()}"
    if len(canonical) > EMAIL_MAX_LENGTH:
        raise ValidationError(EMAIL_INVALID, code="invalid")
    return canonical


def email_lookup_key(address: str) -> str:
    """What to look an address up by: its canonical form, or for input that is no valid address,
    the input folded the same way (it matches no account, and counts against itself when throttled)."""
    try:
        return email_canonical(address)
    except ValidationError:
        return _fold((address or "").strip())


def search_term(term: str) -> str:
    """An admin search: an address as stored (its canonical form), anything else as typed."""
    try:
        return email_canonical(term)
    except ValidationError:
        return term


class EmailAddressField(forms.EmailField):
    """A form's email address, cleaned to its canonical form; a refusal says why."""

    default_validators = []  # email_canonical validates, with email-validator's rules

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return email_canonical(value)
        except ValidationError as error:
            if error.code == "invalid":  # in the words the form chose for an invalid address
                raise ValidationError(self.error_messages.get("invalid", EMAIL_INVALID), code="invalid") from None
            raise
