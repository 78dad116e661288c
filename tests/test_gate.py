"""The promotion gate as a table."""

from __future__ import annotations

import pytest

from models.gate import Decision, EvalMetrics, GatePolicy, decide


def m(acc: float, f1: float, **recall: float) -> EvalMetrics:
    return EvalMetrics(acc, f1, recall or {"a": acc, "b": acc})


CHAMP = m(0.90, 0.89, a=0.90, b=0.90)
POLICY = GatePolicy(floor=0.7, tolerance=0.01, max_class_recall_drop=0.02)


@pytest.mark.parametrize(
    ("case", "candidate", "champion", "promote", "reason"),
    [
        ("first model above floor", m(0.80, 0.79), None, True, "first version"),
        ("first model below floor", m(0.60, 0.60), None, False, "below the floor"),
        ("better model", m(0.93, 0.92, a=0.93, b=0.93), CHAMP, True, "no worse"),
        ("equal model", m(0.90, 0.89, a=0.90, b=0.90), CHAMP, True, "no worse"),
        ("within tolerance", m(0.895, 0.885, a=0.89, b=0.90), CHAMP, True, "no worse"),
        ("worse model", m(0.85, 0.84, a=0.85, b=0.85), CHAMP, False, "worse than the champion"),
        (
            "better on average, loses a class",
            m(0.94, 0.93, a=0.99, b=0.85),
            CHAMP,
            False,
            "recall of 'b' drops 5.0 points",
        ),
        ("worse macro-F1 only", m(0.90, 0.85, a=0.90, b=0.90), CHAMP, False, "macro-F1"),
        (
            "below floor though better",
            m(0.65, 0.95, a=0.95, b=0.95),
            m(0.6, 0.6, a=0.6, b=0.6),
            False,
            "below the floor",
        ),
        ("class set changed", m(0.95, 0.95, a=0.95, c=0.95), CHAMP, False, "class set"),
    ],
)
def test_gate(
    case: str, candidate: EvalMetrics, champion: EvalMetrics | None, promote: bool, reason: str
) -> None:
    d = decide(candidate, champion, POLICY)
    assert isinstance(d, Decision)
    assert d.promote is promote, (case, d.reasons)
    assert any(reason in r for r in d.reasons), (case, d.reasons)
    assert d.figures["candidate"]["accuracy"] == candidate.accuracy


def test_all_failing_rules_are_reported() -> None:
    d = decide(m(0.5, 0.4, a=0.5, b=0.5), CHAMP, POLICY)
    assert len(d.reasons) >= 4  # floor, accuracy, macro-F1, two recalls
