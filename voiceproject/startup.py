"""What every entry point does first: a setting that stops start-up says so in one line.

A malformed environment value raises ImproperlyConfigured from settings.py; a failed serving
check raises SystemCheckError. Either would print a traceback that says nothing more than
its last line, which an operator must then find at the bottom of it.
"""

import os
import sys
from typing import NoReturn

import django
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

DJANGO_SETTINGS_MODULE = "voiceproject.settings"


def settings_loaded_or_exit() -> None:
    """Load the settings, or print what is wrong with them and exit with status 1."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DJANGO_SETTINGS_MODULE)
    try:
        settings.INSTALLED_APPS  # noqa: B018 - reading one setting loads them all
    except ImproperlyConfigured as error:
        exit_with_configuration_error(error)


def exit_with_configuration_error(error: Exception) -> NoReturn:
    """Print the message alone, which names the variable and what it must be, and exit."""
    sys.exit(f"Configuration error: {error}")


def serving_checks_passed_or_exit() -> None:
    """Run the checks a server must pass (voiceproject/checks.py); print each failure on a
    line of its own and exit with status 1 when one fails."""
    # Imported here: gunicorn's master imports this module and must not hold our code.
    from voiceproject.checks import SERVING_TAG

    settings_loaded_or_exit()
    django.setup()
    errors = [
        message
        for message in checks.run_checks(tags=[SERVING_TAG], include_deployment_checks=True)
        if message.is_serious()
    ]
    if errors:
        sys.exit("\n".join(map(_refusal_line, errors)))


def _refusal_line(message: checks.CheckMessage) -> str:
    parts = ["Refusing to start:", message.msg, message.hint, f"({message.id})"]
    return " ".join(part for part in parts if part)


if __name__ == "__main__":
    # gunicorn.conf.py runs this before its master starts any worker.
    serving_checks_passed_or_exit()
