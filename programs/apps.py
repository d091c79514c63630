from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    verbose_name = "Programs, roster and providers"
    name = "programs"
