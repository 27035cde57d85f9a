from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "rekam.residents"
    verbose_name = "Penduduk dan KTP-el"
