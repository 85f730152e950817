"""Every answered question, recorded scrubbed: what was asked, what the bot decided, and feedback."""
