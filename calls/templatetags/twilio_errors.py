"""Template helpers for Twilio's error reports on the call's page."""

from django import template

from calls.log.families import Family
from calls.models import TwilioError
from calls.twilio_errors.codes import ErrorAdvice, error_advice
from calls.twilio_errors.selectors import twilio_errors_of_legs

register = template.Library()


@register.simple_tag
def family_twilio_errors(family: Family) -> list[TwilioError]:
    return twilio_errors_of_legs(legs=family.legs)


@register.filter
def twilio_error_advice(code: int) -> ErrorAdvice | None:
    return error_advice(code)
