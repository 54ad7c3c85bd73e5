"""Agents' availability and who changes it."""

from django.db import models


class Availability(models.TextChoices):
    """Whether an agent wants calls; routing also asks whether the agent is on one."""

    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class PresenceSource(models.TextChoices):
    """What changed an agent's availability."""

    SOFTPHONE = "softphone", "browser softphone"
    API = "api", "API (mobile app)"
    ADMIN = "admin", "supervisor in the admin"
    TIMEOUT = "timeout", "softphone heartbeat stopped"
