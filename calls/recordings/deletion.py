"""Deleting one recording at Twilio, then our link to it: for retention and for an agent
deleting her voicemail.

The media goes first (DELETE at Twilio), then our link to it (deleted_at): a failure leaves
the recording playable, its reason kept on the row for the admin.
"""

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from calls.recordings.writer import recording_mark_deleted, recording_note_deletion_failure
from voiceproject.twilio_rest import TwilioUnavailable


def recording_delete(*, client: Client, recording_id: int, sid: str) -> str | None:
    """Delete the recording at Twilio and mark it deleted; return why not, or None."""
    try:
        client.recordings(sid).delete()
    except TwilioRestException as error:
        if error.status != 404:
            recording_note_deletion_failure(recording_id=recording_id, error=str(error))
            return str(error)
        # Already gone at Twilio (deleted in the Console): our link goes too.
    except (TwilioUnavailable, TwilioException) as error:
        recording_note_deletion_failure(recording_id=recording_id, error=str(error))
        return str(error)
    recording_mark_deleted(recording_id=recording_id)
    return None
