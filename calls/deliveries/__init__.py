"""Deliveries: what Twilio sends our webhooks, read into typed values.

A delivery is one signed request from Twilio, its form checked field by field into a frozen
value (a malformed field raises InvalidCallback, answered 400) before anything is written.
The webhook views and the writers import from here; nothing here imports them.

- calls.py: call legs (Voice URL, fallback, status callbacks, our <Dial> action), and what
  every kind shares: the field readers, InvalidCallback and the delivery digest.
- recordings.py: recording status callbacks.
- menus.py: the answers to a number's spoken menu (its <Gather> action).
- errors.py: Twilio's error reports (its Debugger webhook and Event Streams' error events).
- signatures.py and receiving.py: the frame every webhook view is wrapped in (signatures.py
  also passes a signed JSON array on, for Event Streams).

A new kind of delivery is a parser in a module of its own here, a rule in the writer of the
table it fills, and a view beside that writer wrapped in twilio_webhook_parsed_by, whose URL
goes in calls/webhooks/urls.py and HOT_PATH_MIDDLEWARE.
"""
