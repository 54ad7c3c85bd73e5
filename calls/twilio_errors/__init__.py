"""Twilio's own error reports (its Debugger webhook and Event Streams): stored, shown on the
call's page and in the admin, and summarised by the setup doctor."""
