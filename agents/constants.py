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


class UnansweredPolicy(models.TextChoices):
    """What a caller hears when nobody answers (or nobody can take the call)."""

    VOICEMAIL = "voicemail", "greeting, then voicemail"
    FORWARD = "forward", "forward to another number"
    MESSAGE = "message", "spoken message, then hang up"
