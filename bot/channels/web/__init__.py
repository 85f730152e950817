"""The web chat and its JSON API, the status page, and the web relay of IT's replies."""
