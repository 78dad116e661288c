"""`train(config)`: clean, split, train, evaluate; write a self-contained run folder.

The CLI and the retrain task are thin adapters over this function.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.architectures import DEFAULT_ARCHITECTURE
from models.preprocessing import DEFAULT_MAX_PIXELS, RESIZE_METHOD
from models.versions import package_versions
from trainer import data, report

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    data_dir: Path
    out: Path
    image_size: int = 128  # 128 px: accuracy plateaus above it on catalog shots; 160 costs 1.6x
    epochs: int = 40  # an upper bound; early stopping usually ends sooner
    batch_size: int = 16  # measured: beat 32 on the small sets (more updates per epoch)
    architecture: str = DEFAULT_ARCHITECTURE
    seed: int = 42
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    learning_rate: float = 1e-3
    patience: int = 8  # epochs without val-loss improvement before stopping
    augment: bool = True
    weights: str | None = None  # for keras.applications backbones only
    max_pixels: int = DEFAULT_MAX_PIXELS
    decode_threads: int = 4
    tensorboard: bool = False
    # Members trained from different initialisations and averaged into one
    # model: on small data the run-to-run variance dominates and averaging
    # removes much of it. 0 = auto (see `auto_ensemble`).
    ensemble: int = 0
    deterministic: bool = True  # reproducible runs; measured cost on this CPU: README
    # sha256 of files never to train on (a model's pinned evaluation set)
    exclude_hashes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    class_names: list[str]
    seconds: float
    epochs_run: int
    report: dict[str, Any]


def auto_ensemble(n_train: int) -> int:
    """Members for an ensemble, by training-set size. Measured on slash-products
    (README; mean test accuracy over three seeds): 1 member 0.863, 3 members
    0.902, 5 members 0.892. Cost grows with members x images, so above 1,500
    training images a single model is trained."""
    return 3 if n_train < 1500 else 1


def _augmenter(seed: int) -> Any:
    """Light geometric + photometric jitter, applied in the tf.data pipeline
    (never inside the model, DESIGN §4). Catalog shots are upright and centred,
    so rotations and shifts stay small."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.04, fill_mode="nearest", seed=seed + 1),
            layers.RandomZoom((-0.1, 0.1), fill_mode="nearest", seed=seed + 2),
            layers.RandomTranslation(0.06, 0.06, fill_mode="nearest", seed=seed + 3),
            layers.RandomContrast(0.15, seed=seed + 4),
            layers.RandomBrightness(0.1, value_range=(0, 255), seed=seed + 5),
        ],
        name="augment",
    )


