"""A spoken menu per phone number: a greeting, the keys (or words) a caller may answer with,
and where each option sends the call."""

from django.db import models
from django.db.models.functions import Lower

from agents.models import Agent, PhoneNumber
from inbound.constants import MENU_KEYS, MENU_REPEATS_MAX, MENU_TIMEOUT_MAX, MenuAction
from inbound.models.forwarding import forward_to_constraints, forward_to_field


class Menu(models.Model):
    """What a caller of the number hears first, instead of ringing its agents at once."""

    phone_number = models.OneToOneField(PhoneNumber, on_delete=models.CASCADE, related_name="menu")
    greeting = models.TextField(
        help_text="Spoken to the caller, for example “For sales press 1, for support press 2.”"
    )
    repeats = models.PositiveSmallIntegerField(
        default=2,
        help_text="How many times the menu is said again after silence or a key that is no "
        f"option (at most {MENU_REPEATS_MAX}), before the default option.",
    )
    timeout = models.PositiveSmallIntegerField(
        "timeout (seconds)",
        default=5,
        help_text="Seconds of silence before the menu counts as unanswered "
        f"(1 to {MENU_TIMEOUT_MAX}).",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(repeats__lte=MENU_REPEATS_MAX), name="menu_repeats_max"
            ),
            models.CheckConstraint(
                condition=models.Q(timeout__gte=1, timeout__lte=MENU_TIMEOUT_MAX),
                name="menu_timeout_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Menu of {self.phone_number}"


class MenuOption(models.Model):
    """A key (and optionally a word) of a menu, and where it sends the caller.

    At most one option of a menu is its default: what a caller gets after the last repeat;
    without one, the number's agents ring as they would without a menu.
    """

    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="options")
    key = models.CharField(
        max_length=1,
        choices=[(key, key) for key in MENU_KEYS],
        help_text="The key the caller presses: 0-9, * or #.",
    )
    speech = models.CharField(
        "spoken keyword",
        max_length=64,
        blank=True,
        help_text="A word or two the caller may say instead (“sales”); speech recognition "
        "is only asked for when an option of the menu has one.",
    )
    action = models.CharField(max_length=9, choices=MenuAction.choices)
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="menu_options",
        help_text="The agent rung by the agent action.",
    )
    queue = models.ForeignKey(
        "inbound.Queue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="menu_options",
        help_text="The queue the queue action sends the caller to.",
    )
    forward_to = forward_to_field(help_text="E.164 number the forward action rings.")
    message = models.TextField(blank=True, help_text="Spoken by the message action.")
    is_default = models.BooleanField(
        "default",
        default=False,
        help_text="Taken after the last repeat; at most one option per menu.",
    )

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["menu", "key"], name="menuoption_key_once"),
            models.UniqueConstraint(
                "menu",
                Lower("speech"),
                condition=~models.Q(speech=""),
                name="menuoption_speech_once",
                violation_error_message="Another option of this menu has this keyword.",
            ),
            models.UniqueConstraint(
                fields=["menu"],
                condition=models.Q(is_default=True),
                name="menuoption_one_default",
                violation_error_message="A menu has at most one default option.",
            ),
            models.CheckConstraint(
                condition=models.Q(key__in=list(MENU_KEYS)), name="menuoption_key_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(action__in=MenuAction.values), name="menuoption_action_valid"
            ),
            *forward_to_constraints("menuoption", forwarding=models.Q(action=MenuAction.FORWARD)),
            # Each action has what it needs, and the agent is set for the agent action only.
            models.CheckConstraint(
                condition=models.Q(action=MenuAction.AGENT, agent__isnull=False)
                | (~models.Q(action=MenuAction.AGENT) & models.Q(agent__isnull=True)),
                name="menuoption_agent_for_agent_action",
                violation_error_message="Choose the agent for the agent action (only for it).",
            ),
            models.CheckConstraint(
                condition=models.Q(action=MenuAction.QUEUE, queue__isnull=False)
                | (~models.Q(action=MenuAction.QUEUE) & models.Q(queue__isnull=True)),
                name="menuoption_queue_for_queue_action",
                violation_error_message="Choose the queue for the queue action (only for it).",
            ),
            models.CheckConstraint(
                condition=~models.Q(action=MenuAction.MESSAGE) | ~models.Q(message=""),
                name="menuoption_message_has_text",
                violation_error_message="The message action needs a message.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.get_action_display()}"
