"""The demo coalition's mailings: the Awareness Month toolkit e-mail (a draft for a convener to
preview and schedule) and two reminders to members that have not signed. Written for this
project; running it again changes nothing."""

from mailings.models import Mailing, ReminderRule, SignedFilter

TOOLKIT_MAILING = {
    "name": "Awareness Month toolkit to all active members",
    "subject": "{{ organization }}: your Awareness Month toolkit",
    "body": (
        "Dear {{ given_name }},\n\n"
        "January is Human Trafficking Awareness Month. Below is this year's toolkit: talking "
        "points with the sources behind each claim, posts ready for each platform, a thread and "
        "graphics with their descriptions. Before you share, you can put your own credible "
        "source in place of ours on [your toolkit page]({{ toolkit_link }}).\n\n"
        "{% if signed %}Thank you for adding {{ organization }} to our statement.{% else %}"
        "{{ organization }} has not signed our statement yet. A signatory can sign on for you "
        "in a minute: [read the statement]({{ campaign_link }}).{% endif %}\n\n"
        "With thanks,\n\nThe conveners of {{ coalition }}"
    ),
}

REMINDERS = [
    {
        "name": "Statement closes in 7 days: members that have not signed",
        "days_before": 7,
        "subject": "One week left for {{ organization }} to sign",
        "body": (
            "Dear {{ given_name }},\n\n"
            "Our Awareness Month statement closes in a week and {{ organization }} is not on it "
            "yet. Member organisations from every sector have signed; the statement is stronger "
            "with yours.\n\n[Read and sign the statement]({{ campaign_link }})\n\n"
            "If you have signed since this message was prepared, thank you, and please ignore "
            "it.\n\nThe conveners of {{ coalition }}"
        ),
    },
    {
        "name": "Statement closes tomorrow: members that have not signed",
        "days_before": 1,
        "subject": "Last day for {{ organization }} to sign our statement",
        "body": (
            "Dear {{ given_name }},\n\n"
            "Our Awareness Month statement closes tomorrow. There is still time for "
            "{{ organization }} to add its name.\n\n"
            "[Sign the statement]({{ campaign_link }})\n\nThe conveners of {{ coalition }}"
        ),
    },
]


def mailings_demo_seed(*, campaign, toolkit=None) -> None:
    Mailing.objects.get_or_create(
        name=TOOLKIT_MAILING["name"],
        defaults={
            **TOOLKIT_MAILING,
            "campaign": campaign,
            "toolkit": toolkit,
            "primary_contacts_only": True,
        },
    )
    for reminder in REMINDERS:
        ReminderRule.objects.get_or_create(
            name=reminder["name"],
            defaults={
                **reminder,
                "campaign": campaign,
                "toolkit": toolkit,
                "anchor": ReminderRule.Anchor.CLOSES,
                "signed": SignedFilter.NOT_SIGNED,
                "primary_contacts_only": True,
            },
        )
