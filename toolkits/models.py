"""Toolkits: the facts a member organisation shares, with the sources behind them.

A toolkit holds ordered talking points, each backed by its sources; sample posts per social
platform, each within its platform's length rule; numbered threads; shareable graphics with alt
text; further resources; hashtags. The link the posts point to (``share_link``) is a credible
source a member organisation may replace with its own before it shares (``OrganizationLink``).
"""

from django.db import models
from django.db.models import Q

from crm.models import TimeStampedModel


class Platform(models.TextChoices):
    X = "x", "X / Twitter"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    LINKEDIN = "linkedin", "LinkedIn"
    BLUESKY = "bluesky", "Bluesky"


class Toolkit(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="toolkits",
    )
    introduction = models.TextField(blank=True, help_text="Markdown.")
    introduction_html = models.TextField(blank=True, editable=False)
    share_link = models.URLField(
        "credible link",
        max_length=500,
        blank=True,
        help_text=(
            "The source the posts point people to; written {link} in a post. A member "
            "organisation may put another credible source in its place."
        ),
    )
    hashtags = models.CharField(
        max_length=300, blank=True, help_text="Separated by spaces, e.g. #EndTrafficking"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return self.title


class TalkingPoint(TimeStampedModel):
    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="talking_points")
    position = models.PositiveSmallIntegerField(default=0)
    heading = models.CharField(max_length=300)
    text = models.TextField(help_text="Markdown.")
    text_html = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.heading


class Source(TimeStampedModel):
    """A credible source backing a talking point's claim."""

    talking_point = models.ForeignKey(
        TalkingPoint, on_delete=models.CASCADE, related_name="sources"
    )
    title = models.CharField(max_length=300)
    url = models.URLField("link", max_length=500)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class SamplePost(TimeStampedModel):
    """A ready-to-share post for one platform, under a talking point or for the whole toolkit."""

    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="posts")
    talking_point = models.ForeignKey(
        TalkingPoint, on_delete=models.CASCADE, null=True, blank=True, related_name="posts"
    )
    platform = models.CharField(max_length=10, choices=Platform.choices)
    text = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return f"{self.get_platform_display()}: {self.text[:60]}"


class Thread(TimeStampedModel):
    """Posts meant to be read in order; each is numbered n/N when shown."""

    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="threads")
    title = models.CharField(max_length=200)
    platform = models.CharField(max_length=10, choices=Platform.choices, default=Platform.X)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class ThreadPost(TimeStampedModel):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(help_text="Without its number; n/N is added when shown.")

    class Meta:
        ordering = ["position", "pk"]


class Graphic(TimeStampedModel):
    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="graphics")
    image = models.ImageField(upload_to="toolkits/")
    alt_text = models.CharField(
        max_length=500, help_text="What the image shows and says, for people who cannot see it."
    )
    caption = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(alt_text=""), name="graphic_alt_text_required"),
        ]

    def __str__(self):
        return self.alt_text[:60]


class Resource(TimeStampedModel):
    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(max_length=300)
    url = models.URLField("link", max_length=500)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class OrganizationLink(TimeStampedModel):
    """A member organisation's own credible source in place of the toolkit's ``share_link``."""

    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="org_links")
    organization = models.ForeignKey(
        "members.Organization", on_delete=models.CASCADE, related_name="toolkit_links"
    )
    url = models.URLField("credible link", max_length=500)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["toolkit", "organization"], name="toolkit_link_one_per_organization"
            ),
        ]
