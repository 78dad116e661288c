"""The promotion gate: a candidate replaces the champion only if it is no worse.

A plain function over metrics measured on the model's pinned evaluation set,
so it is tested with a table and every decision can be explained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GatePolicy:
    # Absolute accuracy a candidate must reach on the evaluation set.
    floor: float = 0.7
    # Slack for "no worse" on accuracy and macro-F1 (eval-set noise).
    tolerance: float = 0.01
    # Largest drop in any single class's recall, in points (0.02 = 2 points).
    max_class_recall_drop: float = 0.02


@dataclass(frozen=True)
class EvalMetrics:
    accuracy: float
    macro_f1: float
    recall: dict[str, float]  # per class
    n: int = 0

    @classmethod
    def from_report(cls, m: dict[str, Any]) -> EvalMetrics:
        return cls(
            accuracy=float(m["accuracy"]),
            macro_f1=float(m["macro_f1"]),
            recall={c: float(v["recall"]) for c, v in m["per_class"].items()},
            n=int(m.get("n", 0)),
        )


@dataclass
class Decision:
    promote: bool
    reasons: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    candidate: EvalMetrics, champion: EvalMetrics | None, policy: GatePolicy = GatePolicy()
) -> Decision:
    """Promote iff: accuracy >= floor; and, when a champion exists, accuracy and
    macro-F1 no worse than the champion's beyond `tolerance`, and no class's
    recall lower by more than `max_class_recall_drop`. The first version needs
    only the floor. All failing rules are reported, not just the first."""
    reasons: list[str] = []
    figures: dict[str, Any] = {
        "candidate": asdict(candidate),
        "champion": asdict(champion) if champion else None,
        "policy": asdict(policy),
    }
    ok = True
    if candidate.accuracy < policy.floor:
        ok = False
        reasons.append(f"accuracy {candidate.accuracy:.4f} is below the floor {policy.floor:.4f}")
    if champion is None:
        if ok:
            reasons.append(
                f"first version: accuracy {candidate.accuracy:.4f} meets the floor "
                f"{policy.floor:.4f}"
            )
        return Decision(ok, reasons, figures)
    if set(candidate.recall) != set(champion.recall):
        return Decision(False, [*reasons, "class set differs from the champion's"], figures)
    for name, c, ch in (
        ("accuracy", candidate.accuracy, champion.accuracy),
        ("macro-F1", candidate.macro_f1, champion.macro_f1),
    ):
        if c < ch - policy.tolerance:
            ok = False
            reasons.append(
                f"{name} {c:.4f} is worse than the champion's {ch:.4f} "
                f"beyond the tolerance {policy.tolerance:.4f}"
            )
    drops = {k: champion.recall[k] - candidate.recall[k] for k in champion.recall}
    figures["recall_drops"] = drops
    for k, d in sorted(drops.items()):
        if d > policy.max_class_recall_drop + 1e-12:
            ok = False
            reasons.append(
                f"recall of {k!r} drops {d * 100:.1f} points "
                f"(limit {policy.max_class_recall_drop * 100:.1f})"
            )
    if ok:
        reasons.append(
            f"no worse than the champion: accuracy {candidate.accuracy:.4f} vs "
            f"{champion.accuracy:.4f}, macro-F1 {candidate.macro_f1:.4f} vs "
            f"{champion.macro_f1:.4f}, largest class-recall drop "
            f"{max(drops.values()) * 100:.1f} points"
        )
    return Decision(ok, reasons, figures)
