"""Upgrade and outage notices: the systems registry, the lifecycle, and matching questions to them."""
