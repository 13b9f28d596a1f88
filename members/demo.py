"""A fictional demo coalition: sectors, 220+ member organisations and their contacts.

Every name here is invented; e-mail addresses use example.org and phone numbers the 555-01xx
range reserved for fiction. The generator is seeded, so every run produces the same coalition.
"""

import random
from dataclasses import dataclass

from django.utils.text import slugify

# The seven sectors the coalition convenes, with spellings met in members' spreadsheets.
SECTORS = [
    (
        "Public",
        "public",
        "Government offices, courts, law enforcement and public agencies.",
        [
            "public sector",
            "government",
            "gov't",
            "govt",
            "law enforcement",
            "city",
            "county",
            "state",
        ],
    ),
    (
        "Private",
        "private",
        "Businesses, firms and corporate partners.",
        ["private sector", "corporate", "business", "for-profit", "for profit", "company"],
    ),
    (
        "Multi-faith",
        "multi-faith",
        "Congregations and interfaith bodies of every tradition.",
        [
            "multi faith",
            "multifaith",
            "faith",
            "faith-based",
            "faith based",
            "religious",
            "interfaith",
        ],
    ),
    (
        "Education",
        "education",
        "Schools, colleges and universities.",
        ["higher ed", "higher education", "school", "k-12", "university", "academic"],
    ),
    (
        "Advocacy",
        "advocacy",
        "Organisations that campaign for survivors and for policy change.",
        ["advocate", "advocacy group", "policy", "survivor advocacy"],
    ),
    (
        "Nonprofit",
        "nonprofit",
        "Service providers, shelters and community organisations.",
        ["non-profit", "non profit", "npo", "ngo", "501(c)(3)", "501c3", "charity"],
    ),
    (
        "Philanthropic",
        "philanthropic",
        "Foundations, funds and giving circles.",
        ["philanthropy", "funder", "foundation", "grantmaker"],
    ),
]

PLACES = [
    "Alpharetta",
    "Austell",
    "Buckhead",
    "Chamblee",
    "Conyers",
    "Decatur",
    "Doraville",
    "Duluth",
    "East Point",
    "Fayetteville",
    "Hapeville",
    "Jonesboro",
    "Kennesaw",
    "Lilburn",
    "Lithonia",
    "Mableton",
    "Marietta",
    "McDonough",
    "Morrow",
    "Norcross",
    "Peachtree",
    "Riverdale",
    "Roswell",
    "Sandy Springs",
    "Smyrna",
    "Snellville",
    "Stockbridge",
    "Stone Mountain",
    "Suwanee",
    "Tucker",
    "Union City",
    "Westside",
]
COUNTIES = ["Fulton", "DeKalb", "Cobb", "Gwinnett", "Clayton", "Cherokee", "Henry", "Douglas"]
WORDS = [
    "Beacon",
    "Bridge",
    "Cedar",
    "Compass",
    "Dawn",
    "Dogwood",
    "Harbor",
    "Haven",
    "Hope",
    "Horizon",
    "Lantern",
    "Magnolia",
    "Meridian",
    "North Star",
    "Oak",
    "Open Door",
    "Pathway",
    "Pine",
    "Refuge",
    "Riverbend",
    "Safe Harbor",
    "Sparrow",
    "Summit",
    "Willow",
]
SURNAMES = [
    "Abernathy",
    "Baptiste",
    "Castillo",
    "Delgado",
    "Eze",
    "Fairbanks",
    "Gallagher",
    "Haddad",
    "Ibarra",
    "Johansson",
    "Kowalski",
    "Lindqvist",
    "Mbeki",
    "Nakamura",
    "Osei",
    "Petrov",
    "Quintero",
    "Rosenberg",
    "Sato",
    "Thibodeaux",
    "Umar",
    "Vasquez",
    "Whitfield",
    "Yilmaz",
    "Zeller",
]
GIVEN_NAMES = [
    "Adaeze",
    "Andre",
    "Beatriz",
    "Caleb",
    "Chiamaka",
    "Darnell",
    "Elena",
    "Farah",
    "Gabriel",
    "Hana",
    "Imani",
    "Javier",
    "Keiko",
    "Lamar",
    "Maya",
    "Nadia",
    "Omar",
    "Paloma",
    "Quentin",
    "Rosa",
    "Samir",
    "Tanya",
    "Uriel",
    "Valeria",
    "Wendell",
    "Ximena",
    "Yusuf",
    "Zora",
]
TITLES = [
    "Executive Director",
    "Program Manager",
    "Outreach Coordinator",
    "Communications Lead",
    "Pastor",
    "Dean of Students",
    "Policy Analyst",
    "Grants Officer",
    "Chief of Staff",
    "Volunteer Coordinator",
    "Case Manager",
    "Community Liaison",
]

