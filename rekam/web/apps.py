from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "rekam.web"
    verbose_name = "Halaman staf"
