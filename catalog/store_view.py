"""Text views of the model store for the CLI (plain functions, easy to test)."""

from __future__ import annotations

import json

from models.store import ModelStore, StoreError


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def list_lines(store: ModelStore) -> list[str]:
    names = store.names()
    if not names:
        return [f"no models in {store.root} yet: catalog export RUN_DIR --name NAME"]
    lines = [f"{'MODEL':<24} {'VER':>4}  {'ACCURACY':>8} {'MACRO-F1':>8}  CREATED"]
    for name in names:
        champ = store.champion(name)
        for v in store.versions(name):
            card = store.get(name, v).card()
            mark = "*" if champ and champ.version == v else " "
            lines.append(
                f"{name:<24} {v:>4}{mark} {_fmt(card.metrics.get('accuracy')):>8} "
                f"{_fmt(card.metrics.get('macro_f1')):>8}  {card.created_at[:19]}"
            )
    lines.append("* champion")
    return lines


def show_lines(store: ModelStore, spec: str) -> list[str]:
    ref = store.resolve(spec)
    if ref.version == "file":
        raise StoreError(
            "`models show` takes NAME or NAME:VERSION; use `catalog inspect` for files"
        )
    card = ref.card()
    champ = store.champion(ref.name)
    lines = [
        f"{ref.label}{' (champion)' if champ and champ.version == ref.version else ''}",
        f"folder: {ref.path}",
        card.to_json(),
        "checksums:",
        *("  " + ln for ln in (ref.path / "SHA256SUMS").read_text().splitlines()),
    ]
    history = store.history(ref.name)
    if history:
        lines.append("decisions:")
        for e in history:
            lines.append(
                f"  {e['at'][:19]} {e['action']:<8} {e.get('from')} -> {e.get('to')}: "
                f"{e.get('reason', '')}"
            )
            if e.get("figures"):
                lines.append(f"    {json.dumps(e['figures'])}")
    return lines


def promote(store: ModelStore, spec: str) -> str:
    name, _, version = spec.partition(":")
    if not version:
        raise StoreError(f"promote takes NAME:VERSION, got {spec!r}")
    before = store.promote(name, version, reason="operator promote")
    return f"{name}: champion {before or 'none'} -> {version}"


def rollback(store: ModelStore, name: str) -> str:
    old, new = store.rollback(name)
    return f"{name}: champion {old} -> {new} (rolled back)"
