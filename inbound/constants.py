"""The choices of the inbound steps: what a closed number does, what a menu option does."""

from django.db import models


class ClosedAction(models.TextChoices):
    """What a caller gets outside a number's opening hours."""

    MESSAGE = "message", "spoken message, then hang up"
    VOICEMAIL = "voicemail", "greeting, then the number's voicemail"
    FORWARD = "forward", "forward to another number"


class MenuAction(models.TextChoices):
    """Where a menu option sends the caller; inbound.menus dispatches each in one table."""

    RING_NUMBER = "ring", "ring the number's agents"
    AGENT = "agent", "ring one agent"
    QUEUE = "queue", "wait in a queue"
    FORWARD = "forward", "forward to another number"
    VOICEMAIL = "voicemail", "the number's voicemail"
    MESSAGE = "message", "spoken message, then hang up"


# Keys a caller presses, one per option.
MENU_KEYS = "0123456789*#"
# How often a menu may repeat before its default: each repeat keeps the caller waiting.
MENU_REPEATS_MAX = 5
# Seconds <Gather> waits for a key or a word (Twilio's own default is 5).
MENU_TIMEOUT_MAX = 30
