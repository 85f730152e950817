"""``itbot notice channels ...``: where IT configures which chat channels receive which notices.

* ``itbot notice channels add C0ED1 --label "#ed" --sites "ED" [--systems "Badge tap,Epic"]
  [--no-digest] [--channel slack|teams]`` (a Teams target is a conversation id, a channel's
  ``19:...@thread.tacv2`` or a chat's): the channel gets notices naming those systems (default: any)
  at those sites (default: every site: the all-staff channel), and the shift-change digest unless
  ``--no-digest``. Adding a channel again replaces what it receives.
* ``itbot notice channels list [--json]`` and ``itbot notice channels remove C0ED1``;
* ``itbot notice channels route --systems "Badge tap" [--sites ED]``: the channels such a notice
  would go to, to check the configuration before posting.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sqlmodel import Session

EXIT_OK = 0
EXIT_FAILED = 1
CHANNELS = ("slack", "teams")


def add_channels_parser(notice: Any) -> None:
    """Register ``itbot notice channels ...`` on the ``notice`` subparsers."""
    p_channels = notice.add_parser("channels", help="which chat channels receive which notices")
    channels = p_channels.add_subparsers(dest="channels_command", required=True)
    p_add = channels.add_parser("add", help="add a channel (or replace what it receives)")
    p_add.add_argument(
        "target", help="the channel's id: Slack's C0123ABCD, or a Teams conversation id (19:...@thread.tacv2)"
    )
    p_add.add_argument("--label", default="", help='what IT calls it, e.g. "#ed"')
    p_add.add_argument("--systems", default="", help="only notices naming these systems (default: any)")
    p_add.add_argument("--sites", default="", help="only notices for these sites or units (default: all)")
    p_add.add_argument("--no-digest", action="store_true", help="no shift-change digest here")
    p_add.add_argument(
        "--channel",
        default="slack",
        type=str.lower,
        choices=CHANNELS,
        help="the chat platform (default slack)",
    )
    p_list = channels.add_parser("list", help="the configured channels")
    p_list.add_argument("--json", action="store_true")
    p_remove = channels.add_parser("remove", help="stop posting notices into a channel")
    p_remove.add_argument("target")
    p_remove.add_argument("--channel", default="slack", type=str.lower, choices=CHANNELS)
    p_route = channels.add_parser("route", help="the channels a notice with these systems and sites reaches")
    p_route.add_argument("--systems", required=True)
    p_route.add_argument("--sites", default="")


def run_channels(args: argparse.Namespace, session: Session, out: TextIO) -> int:
    """Do one ``itbot notice channels`` command; raises ``NoticeError`` for bad input."""
    from bot.notices.delivery_queries import list_routes, remove_route, save_route
    from bot.notices.errors import NoticeError
    from bot.notices.queries import list_systems
    from bot.notices.registry import parse_list, resolve_names
    from bot.notices.routing import routes_for

    command = args.channels_command
    if command == "add":
        target = args.target.strip()
        if not target or len(target) > 255 or any(c.isspace() for c in target):
            raise NoticeError(
                "bad target",
                user_message="Give the channel id (Slack: C0123ABCD; Teams: 19:...@thread.tacv2), no spaces.",
            )
        systems = (
            resolve_names(parse_list(args.systems), list_systems(session=session)) if args.systems else []
        )
        route = save_route(
            session=session,
            channel=args.channel.strip().lower(),
            target=target,
            label=args.label.strip()[:128],
            systems=systems,
            sites=[" ".join(s.split()) for s in parse_list(args.sites)],
            digest=not args.no_digest,
        )
        out.write(f"{_describe(route)}\n")
        return EXIT_OK
    if command == "remove":
        if not remove_route(
            session=session, channel=args.channel.strip().lower(), target=args.target.strip()
        ):
            raise NoticeError("no route", user_message=f"No channel {args.target.strip()!r} is configured.")
        out.write(f"Removed {args.target.strip()}.\n")
        return EXIT_OK
    routes = list_routes(session=session)
    if command == "route":
        systems = resolve_names(parse_list(args.systems), list_systems(session=session))
        probe = argparse.Namespace(systems=systems, sites=parse_list(args.sites))
        routes = routes_for(probe, routes)
    if getattr(args, "json", False):
        rows = [
            {
                "channel": r.channel,
                "target": r.target,
                "label": r.label,
                "systems": r.systems,
                "sites": r.sites,
                "digest": r.digest,
            }
            for r in routes
        ]
        out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return EXIT_OK
    if not routes:
        out.write("No channels." if command == "list" else "No channel would get it.")
        out.write(" Add one: itbot notice channels add C0123ABCD --label '#all-staff'\n")
        return EXIT_OK
    out.write("".join(f"{_describe(r)}\n" for r in routes))
    return EXIT_OK


def _describe(route: Any) -> str:
    systems = ", ".join(route.systems) or "every system"
    sites = ", ".join(route.sites) or "every site"
    digest = "" if route.digest else ", no digest"
    label = f" {route.label}" if route.label else ""
    return f"{route.channel}:{route.target}{label}: {systems} at {sites}{digest}"