def train(cfg: TrainConfig) -> TrainResult:
    t0 = time.perf_counter()
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    size = (cfg.image_size, cfg.image_size)

    log.info("scanning and decoding %s at %dx%d", cfg.data_dir, *size)
    ds = data.load(
        Path(cfg.data_dir),
        size,
        cfg.max_pixels,
        cfg.decode_threads,
        exclude=frozenset(cfg.exclude_hashes),
    )
    data_report = ds.report()
    (run_dir / "data_report.json").write_text(json.dumps(data_report, indent=2))
    (run_dir / "class_names.json").write_text(json.dumps(ds.class_names, indent=2))
    log.info(
        "%d files: %d kept, %d quarantined, %d duplicates dropped",
        ds.scanned,
        len(ds.paths),
        len(ds.quarantined),
        len(ds.duplicates),
    )

    fractions = (1 - cfg.val_fraction - cfg.test_fraction, cfg.val_fraction, cfg.test_fraction)
    tr, va, te = data.stratified_split(ds.y.tolist(), fractions, cfg.seed)
    data.write_split(run_dir, ds, {"train": tr, "val": va, "test": te})
    if not tr or not te:
        raise data.DataError("too few images to form train and test splits")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from sklearn.utils.class_weight import compute_class_weight

    if cfg.deterministic:
        # Same seed + data + machine -> the same model, not just the same split.
        tf.config.experimental.enable_op_determinism()

    x_tr, y_tr = ds.x[tr], ds.y[tr]
    present = np.unique(y_tr)
    weights = compute_class_weight("balanced", classes=present, y=y_tr)
    class_weight = {int(c): float(w) for c, w in zip(present, weights, strict=True)}
    val = (ds.x[va].astype("float32"), ds.y[va]) if va else None

    cfg.ensemble = cfg.ensemble or auto_ensemble(len(tr))
    members = []
    epochs_run = 0
    for k in range(cfg.ensemble):
        member, n_epochs = _fit_member(
            cfg, k, size, len(ds.class_names), x_tr, y_tr, val, class_weight, run_dir
        )
        members.append(member)
        epochs_run += n_epochs
    model = members[0] if len(members) == 1 else _average(members, size, cfg.architecture)
    model.save(run_dir / "model.keras")
    has_val = val is not None

    # Evaluate in inference mode on the held-out test split only.
    probs = model.predict(ds.x[te].astype("float32"), batch_size=64, verbose=0)
    metrics = report.classification_metrics(ds.y[te], probs, ds.class_names)
    if has_val:
        val_probs = model.predict(ds.x[va].astype("float32"), batch_size=64, verbose=0)
        metrics["val_accuracy"] = float((val_probs.argmax(1) == ds.y[va]).mean())
    seconds = time.perf_counter() - t0
    metrics["train_seconds"] = round(seconds, 1)
    metrics["epochs_run"] = epochs_run
    metrics["ensemble"] = cfg.ensemble
    # Peak resident memory of this process so far (Linux reports KiB).
    metrics["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))

    report.plot_curves(run_dir / "history.csv", run_dir / "curves.png")
    report.plot_confusion(
        metrics["confusion_matrix"], ds.class_names, run_dir / "confusion_matrix.png"
    )
    report.plot_samples(x_tr, y_tr, ds.class_names, run_dir / "samples.png")
    report.plot_errors(ds.x[te], ds.y[te], probs, ds.class_names, run_dir / "errors.png")

    config = {
        "train": cfg.as_json(),
        "input_size": list(size),
        "resize_method": RESIZE_METHOD,
        "class_names": ds.class_names,
        "data_fingerprint": data_report["fingerprint"],
        "split_sizes": {"train": len(tr), "val": len(va), "test": len(te)},
        "class_weight": class_weight,
        "package_versions": package_versions(),
        "machine": {"platform": platform.platform(), "cores": os.cpu_count()},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (run_dir / "config.json").write_text(json.dumps(config, indent=2))
    return TrainResult(run_dir, metrics, ds.class_names, seconds, epochs_run, data_report)


def _fit_member(
    cfg: TrainConfig,
    k: int,
    size: tuple[int, int],
    n_classes: int,
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    val: tuple[np.ndarray, np.ndarray] | None,
    class_weight: dict[int, float],
    run_dir: Path,
) -> tuple[Any, int]:
    """Train ensemble member k (seed + k for init, shuffling and augmentation)."""
    import keras
    import tensorflow as tf

    from models.architectures import build

    seed = cfg.seed + k
    keras.utils.set_random_seed(seed)
    name = cfg.architecture if cfg.ensemble == 1 else f"{cfg.architecture}_{k}"
    model = build(cfg.architecture, size, n_classes, cfg.weights, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    data = tf.data.Dataset.from_tensor_slices((x_tr, y_tr))
    data = data.shuffle(len(x_tr), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(cfg.batch_size).map(
        lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if cfg.augment:
        aug = _augmenter(seed)
        data = data.map(
            lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE
        )
    data = data.prefetch(tf.data.AUTOTUNE)

    monitor = "val_loss" if val is not None else "loss"
    suffix = "" if k == 0 else f"_{k}"
    best_path = run_dir / f"checkpoint.best{suffix}.keras"
    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(
            monitor=monitor, patience=cfg.patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.5, patience=max(2, cfg.patience // 3), min_lr=1e-5
        ),
        keras.callbacks.ModelCheckpoint(best_path, monitor=monitor, save_best_only=True),
        keras.callbacks.CSVLogger(str(run_dir / f"history{suffix}.csv")),
    ]
    if cfg.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / f"tensorboard{suffix}")))
    if cfg.ensemble > 1:
        log.info("ensemble member %d/%d", k + 1, cfg.ensemble)
    with warnings.catch_warnings():
        # Keras warns that shuffle=True is ignored for a tf.data input: we shuffle above.
        warnings.filterwarnings("ignore", message=".*shuffle=True.*was passed")
        history = model.fit(
            data,
            validation_data=val,
            epochs=cfg.epochs,
            class_weight=class_weight,
            callbacks=callbacks,
            verbose=2,  # one line per epoch: readable in logs and CI
        )
    best_path.unlink(missing_ok=True)  # the model holds the restored best weights
    return model, len(history.history.get("loss", []))


def _average(members: list[Any], size: tuple[int, int], arch: str) -> Any:
    """One model whose output is the mean of the members' probabilities: a
    single graph, so export, parity and serving treat it like any model."""
    import keras
    from keras import layers

    inputs = keras.Input((*size, 3), name="image")
    outputs = layers.Average(name="probabilities")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name=f"{arch}_x{len(members)}")
