from django.urls import path

from . import views

urlpatterns = [
    path("pemilih/", views.election_list, name="voters_elections"),
    path("pemilih/<slug:slug>/", views.election_page, name="voters_election"),
    path("pemilih/<slug:slug>/wilayah/", views.worklist_page, name="voters_worklist"),
    path("pemilih/<slug:slug>/wilayah/unduh.csv", views.worklist_csv, name="voters_export_csv"),
    path("pemilih/<slug:slug>/wilayah/unduh.xlsx", views.worklist_xlsx, name="voters_export_xlsx"),
    path("pemilih/<slug:slug>/pencocokan/", views.reconcile_start, name="voters_reconcile"),
    path("pemilih/<slug:slug>/pencocokan/<int:pk>/", views.run_page, name="voters_run"),
    path(
        "pemilih/<slug:slug>/pencocokan/<int:pk>/status.json",
        views.run_status,
        name="voters_run_status",
    ),
    path("pemilih/<slug:slug>/kandidat/", views.candidate_list, name="voters_candidates"),
    path(
        "pemilih/<slug:slug>/kandidat/<int:pk>/",
        views.candidate_decide,
        name="voters_candidate_decide",
    ),
    path("pemilih/<slug:slug>/impor/<int:pk>/", views.import_page, name="voters_import"),
]
