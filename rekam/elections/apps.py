from django.apps import AppConfig


class ElectionsConfig(AppConfig):
    name = "rekam.elections"
    verbose_name = "Pemilihan"
