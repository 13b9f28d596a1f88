"""The conveners' upload form for a member spreadsheet."""

from django import forms

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A spreadsheet saved as CSV (UTF-8), at most 5 MB.",
        error_messages={"required": "Choose a CSV file to upload."},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError(
                f"“{upload.name}” is not a .csv file. In your spreadsheet, choose "
                "File › Save as › CSV UTF-8."
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is 5 MB. "
                "Split it into smaller files."
            )
        return upload
