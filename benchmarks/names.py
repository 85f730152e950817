"""Person names without cue words: how many the scrubber removes, and what else it keeps.

Reads an annotated set under benchmarks/names/ (``dev.txt`` to tune, ``test.txt`` never tuned
on, ``test2.txt`` a fresh half of 371 messages written blind on 2026-12-03 without seeing the
scrubber, its name lists or the other halves' messages, to report only): one chat message a line,
``{{...}}`` around a person's name, ``<<...>>`` around an identifier (MRN, date of birth, phone,
SSN, account). Each message is scrubbed without its marks, and the words of the original are
lined up with the words of the scrubbed text. It prints:

- names removed: the share of the words inside ``{{...}}`` that the scrubber replaced;
- other text kept: the share of the other words (outside any mark) left untouched;
- identifiers: the share of the identifiers whose every digit and word is gone (must be 100%);
- the time to scrub one message, median and 99th percentile over ``--repeat`` passes;

then the command that made the table. ``--misses`` lists the names kept and the words replaced
wrongly (use it on dev only).

    .venv/bin/python benchmarks/names.py [--split dev|test|test2] [--repeat 20] [--misses]
"""

from __future__ import annotations

import argparse
import re
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.scrub import scrub

_DIR = Path(__file__).resolve().parent / "names"
_MARK = re.compile(r"\{\{(?P<name>.+?)\}\}|<<(?P<ident>.+?)>>")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Line:
    """One message without its marks, and for each of its words whether it is a name or identifier."""

    text: str
    words: list[tuple[str, str]]  # (word, "name" | "id" | "other")
    identifiers: list[str]


def parse(raw: str) -> Line:
    """The message of one annotated line, its words labelled by the marks around them."""
    text_parts: list[str] = []
    words: list[tuple[str, str]] = []
    identifiers: list[str] = []
    done = 0
    for mark in _MARK.finditer(raw):
        plain = raw[done : mark.start()]
        text_parts.append(plain)
        words += [(word, "other") for word in _WORD.findall(plain)]
        inner = mark.group("name") or mark.group("ident")
        kind = "name" if mark.group("name") is not None else "id"
        text_parts.append(inner)
        words += [(word, kind) for word in _WORD.findall(inner)]
        if kind == "id":
            identifiers.append(inner)
        done = mark.end()
    tail = raw[done:]
    text_parts.append(tail)
    words += [(word, "other") for word in _WORD.findall(tail)]
    return Line(text="".join(text_parts), words=words, identifiers=identifiers)


def load(split: str) -> list[Line]:
    """The annotated lines of one split, comments and blank lines left out."""
    path = _DIR / f"{split}.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [parse(line) for line in lines if line.strip() and not line.startswith("#")]


def kept_flags(line: Line, scrubbed: str) -> list[bool]:
    """For each word of the original, whether the scrubbed text still has it in place."""
    original = [word for word, _ in line.words]
    after = _WORD.findall(scrubbed)
    kept = [False] * len(original)
    for block in SequenceMatcher(a=original, b=after, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            kept[block.a + k] = True
    return kept


def main() -> None:
    """Print the table for one split."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "test2"), default="dev")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--misses", action="store_true", help="list names kept and words replaced wrongly")
    args = parser.parse_args()

    lines = load(args.split)
    counts = {"name": [0, 0], "other": [0, 0], "id": [0, 0]}  # [handled well, total]
    misses: list[str] = []
    for line in lines:
        scrubbed = scrub(line.text).text
        for (word, kind), kept in zip(line.words, kept_flags(line, scrubbed), strict=True):
            if kind == "id":
                continue
            good = (not kept) if kind == "name" else kept
            counts[kind][0] += good
            counts[kind][1] += 1
            if not good:
                misses.append(f"{'name kept' if kind == 'name' else 'word lost'}: {word!r} in {line.text!r}")
        for identifier in line.identifiers:
            gone = not any(part in scrubbed for part in _WORD.findall(identifier) if len(part) > 1)
            counts["id"][0] += gone
            counts["id"][1] += 1
            if not gone:
                misses.append(f"identifier kept: {identifier!r} in {line.text!r}")

    scrub(lines[0].text)  # the name lists load on first use; time the steady state
    timings: list[float] = []
    for _ in range(args.repeat):
        for line in lines:
            start = time.perf_counter_ns()
            scrub(line.text)
            timings.append((time.perf_counter_ns() - start) / 1e6)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]

    def share(kind: str) -> str:
        good, total = counts[kind]
        return f"{100 * good / total:.1f}% ({good}/{total})" if total else "n/a"

    rows = [
        ("names removed (name words replaced)", share("name"), ">= 95%"),
        ("other text kept (other words untouched)", share("other"), ">= 97%"),
        ("identifiers removed (MRN, DOB, phone...)", share("id"), "100%"),
        ("scrub time per message, median", f"{statistics.median(timings):.3f} ms", "<= 1 ms"),
        ("scrub time per message, p99", f"{p99:.3f} ms", ""),
    ]
    print(f"names set: {args.split} half, {len(lines)} messages, {args.repeat} timed passes")
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'result':<20}  target")
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:<20}  {target}")
    if args.misses:
        print()
        print("\n".join(misses))
    print()
    print("command: " + shlex.join([".venv/bin/python", "benchmarks/names.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
