from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "learnhub.demo"
    label = "learnhub_demo"
    verbose_name = "LearnHub demo data"
