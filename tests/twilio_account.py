"""A Twilio account set up the way this server needs it, in the fake API and in our tables."""

from dataclasses import dataclass

from agents.models import Agent, PhoneNumber, TwimlApp
from tests.factories import AgentFactory, PhoneNumberFactory, TwimlAppFactory
from twilio_fakes.rest import FakeTwilio

PUBLIC_BASE_URL = "https://voice.example.com"
RIGHT_URLS = {
    "voice_url": f"{PUBLIC_BASE_URL}/twilio/voice/",
    "voice_fallback_url": f"{PUBLIC_BASE_URL}/twilio/voice/fallback/",
    "status_callback": f"{PUBLIC_BASE_URL}/twilio/status/",
}
OUR_NUMBER = "+14155550100"
VERIFIED_CALLER_ID = "+442071838750"


@dataclass
class ConfiguredAccount:
    fake: FakeTwilio
    app: TwimlApp
    number: PhoneNumber
    agent: Agent
    twilio_app: dict
    twilio_number: dict


def configured_account(fake: FakeTwilio, settings) -> ConfiguredAccount:
    """Everything right: app URLs, a number answered by the app, push credentials, caller ID."""
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_WEBHOOK_BASE_URL = ""
    settings.ALLOWED_HOSTS = ["voice.example.com", "testserver"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.TWILIO_VALIDATE_SIGNATURES = True
    fake.add_key(settings.TWILIO_API_KEY_SID)
    twilio_app = fake.add_application("Softphone", **RIGHT_URLS)
    twilio_number = fake.add_number(OUR_NUMBER, voice_application_sid=twilio_app["sid"])
    fake.add_caller_id(VERIFIED_CALLER_ID)
    apn = fake.add_push_credential("apn")
    fcm = fake.add_push_credential("fcm")
    app = TwimlAppFactory(
        sid=twilio_app["sid"], apn_credential_sid=apn["sid"], fcm_credential_sid=fcm["sid"]
    )
    number = PhoneNumberFactory(number=OUR_NUMBER)
    agent = AgentFactory(twiml_app=app, caller_id=VERIFIED_CALLER_ID)
    return ConfiguredAccount(fake, app, number, agent, twilio_app, twilio_number)
