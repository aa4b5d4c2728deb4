"""The public directory's search form: a bookmarkable GET form."""

from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms

from contacts.models import ACCREDITED_STATUSES, search_normalize

UNKNOWN_STATUS = "Choose one of the listed accreditation statuses."
UNKNOWN_ACCREDITOR = "Choose one of the listed accreditors."
QUERY_TOO_LONG = "Search with at most %(limit_value)d characters."

QUERY_MAX_LENGTH = 100


class DirectorySearchForm(forms.Form):
    """Search by name or city, filter by status and accreditor.

    The accreditor choices come from the view (the accreditors of listed
    providers), so the form itself runs no query.
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
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.attrs = {"role": "search", "aria-label": "Find a CME provider", "novalidate": ""}
        # A filter with a single accreditor to choose filters nothing: it is not shown.
        filter_by_accreditor = len(accreditors) > 1
        if not filter_by_accreditor:
            self.fields["accreditor"].widget = forms.HiddenInput()
        self.helper.layout = Layout(
            Row(
                Column("q", css_class="col-md-5" if filter_by_accreditor else "col-md-7"),
                Column("status", css_class="col-sm-6 col-md-3"),
                Column("accreditor", css_class="col-sm-6 col-md-2") if filter_by_accreditor else "accreditor",
                Column(
                    StrictButton("Search", type="submit", css_class="btn-primary w-100"),
                    css_class="col-md-2 d-flex align-items-end mb-3",
                ),
            )
        )

    def search_words(self) -> list[str]:
        """The query, normalized like Organization.search_text, one entry per word."""
        return search_normalize(self.cleaned_data.get("q", "")).split()
