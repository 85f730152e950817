"""Conversations: what the bot remembers of a chat thread, and which deliveries it has already taken."""
