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
}

PUBLIC_SIGNERS = 190
MEMBER_SIGNERS = 130
CONFIRMED_SHARE = 0.93
MESSAGES = [
    "Facts protect children. Rumours do not.",
    "Proud to stand with our neighbours on this.",
    "Share the hotline, not the hoax.",
    "Every tip that matters is a first-hand one.",
    "",
    "",
    "Our congregation signs with gratitude for the coalition's work.",
    "Learn the facts before you share.",
]
