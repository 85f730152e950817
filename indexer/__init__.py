"""Markdown knowledge articles -> chunks -> vectors and a lexical index, saved as a folder of plain files.

Knows nothing of chat, databases or web frameworks.
"""
