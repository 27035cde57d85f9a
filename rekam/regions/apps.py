from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "rekam.regions"
    verbose_name = "Wilayah"
