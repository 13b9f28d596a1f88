"""python manage.py create_partner NAME --scopes read:members,read:campaigns [--organization SLUG]

Creates the partner (or reuses it with --existing) and a key for it; the key is the last line,
so a script can take it with `tail -n 1`."""

from django.core.management.base import BaseCommand, CommandError

from api.keys import api_key_create, partner_create
from api.models import Partner
from api.scopes import SCOPES, scopes_parse
from crm.errors import ApplicationError
from members.models import Organization


class Command(BaseCommand):
    help = "Creates a partner and an API key for it; prints the key as the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The partner's name, e.g. 'Action Network sync'.")
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated: " + ", ".join(SCOPES),
        )
        parser.add_argument(
            "--organization",
            metavar="SLUG",
            help="Bind the partner to this member organisation: its keys reach only it.",
        )
        parser.add_argument("--key-name", default="", help="What the key is for.")
        parser.add_argument(
            "--existing", action="store_true", help="Add a key to the partner of that name."
        )

    def handle(self, *args, name, scopes, organization, key_name, existing, **options):
        try:
            scope_list = scopes_parse(scopes)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if not scope_list:
            raise CommandError("Give at least one scope with --scopes.")
        bound = None
        if organization:
            bound = Organization.objects.filter(slug=organization).first()
            if bound is None:
                raise CommandError(f"No member organisation has the slug {organization}.")
        try:
            partner = (
                Partner.objects.filter(name__iexact=name.strip()).first() if existing else None
            )
            if partner is None:
                partner = partner_create(name=name, organization=bound)
            key, text = api_key_create(partner=partner, scopes=scope_list, name=key_name)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        scope_text = ", ".join(key.scopes)
        self.stdout.write(f"Partner: {partner.name} (#{partner.pk})")
        if partner.organization_id:
            self.stdout.write(f"Reaches only: {partner.organization}")
        self.stdout.write(f"Scopes: {scope_text}")
        self.stdout.write("The key below is shown once; store it now. Send it as")
        self.stdout.write("  Authorization: Bearer <key>   on /api/v1/")
        self.stdout.write("  OSDI-API-Token: <key>         on /osdi/v1/")
        self.stdout.write(text)
