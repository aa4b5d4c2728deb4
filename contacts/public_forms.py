"""The public directory's search form: a bookmarkable GET form."""

from django import forms

from contacts.models import ACCREDITED_STATUSES, search_normalize

UNKNOWN_STATUS = "Choose one of the listed accreditation statuses."
UNKNOWN_ACCREDITOR = "Choose one of the listed accreditors."
QUERY_TOO_LONG = "Search with at most %(limit_value)d characters."

QUERY_MAX_LENGTH = 100


class DirectorySearchForm(forms.Form):
    """Search by name or city, filter by status and accreditor.

    The accreditor choices come from the view (the accreditors of listed
    providers), so the form itself runs no query. The page draws it by hand
    (contacts/includes/directory_search_form.html), not through crispy-forms.
    """

    q = forms.CharField(
        label="Name or city",
        required=False,
        max_length=QUERY_MAX_LENGTH,
        error_messages={"max_length": QUERY_TOO_LONG},
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        label="Accreditation status",
        required=False,
        choices=[("", "Any accredited status"), *((s.value, s.label) for s in ACCREDITED_STATUSES)],
        error_messages={"invalid_choice": UNKNOWN_STATUS},
    )
    accreditor = forms.ChoiceField(
        label="Accreditor",
        required=False,
        choices=[],
        error_messages={"invalid_choice": UNKNOWN_ACCREDITOR},
    )

    def __init__(self, *args, accreditors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accreditor"].choices = [("", "Any accreditor"), *((a, a) for a in accreditors)]
        # A filter with a single accreditor to choose filters nothing: it is not shown.
        self.filter_by_accreditor = len(accreditors) > 1
        if not self.filter_by_accreditor:
            self.fields["accreditor"].widget = forms.HiddenInput()

    def search_words(self) -> list[str]:
        """The query, normalized like Organization.search_text, one entry per word."""
        return search_normalize(self.cleaned_data.get("q", "")).split()
