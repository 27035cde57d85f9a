from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "rekam.notifications"
    verbose_name = "Pemberitahuan"
