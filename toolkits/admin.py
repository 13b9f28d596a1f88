"""Admin screens for conveners building toolkits: the toolkit with its talking points, posts,
graphics, resources and member organisations' links; talking points with their sources; threads
with their numbered posts.

Every post is checked against its platform's length rule as it is typed into the form, with
the toolkit's credible link in place of {link} (and, in a thread, its n/N number), and the
message shows under that post. Saves go through toolkits.services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from crm.errors import ApplicationError
from toolkits import services
from toolkits.models import (
    Graphic,
    OrganizationLink,
    Resource,
    SamplePost,
    Source,
    TalkingPoint,
    Thread,
    ThreadPost,
    Toolkit,
)
from toolkits.selectors import toolkit_link_problems
from toolkits.validation import LIMITS, hashtags_parse, link_substitute, post_length

GRAPHIC_MAX_BYTES = 10 * 1024 * 1024
# A link typed without a scheme ("example.org/report") is taken as https.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}
TEXT_ROWS = {
    models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 60})},
    **URL_FIELDS,
}


def _formfield(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class ToolkitPartFormSet(BaseInlineFormSet):
    """Hands each form the toolkit being edited, with the values typed into its form."""

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["toolkit"] = self.instance
        return kwargs


class ToolkitPartForm(forms.ModelForm):
    def __init__(self, *args, toolkit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.toolkit = toolkit


# --- The toolkit --------------------------------------------------------------------------------


class ToolkitAdminForm(forms.ModelForm):
    class Meta:
        model = Toolkit
        fields = ["title", "slug", "status", "campaign", "introduction", "share_link", "hashtags"]
        formfield_callback = _formfield

    def clean_hashtags(self):
        try:
            return " ".join(hashtags_parse(self.cleaned_data.get("hashtags", "")))
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        # Sample posts are checked in their own forms below, as typed; threads are edited on
        # their own page, so they are checked here as stored.
        if self.instance.pk and "share_link" in cleaned:
            self.instance.share_link = cleaned["share_link"]
            problems = toolkit_link_problems(
                toolkit=self.instance, link=cleaned["share_link"], sample_posts=False
            )
            for problem in problems:
                self.add_error("share_link", problem)
        return cleaned


class TalkingPointInline(admin.StackedInline):
    model = TalkingPoint
    fields = ["position", "heading", "text", "sources_list"]
    readonly_fields = ["sources_list"]
    ordering = ["position", "pk"]
    extra = 0
    show_change_link = True
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 4, "cols": 80})}
    }

    @admin.display(description="Sources")
    def sources_list(self, point):
        if point.pk is None:
            return "Save, then add the sources that back this point (“Change” above)."
        sources = list(point.sources.all())
        listed = format_html_join(
            "", '<li><a href="{}">{}</a></li>', ((s.url, s.title) for s in sources)
        )
        edit = reverse("admin:toolkits_talkingpoint_change", args=[point.pk])
        return format_html(
            '<ul style="margin:0">{}</ul><a href="{}">{} sources</a>',
            listed or format_html("<li>None yet: every claim needs one.</li>"),
            edit,
            "Edit the" if sources else "Add",
        )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sources")


class SamplePostForm(ToolkitPartForm):
    class Meta:
        model = SamplePost
        fields = ["position", "talking_point", "platform", "text"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("talking_point")
        if field is not None:
            field.queryset = (
                TalkingPoint.objects.filter(toolkit=self.toolkit)
                if self.toolkit is not None and self.toolkit.pk
                else TalkingPoint.objects.none()
            )
            field.help_text = "Empty for a post about the whole toolkit."

    def clean(self):
        cleaned = super().clean()
        platform, text = cleaned.get("platform"), cleaned.get("text")
        if platform and text and self.toolkit is not None:
            error = services.sample_post_problem(toolkit=self.toolkit, platform=platform, text=text)
            if error:
                self.add_error("text", error)
        return cleaned


class SamplePostInline(admin.TabularInline):
    model = SamplePost
    form = SamplePostForm
    formset = ToolkitPartFormSet
    fields = ["position", "talking_point", "platform", "text", "length"]
    readonly_fields = ["length"]
    ordering = ["position", "pk"]
    extra = 1
    verbose_name = "sample post"
    verbose_name_plural = (
        "Sample posts (write {link} where the credible link goes; X counts every link as 23)"
    )
    formfield_overrides = TEXT_ROWS

    @admin.display(description="Length")
    def length(self, post):
        if post.pk is None:
            return "–"
        shared = link_substitute(post.text, post.toolkit.share_link)
        return f"{post_length(post.platform, shared):,} / {LIMITS[post.platform]:,}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("toolkit")


class GraphicForm(ToolkitPartForm):
    class Meta:
        model = Graphic
        fields = ["position", "image", "alt_text", "caption"]

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and getattr(image, "size", 0) > GRAPHIC_MAX_BYTES:
            raise ValidationError(
                f"Please use an image of at most {GRAPHIC_MAX_BYTES // (1024 * 1024)} MB."
            )
        return image


class GraphicInline(admin.StackedInline):
    model = Graphic
    form = GraphicForm
    formset = ToolkitPartFormSet
    fields = ["position", "preview", "image", "alt_text", "caption"]
    readonly_fields = ["preview"]
    ordering = ["position", "pk"]
    extra = 0
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}
    }

    @admin.display(description="Preview")
    def preview(self, graphic):
        if not graphic.image:
            return "–"
        return format_html(
            '<img src="{}" alt="{}" style="max-width:240px;max-height:240px;height:auto">',
            graphic.image.url,
            graphic.alt_text,
        )


class ResourceInline(admin.TabularInline):
    model = Resource
    fields = ["position", "title", "url", "description"]
    ordering = ["position", "pk"]
    extra = 0
    formfield_overrides = TEXT_ROWS


class OrganizationLinkForm(ToolkitPartForm):
    # Checked by the service's rules (https or http, at most 500 characters) in its own words.
    url = forms.CharField(
        label="Credible link", max_length=2000, widget=forms.URLInput(attrs={"size": 60})
    )

    class Meta:
        model = OrganizationLink
        fields = ["organization", "url"]
        formfield_callback = _formfield

    def clean_url(self):
        try:
            return services.link_clean(self.cleaned_data.get("url", ""))
        except ValidationError as error:
            raise ValidationError(error.message_dict["url"]) from None

    def clean(self):
        cleaned = super().clean()
        url = cleaned.get("url")
        if url and self.toolkit is not None and self.has_changed():
            for problem in toolkit_link_problems(toolkit=self.toolkit, link=url):
                self.add_error("url", problem)
        return cleaned


class OrganizationLinkInline(admin.TabularInline):
    model = OrganizationLink
    form = OrganizationLinkForm
    formset = ToolkitPartFormSet
    fields = ["organization", "url", "modified"]
    readonly_fields = ["modified"]
    raw_id_fields = ["organization"]
    extra = 0
    verbose_name = "member organisation's own link"
    verbose_name_plural = "Member organisations' own credible links"
    formfield_overrides = URL_FIELDS


@admin.register(Toolkit)
class ToolkitAdmin(admin.ModelAdmin):
    form = ToolkitAdminForm
    list_display = ["title", "status", "campaign", "modified", "public_page"]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["public_page", "threads_list", "created", "modified"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "campaign", "public_page"]}),
        ("Text", {"fields": ["introduction", "share_link", "hashtags"]}),
        ("Threads", {"fields": ["threads_list"]}),
        ("Record", {"fields": ["created", "modified"], "classes": ["collapse"]}),
    ]
    inlines = [
        TalkingPointInline,
        SamplePostInline,
        GraphicInline,
        ResourceInline,
        OrganizationLinkInline,
    ]
    actions = ["publish", "unpublish"]
    formfield_overrides = URL_FIELDS

    def view_on_site(self, toolkit):
        return reverse("toolkits:detail", args=[toolkit.slug])

    @admin.display(description="Public page")
    def public_page(self, toolkit):
        if toolkit.pk is None:
            return "Save the toolkit first."
        url = reverse("toolkits:detail", args=[toolkit.slug])
        note = "" if toolkit.status == Toolkit.Status.PUBLISHED else " (a preview: only conveners)"
        return format_html('<a href="{}">{}</a>{}', url, url, note)

    @admin.display(description="Threads")
    def threads_list(self, toolkit):
        if toolkit.pk is None:
            return "Save the toolkit, then add its threads."
        threads = list(toolkit.threads.all())
        listed = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            (
                (
                    reverse("admin:toolkits_thread_change", args=[thread.pk]),
                    thread.title,
                    thread.get_platform_display(),
                )
                for thread in threads
            ),
        )
        add = reverse("admin:toolkits_thread_add") + f"?toolkit={toolkit.pk}"
        return format_html('<ul style="margin:0">{}</ul><a href="{}">Add a thread</a>', listed, add)

    def save_model(self, request, obj, form, change):
        # The posts were checked against the new link in their own forms of this request.
        services.toolkit_save(toolkit=obj, check_posts=False)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for part in formset.deleted_objects:
            if isinstance(part, OrganizationLink):
                services.organization_link_clear(
                    toolkit=form.instance, organization=part.organization, by_user=request.user
                )
            else:
                services.toolkit_part_delete(part=part)
        for part in instances:
            if isinstance(part, OrganizationLink):
                self._organization_link_save(request, form.instance, part)
            else:
                services.toolkit_part_save(part=part)
        formset.save_m2m()

    def _organization_link_save(self, request, toolkit, link):
        stored = OrganizationLink.objects.filter(pk=link.pk).select_related("organization").first()
        if stored is not None and stored.organization_id != link.organization_id:
            services.organization_link_clear(
                toolkit=toolkit, organization=stored.organization, by_user=request.user
            )
        try:
            services.organization_link_set(
                toolkit=toolkit, organization=link.organization, url=link.url, by_user=request.user
            )
        except ValidationError as error:
            # Only when a post changed in this same request no longer fits with this link.
            self.message_user(
                request,
                f"{link.organization}'s link was not saved: " + " ".join(error.messages),
                messages.ERROR,
            )

    def _each(self, request, queryset, action, done: str):
        count = 0
        for toolkit in queryset:
            try:
                action(toolkit=toolkit)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} toolkit{'s' if count != 1 else ''} {done}.")

    @admin.action(description="Publish the selected toolkits")
    def publish(self, request, queryset):
        self._each(request, queryset, services.toolkit_publish, "published")

    @admin.action(description="Return the selected toolkits to draft")
    def unpublish(self, request, queryset):
        self._each(request, queryset, services.toolkit_unpublish, "returned to draft")


# --- Talking points and their sources -----------------------------------------------------------


class SourceInline(admin.TabularInline):
    model = Source
    fields = ["position", "title", "url"]
    ordering = ["position", "pk"]
    extra = 1
    formfield_overrides = URL_FIELDS


@admin.register(TalkingPoint)
class TalkingPointAdmin(admin.ModelAdmin):
    list_display = ["heading", "toolkit", "position"]
    list_filter = ["toolkit"]
    list_select_related = ["toolkit"]
    search_fields = ["heading", "text"]
    fields = ["toolkit", "position", "heading", "text"]
    inlines = [SourceInline]

    def save_model(self, request, obj, form, change):
        services.toolkit_part_save(part=obj)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for part in formset.deleted_objects:
            services.toolkit_part_delete(part=part)
        for part in instances:
            services.toolkit_part_save(part=part)

    def view_on_site(self, point):
        return reverse("toolkits:detail", args=[point.toolkit.slug]) + f"#point-{point.pk}"

    def delete_model(self, request, obj):
        services.toolkit_part_delete(part=obj)

    def delete_queryset(self, request, queryset):
        for part in queryset:
            services.toolkit_part_delete(part=part)


# --- Threads ------------------------------------------------------------------------------------


class ThreadPostFormSet(BaseInlineFormSet):
    """Checks the thread as it will stand: each post numbered n/N (N counting the posts kept)
    on the thread's platform, with the toolkit's link in place."""

    def clean(self):
        super().clean()
        thread = self.instance
        if any(self.errors) or not thread.toolkit_id or not thread.platform:
            return
        kept = []
        for index, form in enumerate(self.forms):
            if not form.has_changed() and form.instance.pk is None:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            text = form.cleaned_data.get("text")
            if not text:
                continue
            position = form.cleaned_data.get("position") or 0
            kept.append((position, form.instance.pk or float("inf"), index, form, text))
        kept.sort(key=lambda entry: entry[:3])
        problems = services.thread_problems(
            toolkit=thread.toolkit, platform=thread.platform, texts=[e[4] for e in kept]
        )
        for order, error in problems.items():
            kept[order][3].add_error("text", error)


class ThreadPostInline(admin.TabularInline):
    model = ThreadPost
    formset = ThreadPostFormSet
    fields = ["position", "text"]
    ordering = ["position", "pk"]
    extra = 1
    verbose_name_plural = "Posts (numbered n/N when shown; the limit counts the number)"
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 80})}
    }


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["title", "toolkit", "platform", "position"]
    list_filter = ["toolkit", "platform"]
    list_select_related = ["toolkit"]
    search_fields = ["title"]
    fields = ["toolkit", "title", "platform", "position"]
    inlines = [ThreadPostInline]

    def view_on_site(self, thread):
        return reverse("toolkits:detail", args=[thread.toolkit.slug]) + f"#thread-{thread.pk}"

    def save_model(self, request, obj, form, change):
        # Saved with its posts in save_related: each post's number depends on the others.
        pass

    def save_related(self, request, form, formsets, change):
        thread = form.instance
        saved, deleted = [], []
        for formset in formsets:
            saved += formset.save(commit=False)
            deleted += formset.deleted_objects
        services.thread_save(thread=thread, saved=saved, deleted=deleted)

    def delete_model(self, request, obj):
        services.toolkit_part_delete(part=obj)

    def delete_queryset(self, request, queryset):
        for part in queryset:
            services.toolkit_part_delete(part=part)
