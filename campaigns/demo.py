"""The demo Awareness Month statement campaign, written for this project."""

AWARENESS_MONTH_SLUG = "awareness-month"

AWARENESS_MONTH = {
    "title": "Facts, not fiction: our Awareness Month statement",
    "kind": "statement",
    "introduction": (
        "January is Human Trafficking Awareness Month. Over the past years, viral posts built on "
        "invented stories about child trafficking have flooded hotlines with second-hand tips "
        "and pulled attention away from the organisations whose work is proven to help.\n\n"
        "Our members answer with evidence. Add your name and your affiliation to the statement "
        "below to show that the people of our region act on facts."
    ),
    "statement": (
        "We, the member organisations of the coalition and the people who stand with them, "
        "reject false and sensational claims about human trafficking.\n\n"
        "We come from the public, private, multi-faith, education, advocacy, nonprofit and "
        "philanthropic sectors. Trafficking is a grave violation of human rights, and it will "
        "end only when what we do is guided by evidence.\n\n"
        "We commit to share credible information, to direct people who need help to trusted "
        "services, to pass on first-hand knowledge only to those equipped to act on it, and to "
        "stand with survivors and with everyone at risk."
    ),
    "signature_goal": 1000,
    # The rules of the coalition's own page: name, phone and a message required.
    "affiliation_field": "optional",
    "phone_field": "required",
    "message_field": "required",
}

# "Learn more": credible sources on the facts, described in our own words.
RESOURCES = [
    {
        "title": "Myths, facts and statistics (Polaris)",
        "url": "https://polarisproject.org/myths-facts-and-statistics/",
        "description": (
            "Polaris, which operates the U.S. National Human Trafficking Hotline, sets the most "
            "widespread myths against what thousands of hotline cases show: most traffickers "
            "deceive, manipulate and threaten rather than kidnap, and many victims are "
            "exploited by a partner or a relative rather than by a stranger."
        ),
    },
    {
        "title": "National Human Trafficking Hotline",
        "url": "https://humantraffickinghotline.org/",
        "description": (
            "Confidential help and reporting around the clock, in many languages: call "
            "1-888-373-7888 or text 233733. The right place for first-hand information about a "
            "possible trafficking situation, rather than a post shared online."
        ),
    },
    {
        "title": "Trafficking in Persons Report (U.S. Department of State)",
        "url": "https://www.state.gov/trafficking-in-persons-report/",
        "description": (
            "The State Department's yearly assessment of how governments, the United States "
            "included, prevent trafficking, protect survivors and prosecute traffickers, with "
            "a narrative for each country."
        ),
    },
    {
        "title": "Blue Campaign (U.S. Department of Homeland Security)",
        "url": "https://www.dhs.gov/blue-campaign",
        "description": (
            "The national public awareness campaign of the Department of Homeland Security: free "
            "training and materials on recognising the indicators of trafficking and responding "
            "safely, and #WearBlueDay on January 11."
        ),
    },
]

PUBLIC_SIGNERS = 190
CONFIRMED_SHARE = 0.93

# Organisational sign-on: the share of each sector's active members that has signed, uneven so
# that the conveners' "not signed yet" list has something to say (about 55% overall).
SIGN_ON_SHARE_BY_SECTOR = {
    "public": 0.34,
    "private": 0.3,
    "multi-faith": 0.81,
    "education": 0.5,
    "advocacy": 0.78,
    "nonprofit": 0.72,
    "philanthropic": 0.47,
}
# Staff of member organisations who sign personally, and signatories who also do.
STAFF_SIGNER_SHARE = 0.5
SIGNATORY_PERSONAL_SHARE = 0.15
# Signatures credited to a member organisation's link or embedded form (the leaderboard).
REFERRED_SIGNATURES = 40
REFERRING_ORGANIZATIONS = 9
# A burst from one network and one domain that the abuse limits flagged, awaiting review.
FLAGGED_BURST = 6
FLAGGED_IP = "203.0.113.66"
FLAGGED_DOMAIN = "quickpetitions.example.com"
# Affiliations typed with a slip, matched only uncertainly: a convener confirms them.
MISSPELLED_AFFILIATIONS = 4

ORGANIZATION_MESSAGES = [
    "Our whole board stands behind this statement.",
    "We see every day what real help looks like: trained people and trusted services.",
    "Facts first, for the survivors we serve.",
    "",
    "",
    "",
]
MESSAGES = [
    "Facts protect children. Rumours do not.",
    "Proud to stand with our neighbours on this.",
    "Share the hotline, not the hoax.",
    "Every tip that matters is a first-hand one.",
    "Our congregation signs with gratitude for the coalition's work.",
    "Learn the facts before you share.",
    "I teach middle school. My students deserve the truth.",
    "Survivors need services, not viral posts.",
    "Thank you for standing up for evidence.",
    "Signing for my daughters.",
]
# Messages a convener would rather not show; some demo signatures carry them, hidden.
HIDDEN_MESSAGES = [
    "Follow my page for the REAL story!!!",
    "Check out my channel for the truth they hide.",
]
