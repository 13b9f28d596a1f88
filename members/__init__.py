"""The member directory: sectors, member organisations, their contacts and affiliations."""
