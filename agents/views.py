from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from agents.selectors import agent_get_for_user


@login_required
def home(request):
    """Show who the user is to the voice system and where to go next."""
    return render(request, "home.html", {"agent": agent_get_for_user(user=request.user)})
