from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("antrean/", include("rekam.antrean.urls")),
    path("undangan/", include("rekam.invitations.urls")),
    path("", include("rekam.web.urls")),
    path("", include("rekam.notifications.urls")),
    path("", include("rekam.suket.urls")),
    path("", include("rekam.voters.urls")),
    path("", include("rekam.reporting.urls")),
    path("", include("rekam.uploads.urls")),
]
