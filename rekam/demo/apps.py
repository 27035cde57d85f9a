from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "rekam.demo"
    label = "demo"
    verbose_name = "Demo"
