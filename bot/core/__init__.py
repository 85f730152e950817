"""The channel-neutral core: questions in, replies out. Imports no chat SDK and no web framework."""
