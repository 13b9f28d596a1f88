"""The demo Awareness Month toolkit, written for this project; the facts come from the sources
each talking point names.

``toolkit_demo_seed()`` creates it once, published, with its graphics drawn by Pillow into
MEDIA_ROOT; running it again changes nothing (a graphic whose file went missing is drawn again).
"""

from __future__ import annotations

import io
import textwrap

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from campaigns.models import Campaign
from toolkits import services
from toolkits.models import Graphic, Platform, Toolkit

TOOLKIT_SLUG = "awareness-month-toolkit"
CAMPAIGN_SLUG = "awareness-month"

POLARIS_CHILD = (
    "Polaris: child sex trafficking",
    "https://polarisproject.org/child-sex-trafficking/",
)
POLARIS_HOW = (
    "Polaris: what we know about how child sex trafficking happens",
    "https://polarisproject.org/blog/2020/08/what-we-know-about-how-child-sex-trafficking-happens/",
)
POLARIS_RUMOURS = (
    "Polaris: how unproven trafficking stories spread online, and why stopping them matters",
    "https://polarisproject.org/blog/2020/07/how-unproven-trafficking-stories-spread-online-and-why-stopping-them-matters/",
)
HOTLINE = ("National Human Trafficking Hotline", "https://humantraffickinghotline.org")
OTIP = (
    "U.S. Office on Trafficking in Persons (Administration for Children and Families)",
    "https://www.acf.hhs.gov/otip",
)

TOOLKIT = {
    "title": "Awareness Month toolkit",
    "share_link": "https://polarisproject.org/child-sex-trafficking/",
    "hashtags": "#HumanTraffickingAwarenessMonth #FactsNotFiction #EndTrafficking",
    "introduction": (
        "January is Human Trafficking Awareness Month, and our feeds will be full of stories "
        "about trafficking. Some are true; many viral ones are not, and they send worried "
        "people in the wrong direction.\n\n"
        "This toolkit gives our members what they need to answer with facts: short talking "
        "points, each with the sources behind it, posts ready for each platform, a thread and "
        "two graphics. The posts point to a credible page on child sex trafficking; your "
        "organisation may **replace that link with another credible source** before you share."
    ),
}

