from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "learnhub.api"
    label = "learnhub_api"
    verbose_name = "LearnHub API"
