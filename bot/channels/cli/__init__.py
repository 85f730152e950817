"""The `itbot` command line."""
