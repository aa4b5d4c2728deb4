"""Forms of the provider pages. They validate input; the writes are in contacts/services.py."""

from django import forms
from django.contrib.auth import get_user_model

from contacts import services
from contacts.models import ROLE_PURPOSES, Organization, Role
from pars.addresses import EmailAddressField
from pars.concurrency import ConcurrentEditFormMixin
from pars.forms import ClearMessagesMixin, PhoneField
from pars.validators import refuse_control_characters

User = get_user_model()

PERSON_DETAIL_FIELDS = ["first_name", "last_name", "credentials", "job_title", "phone"]

LISTED, NEW = "listed", "new"
CHOOSE_WHO = "Select someone already listed or someone new"
CHOOSE_LISTED = "Select who takes over the role"
NEW_PERSON_NEEDS_NAME = "Enter the new contact's first and last name: this email address is new to us"
ROLE_CHOICE_HINTS = ROLE_PURPOSES


def service_errors_add(form, error) -> None:
    """Show a services ValidationError on the form: on its field when the form has one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class OrganizationForm(ConcurrentEditFormMixin, ClearMessagesMixin, forms.ModelForm):
    """The details a provider keeps current. Provider ID, accreditor, status and term are CME staff's."""

    required_messages = {"name": "the organization's name"}

    website = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Website",
        widget=forms.URLInput(attrs={"autocomplete": "url"}),
        help_text="For example www.example.org",
    )
    phone = PhoneField(required=False, help_text="For example (916) 555-0142", validators=[refuse_control_characters])

    class Meta:
        model = Organization
        fields = ["name", "street_address", "city", "state", "zip_code", "phone", "website"]
        widgets = {
            "state": forms.TextInput(attrs={"class": "input-width-state", "autocomplete": "address-level1"}),
            "zip_code": forms.TextInput(attrs={"class": "input-width-zip", "autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "street_address": forms.TextInput(attrs={"autocomplete": "street-address"}),
        }


class PersonDetailsForm(ClearMessagesMixin, forms.Form):
    """A person's details, as the user model keeps them."""

    required_messages = {"first_name": "the contact's first name", "last_name": "the contact's last name"}

    first_name = forms.CharField(max_length=150, required=False, validators=[refuse_control_characters])
    last_name = forms.CharField(max_length=150, required=False, validators=[refuse_control_characters])
    credentials = forms.CharField(
        max_length=100, required=False, help_text='For example "MD, MPH".', validators=[refuse_control_characters]
    )
    job_title = forms.CharField(max_length=150, required=False, validators=[refuse_control_characters])
    phone = PhoneField(required=False, help_text="For example (916) 555-0142")

    def details(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in PERSON_DETAIL_FIELDS}


class ContactAddForm(PersonDetailsForm):
    """The role first (each with its purpose), then the person by email.

    A known email only gains the role; a new one is created (and invited, for a role that signs in).
    """

    required_messages = {
        **PersonDetailsForm.required_messages,
        "role": "the contact's role",
        "email": "the contact's email address",
    }

    role = forms.ChoiceField(
        label="Which role will they have?",
        choices=[(role.value, role.label) for role in Role if role != Role.PRIMARY],
        widget=forms.RadioSelect,
    )
    email = EmailAddressField(
        label="Email address",
        help_text="If we already know this address, the person keeps their own details and just gains the role.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    field_order = ["role", "email", "first_name", "last_name", "credentials", "job_title", "phone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].required = True
        self.fields["last_name"].required = True

    def role_options(self) -> list[dict]:
        """The role radios with each role's purpose, for a template that renders them with hints."""
        chosen = self["role"].value()
        return [
            {"value": value, "label": label, "hint": ROLE_CHOICE_HINTS[Role(value)], "checked": value == chosen}
            for value, label in self.fields["role"].choices
        ]


class PersonChooseForm(PersonDetailsForm):
    """One question: someone already listed on the roster, or someone new (by email).

    Only the chosen answer's fields are read. A "new" email that we already
    know is that person. people: the roster's people to choose from (already
    loaded, so choosing costs no query); with none, "someone new" is the only answer.
    """

    required_messages = {
        **PersonDetailsForm.required_messages,
        "email": "the new contact's email address",
    }

    who = forms.ChoiceField(
        label="Who will take over the role?",
        choices=[(LISTED, "Someone already listed"), (NEW, "Someone new")],
        widget=forms.RadioSelect,
    )
    person = forms.ChoiceField(required=False, label="Choose the person")
    email = EmailAddressField(label="Email address", required=False)
    field_order = ["who", "person", "email", "first_name", "last_name", "credentials", "job_title", "phone"]

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.people = {str(person.pk): person for person in people}
        self.fields["person"].choices = [("", "Choose someone")] + [
            (pk, f"{person} ({person.email})") for pk, person in self.people.items()
        ]
        self.fields["who"].error_messages["required"] = CHOOSE_WHO
        # Required when their answer is chosen (clean() checks), so not marked "(optional)".
        for name in ("person", "email", "first_name", "last_name"):
            self.fields[name].required_when_chosen = True
        if not self.people:
            self.fields["who"].initial = NEW
            self.fields["who"].widget = forms.HiddenInput()

    def clean_person(self):
        return self.people.get(self.cleaned_data["person"])

    def clean(self):
        cleaned = super().clean()
        who = cleaned.get("who")
        if who == LISTED:
            self._clean_listed(cleaned)
        elif who == NEW:
            self._clean_new(cleaned)
        return cleaned

    def _clean_listed(self, cleaned):
        cleaned["email"] = ""
        cleaned.update(dict.fromkeys(PERSON_DETAIL_FIELDS, ""))
        if not cleaned.get("person") and not self.has_error("person"):
            self.add_error("person", CHOOSE_LISTED)

    def _clean_new(self, cleaned):
        cleaned["person"] = None
        email = cleaned.get("email")
        if not email:
            if not self.has_error("email"):
                self.add_error("email", self.fields["email"].error_messages["required"])
            return
        known = User.objects.for_address(email)
        if known:
            cleaned["person"] = known
            return
        for name in ("first_name", "last_name"):
            if not cleaned.get(name) and not self.has_error(name):
                self.add_error(name, NEW_PERSON_NEEDS_NAME)


class KeepAsStaffForm(forms.Form):
    """The hand-over's confirmation step, when the previous primary holds no other role that gives access."""

    keep_as_staff = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, previous=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep_as_staff"].label = f"Keep {previous} on as Staff, so that they keep access"


class EmailOfNobodyElseMixin:
    """A person's form whose email field refuses an address another person has, in the words of EMAIL_TAKEN.

    Said on the field before anything else is checked; the service that saves checks again under its lock.
    """

    def clean_email(self):
        email = self.cleaned_data["email"]
        if email and services.email_taken(email=email, person=self.instance if self.instance.pk else None):
            raise forms.ValidationError(services.EMAIL_TAKEN, code="taken")
        return email


class PersonForm(EmailOfNobodyElseMixin, ConcurrentEditFormMixin, ClearMessagesMixin, forms.ModelForm):
    """The details of a contact who has not set a password, their email address included (to correct it)."""

    required_messages = {"email": "the contact's email address"}

    phone = PhoneField(required=False, help_text="For example (916) 555-0142")

    class Meta:
        model = User
        fields = [*PERSON_DETAIL_FIELDS, "email"]
        field_classes = {"email": EmailAddressField}
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "off"})}
        help_texts = {
            "email": "Correct a mistyped address here: the invitation to set a password is sent again to the "
            "corrected one, and the link in the earlier invitation stops working."
        }
