from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for trying the project out: users, Twilio resources and realistic calls."""

    name = "demo"
    verbose_name = "Demo data"
