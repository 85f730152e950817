"""Console roles, each allowed what the one below it is and more: viewer < curator < agent < admin.

- viewer reads the console's pages (articles, their use, unanswered questions);
- curator also edits articles, previews them and tries questions against the live assistant;
- agent also works tickets;
- admin also manages accounts and reads (and exports) the audit log.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A console account's role; compare with ``allows``, never by name."""

    VIEWER = "viewer"
    CURATOR = "curator"
    AGENT = "agent"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """The role's place in viewer < curator < agent < admin (0 for viewer)."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """Whether an account with this role may do what ``needed`` may."""
        return self.rank >= needed.rank
