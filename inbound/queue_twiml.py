"""The TwiML of a queue's wait loop: ring the agents offered, or hold and come back."""

from twilio.twiml.voice_response import VoiceResponse

from calls.deliveries.calls import TwilioCallback
from calls.webhooks.ringing import WebhookUrls, ringing
from inbound.queue_routing import Announcement, QueueStep, Ring, TimedOut, Wait

POSITION = "You are caller number {position} in line."
EXPECTED_WAIT = "Your expected wait is about {minutes} {unit}."
PLEASE_HOLD = "Please stay on the line; we will be with you shortly."


def twiml_for_queue_step(
    *, step: QueueStep, callback: TwilioCallback, urls: WebhookUrls, hold_music_url: str
) -> str:
    if isinstance(step, Ring):
        context = {
            "caller_number": callback.from_address,
            "called_number": callback.to_address,
            "queue_name": step.queue.name,
        }
        return str(
            ringing(
                owner=step.queue,
                agents=step.agents,
                context=context,
                urls=urls,
                queue_id=step.queue.pk,
                timeout=step.queue.ring_timeout,
            )
        )
    response = VoiceResponse()
    if isinstance(step, TimedOut):
        # Our <Dial> action applies the queue's unanswered-call policy and records the miss.
        response.redirect(urls.dial_action_for(offered=[], queue_id=step.queue.pk), method="POST")
        return str(response)
    if isinstance(step, Wait):
        if step.announcement is not None:
            response.say(spoken_announcement(step.announcement))
        response.play(hold_music_url)
        response.redirect(urls.queue_wait_for(queue_id=step.queue.pk), method="POST")
        return str(response)
    response.hangup()
    return str(response)


def spoken_announcement(announcement: Announcement) -> str:
    """The caller's position and, once callers have been answered, the expected wait."""
    words = [POSITION.format(position=announcement.position)]
    if announcement.expected_wait_seconds is not None:
        minutes = max(1, round(announcement.expected_wait_seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        words.append(EXPECTED_WAIT.format(minutes=minutes, unit=unit))
    words.append(PLEASE_HOLD)
    return " ".join(words)