TALKING_POINTS = [
    {
        "heading": "Children are most often exploited by someone they know",
        "text": (
            "The picture of a stranger snatching a child does not match what service providers "
            "see. A child who is trafficked nearly always knows the person who exploits them, "
            "and that person is often a relative, a boyfriend or girlfriend, or someone who "
            "has posed as a friend or helper, online or face to face."
        ),
        "sources": [POLARIS_CHILD, POLARIS_HOW],
        "posts": [
            (
                Platform.X,
                "Most children who are trafficked know the person exploiting them: often a "
                "relative, a partner or someone posing as a friend. Learn how it really "
                "happens: {link} #FactsNotFiction",
            ),
            (
                Platform.FACEBOOK,
                "Trafficking rarely starts with a stranger. Children who are trafficked almost "
                "always know the person who exploits them: a family member, a boyfriend or "
                "girlfriend, or someone who gained their trust online or in person. Knowing "
                "this helps us protect the children around us. Learn more: {link}",
            ),
            (
                Platform.BLUESKY,
                "Children who are trafficked almost always know the person exploiting them, "
                "often a relative or someone they trust. Learn how it really happens: {link}",
            ),
        ],
    },
    {
        "heading": "Kidnapping is rare; grooming is the usual path",
        "text": (
            "Traffickers seldom abduct children. Far more often they build a relationship, "
            "win trust, meet needs such as affection, a place to stay or money, and then turn "
            "that trust into control. Much of this grooming now begins online, which is why "
            "talking with children about who they meet there matters."
        ),
        "sources": [POLARIS_HOW],
        "posts": [
            (
                Platform.X,
                "Worried about trafficking? Abduction is rare. Grooming, often starting online, "
                "is how most children are drawn in. Talk with the kids in your life about who "
                "they meet online. {link}",
            ),
            (
                Platform.INSTAGRAM,
                "Kidnapping is not how most child trafficking starts. Traffickers usually groom "
                "children: they build trust, offer attention, gifts or a place to stay, and "
                "then use that trust to control them. A lot of it begins online.\n\n"
                "Keep talking with the children in your life about the people they meet on "
                "their phones and games. The link in our bio has more. "
                "#FactsNotFiction #HumanTraffickingAwarenessMonth",
            ),
            (
                Platform.LINKEDIN,
                "Prevention starts with an accurate picture of the problem. Child trafficking "
                "rarely involves kidnapping: traffickers groom children by building trust and "
                "meeting their needs, increasingly online. Programmes for schools, youth "
                "services and parents work best when they are built on that picture. Our "
                "coalition's members share the evidence here: {link}",
            ),
        ],
    },
    {
        "heading": "Missing-child figures are not trafficking figures",
        "text": (
            "Children who run away are at greater risk of being trafficked, for sex and for "
            "labour. But not every missing child is a trafficking victim, and counts of "
            "missing children should not be quoted as counts of trafficked children. The "
            "National Center for Missing and Exploited Children estimated that in 2018 about "
            "one in seven endangered runaways reported to it were likely victims of child sex "
            "trafficking."
        ),
        "sources": [POLARIS_CHILD, POLARIS_RUMOURS],
        "posts": [
            (
                Platform.X,
                "Runaway children face a higher risk of trafficking, but not every missing "
                "child is a trafficking victim. Quoting missing-child numbers as trafficking "
                "numbers spreads fear, not facts. {link}",
            ),
            (
                Platform.FACEBOOK,
                "Not every missing child has been trafficked, though children who run away do "
                "face a higher risk. In 2018, an estimated one in seven endangered runaways "
                "reported to the National Center for Missing and Exploited Children were likely "
                "victims of child sex trafficking. Please don't share missing-child statistics "
                "as if they counted trafficking victims. More: {link}",
            ),
        ],
    },
    {
        "heading": "The hotline connects people to help and passes on first-hand tips",
        "text": (
            "The National Human Trafficking Hotline, operated by the nonprofit Polaris, "
            "connects victims and survivors with services such as shelter, transport, "
            "counselling or legal help, and it takes reports from the public. It does not "
            "investigate: it shares reports with partner organisations, including law "
            "enforcement where that is appropriate. Its contact details are public, so seeing "
            "them on a post or flyer does not mean the hotline or Polaris stands behind it."
        ),
        "sources": [HOTLINE],
        "posts": [
            (
                Platform.X,
                "The National Human Trafficking Hotline links survivors to help and takes tips. "
                "It doesn't investigate: it passes reports to the right partners. Its number on "
                "a post doesn't mean it endorses that post.",
            ),
            (
                Platform.BLUESKY,
                "The National Human Trafficking Hotline connects survivors with help and takes "
                "tips, which it passes to partner organisations; it does not investigate. Its "
                "number on a post or flyer is no endorsement of it. humantraffickinghotline.org",
            ),
        ],
    },
    {
        "heading": "Report what you know first-hand, not what you saw shared",
        "text": (
            "If you have personal knowledge of a situation that worries you, and it is not "
            "already public, contact the hotline: that is the information that helps. Reports "
            "that repeat what is already circulating on social media or in the news add to "
            "the queue, and a long queue means longer waits for victims and survivors who "
            "need help now."
        ),
        "sources": [HOTLINE, POLARIS_RUMOURS],
        "posts": [
            (
                Platform.X,
                "Have first-hand knowledge of a possible trafficking situation? Contact the "
                "hotline. Re-reporting a viral post only lengthens the wait for survivors who "
                "need help now. #FactsNotFiction",
            ),
            (
                Platform.INSTAGRAM,
                "Before you report, ask yourself: do I know this first-hand?\n\nThe National "
                "Human Trafficking Hotline needs information that is not already public. Calls "
                "about viral posts and news stories fill the line and slow down help for "
                "survivors who need it right away.\n\n#FactsNotFiction #EndTrafficking",
            ),
        ],
    },
    {
        "heading": "Look to organisations with a track record",
        "text": (
            "Child trafficking is real, and many organisations and public agencies have worked "
            "against it for years. The U.S. Office on Trafficking in Persons, part of the "
            "Administration for Children and Families, lists expert organisations and "
            "agencies, and is a good place to check a claim before passing it on."
        ),
        "sources": [OTIP, POLARIS_CHILD],
        "posts": [
            (
                Platform.LINKEDIN,
                "Before sharing a claim about trafficking, check it against organisations that "
                "have worked on the issue for years. The U.S. Office on Trafficking in Persons "
                "keeps a list of expert organisations and agencies: https://www.acf.hhs.gov/otip",
            ),
            (
                Platform.X,
                "Check before you share. For trusted information on trafficking, start with "
                "experts who have done this work for years: {link} and the U.S. Office on "
                "Trafficking in Persons https://www.acf.hhs.gov/otip",
            ),
        ],
    },
]

