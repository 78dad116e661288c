"""Held-out metrics and the run's plots (curves, confusion matrix, samples, errors)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, class_names: list[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(class_names)))
    y_pred = probs.argmax(axis=1)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    _, _, macro_f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(macro_f1),
        "per_class": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": class_names,
    }


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history_csv: Path, out: Path) -> None:
    with history_csv.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    plt = _plt()
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Accuracy")):
        ax.plot(epochs, [float(r[key]) for r in rows], label="train", marker=".")
        if f"val_{key}" in rows[0]:
            ax.plot(epochs, [float(r[f"val_{key}"]) for r in rows], label="validation", marker=".")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_confusion(cm: list[list[int]], class_names: list[str], out: Path) -> None:
    plt = _plt()
    m = np.array(cm)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 1.0 + 0.7 * n))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test split)")
    top = m.max() if m.size else 0
    for i in range(n):
        for j in range(n):
            color = "white" if top and m[i, j] > top / 2 else "black"
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color=color, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_grid(
    images: list[np.ndarray], titles: list[str], out: Path, heading: str, cols: int = 6
) -> None:
    plt = _plt()
    n = max(1, len(images))
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.2 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, images, titles, strict=False):
        ax.imshow(img)
        ax.set_title(title, fontsize=8)
    if not images:
        axes[0][0].text(0.5, 0.5, "none", ha="center", va="center")
    fig.suptitle(heading)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_samples(x: np.ndarray, y: np.ndarray, class_names: list[str], out: Path) -> None:
    """Up to six training images per class, one class per row."""
    images: list[np.ndarray] = []
    titles: list[str] = []
    per = 6
    for c, name in enumerate(class_names):
        idxs = np.flatnonzero(y == c)[:per]
        for i in idxs:
            images.append(x[i])
            titles.append(name)
        for _ in range(per - len(idxs)):  # keep one class per row
            images.append(np.full_like(x[0], 255))
            titles.append("")
    plot_grid(images, titles, out, "Training samples per class", cols=per)


def plot_errors(
    x: np.ndarray, y: np.ndarray, probs: np.ndarray, class_names: list[str], out: Path
) -> None:
    """The misclassified test images, worst (most confident) first, up to 30."""
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]])][:30]
    titles = [
        f"true {class_names[y[i]]}\npred {class_names[pred[i]]} {probs[i, pred[i]]:.2f}"
        for i in wrong
    ]
    plot_grid([x[i] for i in wrong], titles, out, f"Misclassified test images ({len(wrong)})")
