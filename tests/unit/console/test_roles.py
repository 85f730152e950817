"""Console roles: each allows what the ones below it allow."""

from __future__ import annotations

from bot.console.roles import Role


def test_roles_are_ordered_viewer_curator_agent_admin() -> None:
    assert [r.value for r in sorted(Role, key=lambda r: r.rank)] == ["viewer", "curator", "agent", "admin"]


def test_a_role_allows_its_own_and_lower_roles_only() -> None:
    assert Role.ADMIN.allows(Role.VIEWER) and Role.ADMIN.allows(Role.ADMIN)
    assert Role.CURATOR.allows(Role.VIEWER) and not Role.CURATOR.allows(Role.AGENT)
    assert not Role.VIEWER.allows(Role.CURATOR)
