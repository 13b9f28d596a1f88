"""Forms of the conveners' campaign tracking pages: bulk review of signatures and messages."""

from django import forms

# More boxes than one page shows is a forged request; refusing it keeps the UPDATE bounded.
IDS_MAX = 500


class SignatureIdsField(forms.Field):
    """The ticked signatures: a list of ids from checkboxes named alike."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick at least one signature first.",
        "invalid": "The ticked signatures could not be read; reload the page and try again.",
    }

    def to_python(self, value):
        if not value:
            return []
        if not isinstance(value, list | tuple) or len(value) > IDS_MAX:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            ids = {int(item) for item in value}
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if any(pk <= 0 or pk > 2**63 - 1 for pk in ids):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return sorted(ids)


class FlaggedReviewForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("invalidate", "Invalidate selected"), ("clear", "Accept selected as genuine")],
        error_messages={"required": "Choose what to do with the ticked signatures."},
    )
    signature = SignatureIdsField()


class MessageModerationForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("approve", "Approve selected"), ("hide", "Hide selected")],
        error_messages={"required": "Choose what to do with the ticked messages."},
    )
    signature = SignatureIdsField(
        error_messages={"required": "Tick at least one message first."},
    )


class SuggestionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
