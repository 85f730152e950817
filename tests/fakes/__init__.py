"""Small twins of itbot's parts and of outside services, for tests."""
