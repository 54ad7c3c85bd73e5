"""A number's spoken menu: the <Gather> Twilio plays, and where the caller's answer leads.

Every playing carries its menu and attempt in the action URL (signed with it by Twilio).
Silence or a key that is no option plays the menu again, up to its repeats; then the
default option, or the number's agents ring as they would without a menu. What each action
answers is decided in one table, OPTION_TWIML.
"""

import re
from collections.abc import Callable
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from agents.models import Agent, PhoneNumber
from calls.deliveries.menus import MenuAnswer
from calls.webhooks.ringing import (
    NUMBER_NOT_IN_SERVICE,
    WebhookUrls,
    sent_to_queue,
    spoken,
    twiml_ringing_number,
)
from calls.webhooks.unanswered import forwarded_or_voicemail, voicemail
from inbound.constants import MenuAction
from inbound.models import Menu, MenuOption

NOT_UNDERSTOOD = "Sorry, I did not get that."

# The TwiML of one action: (option, the number called, the caller's number, our URLs).
OptionTwiml = Callable[[MenuOption, PhoneNumber, str, WebhookUrls], str]


def twiml_if_menu(*, phone_number: PhoneNumber, urls: WebhookUrls) -> str:
    """The number's menu, first played; empty when the number has none (read with the
    number: select_related("menu"))."""
    try:
        menu = phone_number.menu
    except Menu.DoesNotExist:
        return ""
    return str(menu_gather(menu, menu_url=urls.menu, attempt=1))


def menu_gather(menu: Menu, *, menu_url: str, attempt: int) -> VoiceResponse:
    """The menu's greeting inside a <Gather> for one key (or a word, when an option has
    one), whose action Twilio requests even after silence."""
    keywords = [option.speech for option in menu.options.all() if option.speech]
    speech = {"hints": ", ".join(keywords)} if keywords else {}
    response = VoiceResponse()
    if attempt > 1:
        response.say(NOT_UNDERSTOOD)
    gather = response.gather(
        input="dtmf speech" if keywords else "dtmf",
        num_digits=1,
        timeout=menu.timeout,
        # # is a key an option may use, not the end of the input.
        finish_on_key="",
        action_on_empty_result=True,
        action=f"{menu_url}?{urlencode({'menu': menu.pk, 'attempt': attempt})}",
        method="POST",
        **speech,
    )
    gather.say(menu.greeting)
    return response


def twiml_for_menu_answer(*, answer: MenuAnswer, urls: WebhookUrls) -> str:
    """The chosen option's TwiML; the menu again after silence or a wrong key while it may
    repeat; then its default."""
    caller_number = answer.callback.from_address
    menu = Menu.objects.filter(pk=answer.menu_id).select_related("phone_number").first()
    if menu is None:
        # Removed while the caller listened: ring the number as if it had no menu.
        phone_number = PhoneNumber.objects.filter(number=answer.callback.to_address).first()
        if phone_number is None:
            return str(spoken(NUMBER_NOT_IN_SERVICE))
        return _ring_number(phone_number, caller_number, urls)
    options = list(menu.options.all())
    option = option_chosen(options, digits=answer.digits, speech=answer.speech)
    if option is None and answer.attempt <= menu.repeats:
        return str(menu_gather(menu, menu_url=urls.menu, attempt=answer.attempt + 1))
    if option is None:
        option = next((option for option in options if option.is_default), None)
    if option is None:
        return _ring_number(menu.phone_number, caller_number, urls)
    return OPTION_TWIML[MenuAction(option.action)](option, menu.phone_number, caller_number, urls)


def option_chosen(options: list[MenuOption], *, digits: str, speech: str) -> MenuOption | None:
    """The option of the key pressed, else the first whose keyword was said."""
    if digits:
        return next((option for option in options if option.key == digits), None)
    said = f" {_words(speech)} "
    return next(
        (option for option in options if option.speech and f" {_words(option.speech)} " in said),
        None,
    )


def _words(text: str) -> str:
    """Lower-case words separated by single spaces: "Sales, please." is "sales please"."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def _ring_number(phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls) -> str:
    return twiml_ringing_number(phone_number=phone_number, caller_number=caller_number, urls=urls)


def _ring_number_agents(
    option: MenuOption, phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls
) -> str:
    return _ring_number(phone_number, caller_number, urls)


def _ring_agent(
    option: MenuOption, phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls
) -> str:
    """Ring the option's agent as the number would ring it; the number's unanswered-call
    policy when the agent cannot take the call."""
    return twiml_ringing_number(
        phone_number=phone_number,
        caller_number=caller_number,
        urls=urls,
        candidates=Agent.objects.filter(menu_options=option),
    )


def _forward(
    option: MenuOption, phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls
) -> str:
    return str(forwarded_or_voicemail(phone_number, option.forward_to, urls, caller=caller_number))


def _queue(
    option: MenuOption, phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls
) -> str:
    return str(sent_to_queue(queue_id=int(option.queue_id or 0), urls=urls))


def _voicemail(
    option: MenuOption, phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls
) -> str:
    return str(voicemail(phone_number, urls))


def _message(
    option: MenuOption, phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls
) -> str:
    return str(spoken(option.message))


OPTION_TWIML: dict[MenuAction, OptionTwiml] = {
    MenuAction.RING_NUMBER: _ring_number_agents,
    MenuAction.AGENT: _ring_agent,
    MenuAction.QUEUE: _queue,
    MenuAction.FORWARD: _forward,
    MenuAction.VOICEMAIL: _voicemail,
    MenuAction.MESSAGE: _message,
}
