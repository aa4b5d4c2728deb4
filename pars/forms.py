"""What every form of the site shares: messages that say what to do, and phone numbers in one format.

The messages follow the GOV.UK Design System's error-message guidance: say
what to do ("Enter the contact's first name"), never Django's "This field is
required." Tests import these constants.
"""

import phonenumbers
from django import forms
from django.conf import settings
from django.forms.utils import pretty_name

REQUIRED = "Enter {what}"
CHOOSE = "Select {what}"
EMAIL_INVALID = "Enter an email address, like name@example.org"
URL_INVALID = "Enter a web address, like www.example.org"
PHONE_INVALID = "Enter a phone number, like (916) 555-0142"
TOO_LONG = "{label} must be {limit_value} characters or fewer"
CHOICE_INVALID = "Select one of the options shown"


def phone_format(value: str) -> str:
    """A phone number as people read it: national for the default region ((916) 555-0142, ext. kept),
    international for any other (+44 20 7946 0958). Raises ValidationError(PHONE_INVALID)."""
    region = settings.PHONE_DEFAULT_REGION
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise forms.ValidationError(PHONE_INVALID, code="invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise forms.ValidationError(PHONE_INVALID, code="invalid")
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_tel(value: str) -> str:
    """The tel: form (E.164) of a stored number, or "" when it is not one (an old free-text value)."""
    try:
        number = phonenumbers.parse(value, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneField(forms.CharField):
    """A phone number, validated and stored in one format (phone_format); blank stays blank."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return phone_format(value) if value else value


class ClearMessagesMixin:
    """A form whose messages say what to do.

    `required_messages` names what to enter for each required field ("the
    contact's first name"); a field it does not name reads "Enter <its label>".
    Choices read "Select ...". Email, web address and phone fields say what a
    valid value looks like.
    """

    required_messages: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            _messages_set(field, self.required_messages.get(name), label=str(field.label or pretty_name(name)))


def _messages_set(field, what: str | None, *, label: str) -> None:
    what = what or f"the {label.lower()}"
    choosing = isinstance(field, forms.ChoiceField | forms.ModelChoiceField)
    field.error_messages["required"] = (CHOOSE if choosing else REQUIRED).format(what=what)
    if choosing:
        field.error_messages["invalid_choice"] = CHOICE_INVALID
    if isinstance(field, forms.EmailField):
        field.error_messages["invalid"] = EMAIL_INVALID
    if isinstance(field, forms.URLField):
        field.error_messages["invalid"] = URL_INVALID
    if getattr(field, "max_length", None):
        field.error_messages["max_length"] = TOO_LONG.format(label=label.capitalize(), limit_value=field.max_length)
