from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "rekam.audit"
    verbose_name = "Jejak audit"
