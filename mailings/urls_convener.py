"""URLs of the conveners' mailing pages, under /dashboard/mailings/."""

from django.urls import path

from mailings import views_convener as views

app_name = "mailings_convener"

urlpatterns = [
    path("", views.mailing_list, name="list"),
    path("new/", views.mailing_create, name="create"),
    path("<int:pk>/", views.mailing_detail, name="detail"),
    path("<int:pk>/edit/", views.mailing_edit, name="edit"),
    path("<int:pk>/preview/", views.mailing_preview, name="preview"),
    path("<int:pk>/test/", views.mailing_test_send, name="test"),
    path("<int:pk>/schedule/", views.mailing_schedule, name="schedule"),
    path("<int:pk>/unschedule/", views.mailing_unschedule, name="unschedule"),
    path("<int:pk>/pause/", views.mailing_pause, name="pause"),
    path("<int:pk>/resume/", views.mailing_resume, name="resume"),
    path("<int:pk>/cancel/", views.mailing_cancel, name="cancel"),
    path("<int:pk>/progress.json", views.mailing_progress_json, name="progress"),
    path("reminders/", views.reminder_list, name="reminders"),
    path("reminders/new/", views.reminder_create, name="reminder_create"),
    path("reminders/<int:pk>/edit/", views.reminder_edit, name="reminder_edit"),
    path("reminders/<int:pk>/delete/", views.reminder_delete, name="reminder_delete"),
    path("suppressions/", views.suppressions, name="suppressions"),
]
