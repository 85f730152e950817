"""Escalation into tickets: the ticket store, the escalation flow, and forwarding to the service desk."""