THREAD_TITLE = "Child trafficking: what the evidence shows"
THREAD = [
    "Viral posts about child trafficking are everywhere this month. Here is what the evidence "
    "says, so you can protect the children around you and speak up for them. #FactsNotFiction",
    "First, treat any big claim about how much child trafficking happens with care: nobody has "
    "a complete count. Hotline figures describe only the cases the hotline hears about.",
    "Children who run away are more at risk. But not every missing child is a trafficking "
    "victim, and missing-child numbers are not trafficking numbers.",
    "What we do know: children are most often trafficked by relatives or by people they have "
    "grown close to, such as friends or romantic partners, not by strangers.",
    "If you know something first-hand, contact the National Human Trafficking Hotline. It takes "
    "every report seriously, but it does not investigate or verify them itself.",
    "Reports that repeat what is already public on social media or in the news can lengthen "
    "the wait for victims and survivors who need help right now.",
    "Child trafficking is real, and many organisations and public agencies have been working "
    "against it for years. Their experience is the best guide we have.",
    "Learn more: {link} and the U.S. Office on Trafficking in Persons, which lists expert "
    "organisations and agencies: https://www.acf.hhs.gov/otip",
]

GRAPHICS = [
    {
        "file": "toolkits/awareness-month-know-them.png",
        "headline": "Most children who are trafficked know the person exploiting them.",
        "footer": "Learn the facts before you share.",
        "background": (11, 92, 173),
        "alt_text": (
            "White text on a blue square: “Most children who are trafficked know the person "
            "exploiting them. Learn the facts before you share.”"
        ),
        "caption": (
            "Trafficking rarely begins with a stranger: children are most often exploited by "
            "someone they already know and trust. #FactsNotFiction"
        ),
    },
    {
        "file": "toolkits/awareness-month-grooming.png",
        "headline": "Kidnapping is rare. Grooming, often online, is the usual path.",
        "footer": "Talk with the children in your life.",
        "background": (27, 31, 36),
        "alt_text": (
            "White text on a dark grey square: “Kidnapping is rare. Grooming, often online, is "
            "the usual path. Talk with the children in your life.”"
        ),
        "caption": (
            "Traffickers usually win a child's trust before they exploit it, and much of that "
            "now starts online. #HumanTraffickingAwarenessMonth"
        ),
    },
]

