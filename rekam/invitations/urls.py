from django.urls import path

from . import views

urlpatterns = [
    path("", views.plan_page, name="invitations_plan"),
    path("mulai/", views.plan_start, name="invitations_start"),
    path("<int:pk>/", views.run_page, name="invitations_run"),
    path("<int:pk>/setujui/", views.plan_approve, name="invitations_approve"),
    path("<int:pk>/surat/<str:village>.pdf", views.letters_pdf, name="invitations_letters"),
]
