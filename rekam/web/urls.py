from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from rekam.accounts.views import PasswordChangeView

from . import api, views
from .forms import LoginForm
from .ratelimit import limit_per_ip


class NikConverter:
    """Sixteen digits: the only form a NIK takes in a page address."""

    regex = r"\d{16}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(NikConverter, "nik")

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "masuk/",
        # Password guessing: a limited number of attempts per address and minute.
        limit_per_ip("login", setting="RATELIMIT_LOGIN_PER_MINUTE")(
            auth_views.LoginView.as_view(
                authentication_form=LoginForm, redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path("keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("kata-sandi/", PasswordChangeView.as_view(), name="password_change"),
    path("penduduk/", views.resident_search_page, name="resident_search"),
    path("penduduk/<nik:nik>/", views.resident_detail, name="resident_detail"),
    path("penduduk/<nik:nik>/ubah/", views.resident_edit, name="resident_edit"),
    path("penduduk/<nik:nik>/status/", views.resident_move, name="resident_move"),
    path("api/penduduk/", api.resident_search_api, name="api_resident_search"),
    path("api/penduduk/<str:nik>/", api.resident_detail_api, name="api_resident_detail"),
    path("api/ringkasan/", api.summary_api, name="api_summary"),
]
