"""Reads of agents for pages and the API."""

from agents.models import Agent


def agent_get_for_user(*, user) -> Agent | None:
    """Return the user's agent profile with its TwiML App, active or not; None if it has none."""
    return Agent.objects.select_related("twiml_app").filter(user_id=user.pk).first()