# Name patterns per sector slug; {p} place, {c} county, {w} word, {s} surname, {t} second surname.
PATTERNS = {
    "public": [
        "City of {p} Office of Victim Services",
        "{c} County Juvenile Court",
        "{c} County Sheriff's Office",
        "{p} Police Department Special Victims Unit",
        "{c} County Department of Family Services",
        "{c} County District Attorney's Office",
    ],
    "private": [
        "{s} & {t} LLP",
        "{p} Hospitality Group",
        "{w} Logistics Inc.",
        "{w} Transit Company",
        "{s} Hotels",
        "{p} Health Partners",
    ],
    "multi-faith": [
        "{p} Interfaith Council",
        "{w} Baptist Church",
        "Temple {w}",
        "Masjid {w}",
        "St. {s} Parish",
        "{p} Friends Meeting",
    ],
    "education": [
        "{p} College",
        "{p} Academy",
        "{p} High School",
        "{w} Charter School",
        "University of {p} School of Social Work",
        "{c} County Public Schools",
    ],
    "advocacy": [
        "{w} Voices Alliance",
        "{w} Justice Project",
        "{p} Survivor Advocacy Network",
        "{w} Freedom Coalition",
        "Youth Against Exploitation {p}",
    ],
    "nonprofit": [
        "{w} House",
        "{p} Runaway Youth Outreach",
        "{w} Shelter Network",
        "{w} Restoration Center",
        "{p} Legal Aid Clinic",
        "{w} Recovery Services",
    ],
    "philanthropic": [
        "{s} Family Foundation",
        "{p} Community Fund",
        "{c} Giving Circle",
        "{w} Trust for Children",
        "{s} Charitable Fund",
    ],
}
STATUS_WEIGHTS = [("active", 70), ("lapsed", 12), ("prospect", 14), ("withdrawn", 4)]
ORGANIZATIONS_PER_SECTOR = 32


@dataclass(frozen=True)
class DemoPerson:
    given_name: str
    family_name: str
    email: str
    phone: str
    title: str
    language: str


@dataclass(frozen=True)
class DemoOrganization:
    name: str
    slug: str
    sector_slug: str
    status: str
    city: str
    county: str
    joined_year: int
    description: str
    website: str
    people: tuple[DemoPerson, ...]


def _phone(rng: random.Random) -> str:
    return f"+1{rng.choice(['404', '470', '678', '770'])}55501{rng.randint(0, 99):02d}"


def demo_organizations() -> list[DemoOrganization]:
    """The demo coalition, the same list on every call."""
    rng = random.Random(2026)
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    seen: set[str] = set()
    result = []
    for _name, sector_slug, _description, _aliases in SECTORS:
        made = 0
        while made < ORGANIZATIONS_PER_SECTOR:
            s, t = rng.sample(SURNAMES, 2)
            name = rng.choice(PATTERNS[sector_slug]).format(
                p=rng.choice(PLACES), c=rng.choice(COUNTIES), w=rng.choice(WORDS), s=s, t=t
            )
            slug = slugify(name)[:200]
            if slug in seen:
                continue
            seen.add(slug)
            made += 1
            domain = slug.replace("-", "")[:24] + ".example.org"
            people = []
            for index in range(rng.choice([1, 1, 2, 2, 3])):
                given, family = rng.choice(GIVEN_NAMES), rng.choice(SURNAMES)
                people.append(
                    DemoPerson(
                        given_name=given,
                        family_name=family,
                        email=f"{given[0]}.{family}{index or ''}@{domain}".lower(),
                        phone=_phone(rng),
                        title=rng.choice(TITLES),
                        language="es" if rng.random() < 0.15 else "en",
                    )
                )
            city = rng.choice(PLACES)
            result.append(
                DemoOrganization(
                    name=name,
                    slug=slug,
                    sector_slug=sector_slug,
                    status=rng.choices(statuses, weights)[0],
                    city=city,
                    county=rng.choice(COUNTIES),
                    joined_year=rng.randint(2012, 2026),
                    description=(
                        f"{name} works in {city} to prevent trafficking and to support "
                        "survivors, and joined the coalition to coordinate with its neighbours."
                    ),
                    website=f"https://www.{domain}",
                    people=tuple(people),
                )
            )
    return result
