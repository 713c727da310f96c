"""Forms of the pages: they parse what the browser sends; the services decide what is valid."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.intake import MAX_AGE_MONTHS, TAG_OF_FIELD
from clinic.models import REASON_MAX_CHARS, Review, Sex


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    """One or several radiographs of the same child with what is known about the child.

    Empty fields are read from the DICOM tags by the service; the page shows those tags for
    confirmation before submitting.
    """

    files = MultipleFileField(label="Radiographs (PNG, JPEG or DICOM)")
    sex = forms.ChoiceField(
        choices=[("", "from the DICOM tags"), *Sex.choices], required=False, label="Sex"
    )
    birth_date = forms.DateField(
        required=False, label="Date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )
    exam_date = forms.DateField(
        required=False, label="Exam date", widget=forms.DateInput(attrs={"type": "date"})
    )
    chronological_age_months = forms.FloatField(
        required=False, min_value=0, max_value=MAX_AGE_MONTHS, label="or chronological age (months)"
    )
    patient_id = forms.CharField(required=False, max_length=64, label="Patient ID")
    patient_name = forms.CharField(required=False, max_length=128, label="Patient name")
    accession_number = forms.CharField(required=False, max_length=64, label="Accession number")
    override_tags = forms.MultipleChoiceField(
        required=False,
        choices=[(name, name) for name in TAG_OF_FIELD],
        widget=forms.CheckboxSelectMultiple,
        label="Keep these values over the file's contradicting DICOM tags (override_tags)",
    )

    def study_fields(self) -> dict[str, Any]:
        """The keyword arguments of ``services.study_submit`` other than user and file."""
        data = self.cleaned_data
        return {
            "sex": data["sex"] or None,
            "birth_date": data["birth_date"],
            "exam_date": data["exam_date"],
            "chronological_age_months": data["chronological_age_months"],
            "patient_id": data["patient_id"],
            "patient_name": data["patient_name"],
            "accession_number": data["accession_number"],
            "override_tags": data["override_tags"],
        }


class ReviewForm(forms.Form):
    """Sign-off: accept one of the estimates as shown, or correct the bone age with a reason."""

    accept = forms.ChoiceField(
        required=False,
        choices=Review.Method.choices,
        widget=forms.RadioSelect,
    )
    corrected_age_months = forms.FloatField(
        required=False, min_value=0, max_value=240, label="Corrected bone age (months)"
    )
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        required=False, label="I have looked again and sign the estimate as shown"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("accept") and data.get("corrected_age_months") is not None:
            raise forms.ValidationError(
                "Either sign an estimate as shown or enter a corrected bone age, not both."
            )
        return data
