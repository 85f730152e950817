"""The IT console: server-rendered pages under ``/console`` for curators, agents and admins."""
