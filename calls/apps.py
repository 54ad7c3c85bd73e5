import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class CallsConfig(AppConfig):
    name = "calls"

    def ready(self) -> None:
        if not settings.TWILIO_VALIDATE_SIGNATURES:
            logger.warning(
                "TWILIO_VALIDATE_SIGNATURES is off: Twilio webhooks are accepted without "
                "checking X-Twilio-Signature, so anyone can write to the call table."
            )
