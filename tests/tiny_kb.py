"""A tiny knowledge folder written on demand: four short articles, deterministic text."""

from __future__ import annotations

from pathlib import Path

ARTICLES: dict[str, str] = {
    "ehr/epic-login-problems": """---
title: "Can't log in to Epic"
tags: [epic, login, password]
systems: [Epic]
owner: clinical-apps-team
review_by: 2027-06-30
---

# Can't log in to Epic

## Fix it

1. Epic uses your network password. Check **Caps Lock**.
2. Type your username without the `HOSP\\` prefix.
3. If the password is refused everywhere, reset it with the self-service reset.

## When to call the service desk

Call if the reset page also refuses you.
""",
    "citrix/citrix-frozen": """---
title: Citrix is frozen or shows a black screen
tags: [citrix, frozen, black screen, wow]
systems: [Citrix Workspace]
owner: end-user-computing
review_by: 2027-03-31
---

# Citrix is frozen or shows a black screen

## Fix it

1. Wait thirty seconds; Citrix sometimes catches up.
2. Press Ctrl+Alt+Break to leave full screen, then close the Citrix window.
3. Open Citrix Workspace again and reconnect to your session.
""",
    "printing/office-printer-offline": """---
title: Office printer shows offline
tags: [printer, offline, print queue]
systems: [Printers]
owner: end-user-computing
review_by: 2027-01-31
---

# Office printer shows offline

## Fix it

1. Check the printer's display for a paper jam or an error.
2. Turn the printer off, wait ten seconds, and turn it on again.
3. Print a test page from Windows settings.
""",
    "printing/specimen-label-printer": """---
title: Specimen label printer prints blank labels
tags: [label printer, specimen labels, zebra, blank labels]
systems: [Zebra]
owner: lab-systems
review_by: 2027-01-31
---

# Specimen label printer prints blank labels

## Fix it

1. Open the printer and check the label roll faces up.
2. Hold the feed button until one blank label feeds out (this recalibrates it).
""",
}

EXTRA_ARTICLE = (
    "network/vpn-wont-connect",
    """---
title: VPN won't connect
tags: [vpn, remote, globalprotect]
systems: [GlobalProtect]
owner: network-team
review_by: 2027-01-31
---

# VPN won't connect

## Fix it

1. Check you are on the internet: open a public web page.
2. Sign out of GlobalProtect and sign in again with your network password.
""",
)


def write_tiny_kb(root: Path, *, extra: bool = False) -> Path:
    """Write the tiny knowledge folder under ``root`` (plus one more article if ``extra``)."""
    items = list(ARTICLES.items()) + ([EXTRA_ARTICLE] if extra else [])
    for article_id, text in items:
        path = root / f"{article_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
