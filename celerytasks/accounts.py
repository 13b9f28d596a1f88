"""Tasks for member editors' accounts (sign-in links)."""
