"""Slack: the Bolt app, events, Block Kit, triage, the Web API sender."""
