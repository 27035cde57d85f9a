from django.apps import AppConfig


class AntreanConfig(AppConfig):
    name = "rekam.antrean"
    verbose_name = "Antrean"
