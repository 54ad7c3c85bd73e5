"""The conference hub: every connected call meets in a conference of its own.

How a call gets there: our <Dial> rings as it always did (ringing, ring timeouts and the
unanswered-call policy are unchanged); once a leg it rang answers, that leg is moved into
the family's conference by the REST API, which ends the <Dial>, and the <Dial> action puts
the parent leg in the same conference. If the move fails, the legs stay bridged by their
<Dial>, as before the hub existed.

Every leg the hub adds through the REST API (a colleague, a number, a supervisor) has no
ParentCallSid; its status callback URL carries the family (`?family=CA…`), so the call
table links it to the customer's family as it links a <Dial>'s children.
"""
