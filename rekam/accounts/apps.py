from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rekam.accounts"
    verbose_name = "Kantor dan pengguna"
