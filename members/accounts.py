"""Sign-in accounts for member organisations' profile editors."""


def sign_in_link_send(*, contact, requested_by=None) -> None:
    """E-mails ``contact`` a one-time sign-in link to edit their organisation's profile."""
    raise NotImplementedError  # provided by the self-service work
