"""PHI scrubber speed: median and p99 time to scrub one chat message.

Builds a few hundred realistic IT-chat lines (most without identifiers, some with MRNs, dates of
birth, phones, names, e-mail addresses and the evasions the scrubber normalises), scrubs each one
many times, and prints the median and the 99th percentile per message, then the command that made
it. The budget is 1 ms a message.

    .venv/bin/python benchmarks/scrub_speed.py [--lines 400] [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.scrub import scrub

_PLAIN = [
    "epic keeps kicking me out on 4 West",
    "citrix frozen on the wow in ICU, since 09:12",
    "pyxis drawer 3 won't open, ticket IT-000123",
    "Vocera badge not registering at Grace Hospital ED",
    "printer PRN-4B-LBL01 jams on every wristband, x4567 has no answer",
    "how do I reset my epic password",
    "ping 10.20.4.17 fails from the nurses station",
    "on 3/12 the upgrade broke bcma scanning, INC0012345",
    "error 0x80070005 when installing Windows 11 23H2 update",
    "patient portal is down for everyone on 5 North",
    "pt can't log in to mychart kiosk in the lobby",
    "Dr. Patel can't sign orders in Hyperspace, error 1603",
    "MS Teams keeps crashing on the workstation in room 4B",
    "the MR scanner PACS link is slow again",
]
_WITH_PHI = [
    "pt {first} {last} MRN {mrn} wristband won't print on PRN-4B-LBL01",
    "Mrs.{last} dob {dob} not showing in Epic",
    "please call {phone} about patient {first} {last}, ext 2201 if no answer",
    "MRN {mrn_spaced} chart won't open in Citrix",
    "MRN is zero zero four eight two nine one three, can't find the chart",
    "chartMRN{mrn} errors in the ADT interface",
    "{login} at hospital dot org can't get the results e-mail",
    "SSN {ssn} on the registration screen, is that right?",
    "a 94-year-old in 4 West can't use the tablet",
    "https://mychart.grace.example/patient/{mrn} gives a 500",
    "patient {last}-Villalobos, also charted as {last} Villalobos, has two MRNs",
]
_FIRST = ["John", "Maria", "Wei", "Aisha", "José", "Olivia"]
_LAST = ["Carter", "Nguyen", "Oberholtzer", "Reyes", "García", "Okafor"]


def messages(count: int, seed: int = 3) -> list[str]:
    """``count`` chat lines, about two in three without identifiers, reproducible for a seed."""
    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(count):
        if rng.random() < 0.65:
            lines.append(rng.choice(_PLAIN))
            continue
        mrn = f"{rng.randrange(10**8):08d}"
        lines.append(
            rng.choice(_WITH_PHI).format(
                first=rng.choice(_FIRST),
                last=rng.choice(_LAST),
                mrn=mrn,
                mrn_spaced=f"{mrn[:4]} {mrn[4:]}",
                dob=f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1930, 2010)}",
                phone=f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randrange(10_000):04d}",
                login=f"j.doe.rt{rng.randint(1, 9)}",
                ssn=f"{rng.randint(100, 899)} {rng.randint(10, 99)} {rng.randrange(10_000):04d}",
            )
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the median and p99 scrub time per message over ``--lines`` messages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=20, help="times each line is scrubbed (best kept)")
    args = parser.parse_args(argv)

    lines = messages(args.lines)
    for line in lines:  # warm the regex caches
        scrub(line)
    per_message: list[float] = []
    for line in lines:
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            scrub(line)
            best = min(best, time.perf_counter() - started)
        per_message.append(best * 1e6)
    per_message.sort()
    p99 = per_message[min(len(per_message) - 1, round(0.99 * (len(per_message) - 1)))]
    print(f"{'messages':>10} {'median µs':>10} {'p99 µs':>10} {'max µs':>10}")
    print(f"{len(lines):>10} {statistics.median(per_message):>10.1f} {p99:>10.1f} {per_message[-1]:>10.1f}")
    print()
    print("command:", shlex.join([".venv/bin/python", "benchmarks/scrub_speed.py", *sys.argv[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
