"""Calibrate the answer policy's thresholds on the DEV half of the hospital question set.

Searches each dev question once, then tries every combination of thresholds in a small grid and
keeps the one that answers the most questions outright with the right article and escalates the
most not-in-KB questions (rather than offering choices) while meeting, on
dev and with a safety margin, the targets the test half is judged by (helped >= 97%, wrong
confident answers <= 2%, not-in-KB questions handled >= 93%). Prints the winner and the runners-up;
copy the winner into ``PolicyParams`` defaults. Never run on the test split.

    .venv/bin/python benchmarks/policy_calibration.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.hospital import build_assistant, load_questions  # noqa: E402
from bot.core.models import Decision  # noqa: E402
from bot.core.policy import PolicyParams, decide  # noqa: E402
from bot.core.retrieval import SearchResult  # noqa: E402
from bot.core.scrub import scrub_text  # noqa: E402

GRID: dict[str, tuple[float, ...]] = {
    "answer_score": (0.6, 0.62, 0.64, 0.66, 0.68, 0.7, 0.72, 0.74),
    "answer_margin": (0.02, 0.04, 0.06, 0.08, 0.1, 0.12),
    "answer_coverage": (0.0, 0.3, 0.5, 0.7),
    "clarify_score": (0.35, 0.4, 0.45, 0.5, 0.55),
    "escalate_coverage": (0.0, 0.2, 0.25, 0.3, 0.35, 0.4),
    "clarify_window": (0.1, 0.2, 0.3),
    "min_known_share": (0.5,),
}
MIN_HELPED, MAX_WRONG, MIN_HANDLED = 0.97, 0.02, 0.93


def score(
    questions: list[dict[str, Any]], results: list[SearchResult], params: PolicyParams
) -> dict[str, float]:
    """Helped, wrong, handled and answered-right rates of ``params`` over the dev results."""
    helped = wrong = handled = right = escalated = 0
    n_ans = sum(1 for q in questions if q["article"])
    for q, result in zip(questions, results, strict=True):
        verdict = decide(result, params)
        gold = {q["article"], *q.get("also", [])} - {None}
        cited = [h.article_id for h in verdict.hits]
        if verdict.decision is Decision.ANSWER:
            ok = bool(gold) and cited[0] in gold
            helped += ok
            right += ok
            wrong += not ok
        elif verdict.decision is Decision.CLARIFY:
            helped += bool(gold & set(cited))
            handled += not gold
        else:
            handled += not gold
            escalated += not gold
    return {
        "escalated": escalated / (len(questions) - n_ans),
        "helped": helped / n_ans,
        "wrong": wrong / len(questions),
        "handled": handled / (len(questions) - n_ans),
        "answered_right": right / n_ans,
    }


def main() -> int:
    """Grid-search the thresholds on dev and print the best settings."""
    assistant = build_assistant(ROOT / "var" / "bench" / "hospital", "all-MiniLM-L6-v2")
    searcher = assistant._searcher
    assert searcher is not None
    questions = load_questions("dev")
    results = [searcher.search(scrub_text(q["query"]), k=10) for q in questions]
    rows = []
    for values in itertools.product(*GRID.values()):
        params = PolicyParams(**dict(zip(GRID, values, strict=True)))
        if params.clarify_score > params.answer_score:
            continue
        s = score(questions, results, params)
        if s["helped"] >= MIN_HELPED and s["wrong"] <= MAX_WRONG and s["handled"] >= MIN_HANDLED:
            rows.append(
                (
                    s["answered_right"] + s["escalated"],
                    s["answered_right"],
                    s["escalated"],
                    s["helped"],
                    -s["wrong"],
                    s["handled"],
                    params,
                )
            )
    rows.sort(key=lambda r: r[:6], reverse=True)
    print("# Policy calibration on benchmarks/hospital/dev.jsonl")
    print("# command: .venv/bin/python benchmarks/policy_calibration.py")
    print(f"# {len(rows)} settings meet helped>={MIN_HELPED}, wrong<={MAX_WRONG}, handled>={MIN_HANDLED}")
    print()
    print("| answered right | not-in-KB escalated | helped | wrong | handled | params |")
    print("|---|---|---|---|---|---|")
    for _, right, escalated, helped, neg_wrong, handled, params in rows[:10]:
        print(
            f"| {right:.1%} | {escalated:.1%} | {helped:.1%} | {-neg_wrong:.1%} | {handled:.1%} | {params} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