RESOURCES = [
    {
        "title": "Child sex trafficking (Polaris)",
        "url": "https://polarisproject.org/child-sex-trafficking/",
        "description": "How child sex trafficking happens, with graphics to download and share.",
    },
    {
        "title": "What we know about how child sex trafficking happens (Polaris)",
        "url": POLARIS_HOW[1],
        "description": "A summary of the patterns seen in real cases, and of other credible "
        "sources.",
    },
    {
        "title": "How unproven trafficking stories spread online (Polaris)",
        "url": POLARIS_RUMOURS[1],
        "description": "Why viral rumours harm the work against trafficking, and how to respond "
        "to them.",
    },
    {
        "title": "National Human Trafficking Hotline",
        "url": "https://humantraffickinghotline.org",
        "description": "Confidential help for victims and survivors, and the place for "
        "first-hand tips: call 1-888-373-7888 or text 233733.",
    },
    {
        "title": "Office on Trafficking in Persons (U.S. Administration for Children and Families)",
        "url": "https://www.acf.hhs.gov/otip",
        "description": "The federal office's programmes, and its list of expert organisations "
        "and agencies.",
    },
]

IMAGE_SIZE = 1080


def graphic_png(*, headline: str, footer: str, background: tuple[int, int, int]) -> bytes:
    """A square PNG: the headline in large white type on a solid background, the footer below.

    Uses Pillow's built-in scalable font, so it draws the same on any machine."""
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), background)
    draw = ImageDraw.Draw(image)
    margin = 90
    big = ImageFont.load_default(size=78)
    small = ImageFont.load_default(size=44)
    headline_lines = textwrap.wrap(headline, width=22)
    footer_lines = textwrap.wrap(footer, width=36)
    # The block (headline, rule, footer) centred from top to bottom.
    height = 100 * len(headline_lines) + 80 + 60 * len(footer_lines)
    y = max(margin, (IMAGE_SIZE - height) // 2)
    for line in headline_lines:
        draw.text((margin, y), line, font=big, fill=(255, 255, 255))
        y += 100
    draw.line((margin, y + 30, IMAGE_SIZE - margin, y + 30), fill=(242, 169, 0), width=8)
    y += 80
    for line in footer_lines:
        draw.text((margin, y), line, font=small, fill=(255, 255, 255))
        y += 60
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _graphic_file_ensure(spec: dict) -> str:
    """The graphic's file in storage under its fixed name, drawn if it is not there."""
    name = spec["file"]
    if not default_storage.exists(name):
        content = graphic_png(
            headline=spec["headline"], footer=spec["footer"], background=spec["background"]
        )
        saved = default_storage.save(name, ContentFile(content))
        if saved != name:  # a file appeared meanwhile; keep one
            default_storage.delete(saved)
    return name


def toolkit_demo_seed() -> tuple[Toolkit, bool]:
    """The published demo toolkit (linked to the demo campaign when it exists); returns
    (toolkit, created). Running it again changes nothing."""
    existing = Toolkit.objects.filter(slug=TOOLKIT_SLUG).first()
    if existing is not None:
        for spec in GRAPHICS:
            if Graphic.objects.filter(toolkit=existing, image=spec["file"]).exists():
                _graphic_file_ensure(spec)
        return existing, False
    with transaction.atomic():
        toolkit = services.toolkit_create(
            slug=TOOLKIT_SLUG,
            campaign=Campaign.objects.filter(slug=CAMPAIGN_SLUG).first(),
            **TOOLKIT,
        )
        for position, point in enumerate(TALKING_POINTS):
            services.talking_point_add(toolkit=toolkit, position=position, **point)
        services.thread_add(toolkit=toolkit, title=THREAD_TITLE, texts=THREAD)
        for position, spec in enumerate(GRAPHICS):
            services.graphic_add(
                toolkit=toolkit,
                image=_graphic_file_ensure(spec),
                alt_text=spec["alt_text"],
                caption=spec["caption"],
                position=position,
            )
        for position, resource in enumerate(RESOURCES):
            services.resource_add(toolkit=toolkit, position=position, **resource)
        toolkit = services.toolkit_publish(toolkit=toolkit)
    return toolkit, True
