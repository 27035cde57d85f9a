from django.urls import path

from . import followup_views, public_views, views

urlpatterns = [
    path("", views.plan_page, name="invitations_plan"),
    path("mulai/", views.plan_start, name="invitations_start"),
    path("<int:pk>/", views.run_page, name="invitations_run"),
    path("<int:pk>/setujui/", views.plan_approve, name="invitations_approve"),
    path("<int:pk>/surat/<str:village>.pdf", views.letters_pdf, name="invitations_letters"),
    # Follow-up (staff)
    path("tindak-lanjut/", followup_views.follow_up_page, name="invitations_follow_up"),
    path("tindak-lanjut/jalankan/", followup_views.follow_up_run, name="invitations_follow_up_run"),
    path(
        "tindak-lanjut/jalankan/<int:pk>/",
        followup_views.follow_up_progress,
        name="invitations_follow_up_progress",
    ),
    path(
        "tindak-lanjut/jalankan/<int:pk>/status.json",
        followup_views.follow_up_status,
        name="invitations_follow_up_status",
    ),
    path(
        "tindak-lanjut/desa.<str:fmt>",
        followup_views.villages_export,
        name="invitations_follow_up_export",
    ),
    path(
        "tindak-lanjut/kunjungan-rumah/",
        followup_views.home_visits_page,
        name="invitations_home_visits",
    ),
    path(
        "tindak-lanjut/kunjungan-rumah.<str:fmt>",
        followup_views.home_visits_export,
        name="invitations_home_visits_export",
    ),
    # Public: reached by a signed link from the invitation's message or letter.
    path("jadwal/<str:token>/", public_views.reschedule_page, name="invitations_reschedule"),
    path("kalender/<str:token>.ics", public_views.calendar_file, name="invitations_calendar"),
]
