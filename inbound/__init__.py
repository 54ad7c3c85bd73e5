"""What happens to a call from the phone network before an agent rings: the blocklist,
business hours, the menu and the queues a number sends its callers to."""
