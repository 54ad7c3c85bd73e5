from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from agents.models import Agent


@login_required
def home(request):
    """Show who the user is to the voice system and where to go next."""
    agent = Agent.objects.select_related("twiml_app").filter(user=request.user).first()
    return render(request, "home.html", {"agent": agent})
