"""A family's disposition and note: the list supervisors keep, what agents write, the API
and the family page's form."""
