from django.apps import AppConfig


class ServicePointsConfig(AppConfig):
    name = "rekam.servicepoints"
    verbose_name = "Tempat pelayanan"
