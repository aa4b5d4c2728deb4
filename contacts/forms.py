"""Forms of the provider pages. They validate input; the writes are in contacts/services.py."""

from django import forms
from django.contrib.auth import get_user_model

from contacts.models import Organization, Role
from pars.addresses import EMAIL_INVALID, EmailAddressField
from pars.concurrency import ConcurrentEditFormMixin

User = get_user_model()

PERSON_DETAIL_FIELDS = ["first_name", "last_name", "credentials", "job_title", "phone"]

CHOOSE_ONE_PERSON = "Choose someone on the roster or enter an email address, not both."
CHOOSE_A_PERSON = "Choose someone on the roster or enter the email address of a new contact."
NEW_PERSON_NEEDS_NAME = "This email address is new to us: enter the person's first and last name too."


def service_errors_add(form, error) -> None:
    """Show a services ValidationError on the form: on its field when the form has one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class OrganizationForm(ConcurrentEditFormMixin, forms.ModelForm):
    """The details a provider keeps current. Provider ID, accreditor, status and term are CME staff's."""

    website = forms.URLField(
        required=False, assume_scheme="https", widget=forms.URLInput(attrs={"placeholder": "https://"})
    )

    class Meta:
        model = Organization
        fields = ["name", "street_address", "city", "state", "zip_code", "phone", "website"]
        widgets = {
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
        }


class PersonDetailsForm(forms.Form):
    """A person's details, as the user model keeps them."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    credentials = forms.CharField(max_length=100, required=False, help_text='For example "MD, MPH".')
    job_title = forms.CharField(max_length=150, required=False)
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"}))

    def details(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in PERSON_DETAIL_FIELDS}


class ContactAddForm(PersonDetailsForm):
    """A contact by email: a known email only gains the role; a new one is created and invited."""

    email = EmailAddressField(
        label="Email address",
        error_messages={"invalid": EMAIL_INVALID},
        help_text="If we already know this address, the person keeps their own details and just gains the role.",
    )
    role = forms.ChoiceField(choices=[(role.value, role.label) for role in Role if role != Role.PRIMARY])

    field_order = ["email", "first_name", "last_name", "credentials", "job_title", "phone", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].required = True
        self.fields["last_name"].required = True


class PersonChooseForm(PersonDetailsForm):
    """Someone on the organization's roster, or an email address (a known or a new person).

    people: the roster's people to choose from (already loaded, so choosing costs no query).
    """

    person = forms.ChoiceField(required=False, label="Someone on the roster")
    email = EmailAddressField(
        label="Or the email address of someone else",
        required=False,
        error_messages={"invalid": EMAIL_INVALID},
        help_text="A new person gets an email invitation to set a password.",
    )
    field_order = ["person", "email", "first_name", "last_name", "credentials", "job_title", "phone"]

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.people = {str(person.pk): person for person in people}
        self.fields["person"].choices = [("", "— choose —")] + [
            (pk, f"{person} ({person.email})") for pk, person in self.people.items()
        ]
        self.fields["first_name"].label = "First name (a new person only)"
        self.fields["last_name"].label = "Last name (a new person only)"

    def clean_person(self):
        return self.people.get(self.cleaned_data["person"])

    def clean(self):
        cleaned = super().clean()
        person, email = cleaned.get("person"), cleaned.get("email")
        if person and email:
            raise forms.ValidationError(CHOOSE_ONE_PERSON)
        if not person and not email:
            if not self.has_error("email"):
                raise forms.ValidationError(CHOOSE_A_PERSON)
            return cleaned
        if email:
            known = User.objects.filter(email=email).first()
            if known:
                cleaned["person"] = known
            elif not (cleaned.get("first_name") and cleaned.get("last_name")):
                raise forms.ValidationError(NEW_PERSON_NEEDS_NAME)
        return cleaned


class KeepAsStaffForm(forms.Form):
    """The hand-over's confirmation step, when the previous primary holds no other role that gives access."""

    keep_as_staff = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, previous=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep_as_staff"].label = f"Keep {previous} on as Staff, so that they keep access"


class PersonForm(ConcurrentEditFormMixin, forms.ModelForm):
    """The details of a contact who has not set a password. Their email is not editable here."""

    class Meta:
        model = User
        fields = PERSON_DETAIL_FIELDS
        widgets = {"phone": forms.TextInput(attrs={"type": "tel"})}
