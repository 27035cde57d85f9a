from django.urls import path

from . import flag_views, report_views, views

urlpatterns = [
    path("dasbor/", views.dashboard_home, name="dashboard"),
    path("dasbor/<slug:slug>/", views.dashboard_page, name="dashboard_election"),
    path("dasbor/<slug:slug>/unduh.<str:fmt>", views.dashboard_export, name="dashboard_export"),
    path("dasbor/<slug:slug>/kepatuhan/", flag_views.flag_list, name="dashboard_flags"),
    path("dasbor/<slug:slug>/kepatuhan/<str:kind>/", flag_views.flag_detail, name="dashboard_flag"),
    path(
        "dasbor/<slug:slug>/kepatuhan/<str:kind>/unduh.<str:fmt>",
        flag_views.flag_export,
        name="dashboard_flag_export",
    ),
    path("dasbor/<slug:slug>/laporan/", report_views.report_list, name="dashboard_reports"),
    path(
        "dasbor/<slug:slug>/laporan/buat/", report_views.report_make, name="dashboard_report_make"
    ),
    path(
        "dasbor/<slug:slug>/laporan/<int:pk>.pdf",
        report_views.report_pdf,
        name="dashboard_report_pdf",
    ),
]
