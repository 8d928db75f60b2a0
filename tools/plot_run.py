#!/usr/bin/env python3
"""Plot the training curves of one or more ViTLab runs from their metrics.h5 files.

Usage:
    python3 tools/plot_run.py RUN [RUN ...] [-o OUT.png] [--smooth N] [--title T]

Each RUN is a run directory (runs/<name>, holding metrics.h5) or the path of a metrics.h5.
The figure has three panels: training loss, learning rate and validation metrics (mIoU/mAcc/aAcc
in percent for segmentation, top1/top5 for classification), each against the iteration. Several
runs overlay, labelled by the file's "name" attribute or else the run directory's name.
--smooth N adds an N-point moving average of the loss (default 1: raw curve only).
The PNG goes to OUT.png, by default <first run dir>/curves.png; its path is printed.

Errors (missing or unreadable file, no /train/loss, missing h5py/matplotlib) print one line on
stderr and exit with status 2. Needs h5py and matplotlib: pip install -r tools/requirements.txt
"""
import argparse
import os
import sys

SEG_METRICS = ("mIoU", "mAcc", "aAcc")
CLS_METRICS = ("top1", "top5")
METRIC_STYLES = {"mIoU": "-o", "mAcc": "--s", "aAcc": ":^", "top1": "-o", "top5": "--s"}


def fail(message):
    print(f"plot_run: {message}", file=sys.stderr)
    sys.exit(2)


def metrics_path(run):
    """The metrics.h5 of a run directory or the file itself; fails if it does not exist."""
    if run.endswith(".h5"):
        if not os.path.isfile(run):
            fail(f"no such file: {run}: check the path (a run directory or its metrics.h5)")
        return run
    path = os.path.join(run, "metrics.h5")
    if not os.path.isfile(path):
        fail(f"no metrics.h5 in {run}: has the run started? (give a run directory or a metrics.h5 path)")
    return path


def read_run(path):
    """Reads the series of one metrics file into plain numpy arrays (None for missing ones)."""
    if not h5py.is_hdf5(path):
        fail(f"{path} is not an HDF5 file: give the metrics.h5 a ViTLab run wrote")
    try:
        with h5py.File(path, "r") as f:
            def get(key):
                return f[key][()] if key in f and isinstance(f[key], h5py.Dataset) else None
            name = f.attrs.get("name")
            if "train/loss" not in f:
                fail(f"{path} has no /train/loss: is it a ViTLab metrics file? (h5dump -n {path} lists its contents)")
            train = {k: get("train/" + k) for k in ("iter", "loss", "lr")}
            val = {k: get("val/" + k) for k in ("iter",) + SEG_METRICS + CLS_METRICS}
    except (OSError, KeyError) as e:
        fail(f"cannot read {path}: {e}: if the run is writing it right now, try again in a moment")
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    if not name:
        run_dir = os.path.dirname(os.path.abspath(path))
        name = os.path.basename(run_dir)
    return {"name": str(name), "train": align(train, "loss"), "val": align(val, None)}


def align(series, required):
    """Trims a group's series to a common length (a live run may have appended some, not all)
    and fills in a missing iteration axis with 0, 1, 2, ..."""
    present = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in series.items() if v is not None}
    if not present or (required and required not in present):
        return {}
    n = min(len(v) for v in present.values())
    out = {k: v[:n] for k, v in present.items()}
    out.setdefault("iter", np.arange(n, dtype=np.float64))
    return out if n > 0 else {}


def moving_average(x, y, n):
    if n <= 1 or len(y) < n:
        return None
    return x[n - 1:], np.convolve(y, np.ones(n) / n, mode="valid")


def empty(ax, text):
    ax.set(xticks=[], yticks=[])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.45", fontsize=12)


def plot(runs, out, smooth, title):
    fig, (ax_loss, ax_lr, ax_val) = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    many = len(runs) > 1
    lrs, any_val = [], False
    for i, run in enumerate(runs):
        color = colors[i % len(colors)]
        train, val = run["train"], run["val"]
        if "loss" in train:
            x, y = train["iter"], train["loss"]
            smoothed = moving_average(x, y, smooth)
            ax_loss.plot(x, y, color=color, lw=0.8, alpha=0.35 if smoothed else 1.0,
                         label=None if smoothed else run["name"])
            if smoothed:
                ax_loss.plot(*smoothed, color=color, lw=1.8, label=f"{run['name']} (mean of {smooth})")
        if "lr" in train:
            ax_lr.plot(train["iter"], train["lr"], color=color, lw=1.4, label=run["name"])
            lrs.append(train["lr"])
        metrics = [m for m in SEG_METRICS + CLS_METRICS if m in val]
        for j, m in enumerate(metrics):
            y = val[m] * 100
            label = f"{run['name']} {m}" if many else m
            if m in ("mIoU", "top1") and np.isfinite(y).any():
                best = int(np.nanargmax(y))
                label += f" (best {y[best]:.2f} @ {int(val['iter'][best])})"
            ax_val.plot(val["iter"], y, METRIC_STYLES[m], color=color if many else colors[j], ms=4, lw=1.3, label=label)
            any_val = True

    ax_loss.set(title="training loss", xlabel="iteration", ylabel="loss")
    ax_lr.set(title="learning rate", xlabel="iteration", ylabel="lr")
    ax_val.set(title="validation", xlabel="iteration", ylabel="metric (%)")
    if not any("loss" in r["train"] for r in runs):
        empty(ax_loss, "no training steps yet")
    if not lrs:
        empty(ax_lr, "no learning rate logged")
    else:
        values = np.concatenate(lrs)
        values = values[np.isfinite(values)]
        if len(values) and values.min() > 0 and values.max() / values.min() > 10:
            ax_lr.set_yscale("log")
    if not any_val:
        empty(ax_val, "no validation yet")
    for ax in (ax_loss, ax_lr, ax_val):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title or ", ".join(r["name"] for r in runs))
    try:
        fig.savefig(out, dpi=110)
    except OSError as e:
        fail(f"cannot write {out}: {e.strerror or e}: check that its directory exists and is writable")


def main():
    parser = argparse.ArgumentParser(description="Plot loss, learning rate and validation curves of ViTLab runs.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directory (runs/<name>) or metrics.h5 path")
    parser.add_argument("-o", "--output", metavar="OUT.png", help="output PNG (default: <first run dir>/curves.png)")
    parser.add_argument("--smooth", type=int, default=1, metavar="N", help="moving average of the loss over N points")
    parser.add_argument("--title", help="figure title (default: the run names)")
    args = parser.parse_args()
    if args.smooth < 1:
        fail(f"--smooth must be at least 1, got {args.smooth}")

    global h5py, np, plt
    # A running job keeps metrics.h5 open for writing; HDF5's file lock would refuse this reader.
    os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
    try:
        import h5py
        import numpy as np
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        fail(f"{e}: install the plotting dependencies with: pip install -r tools/requirements.txt")

    paths = [metrics_path(run) for run in args.runs]
    out = args.output or os.path.join(os.path.dirname(paths[0]) or ".", "curves.png")
    plot([read_run(p) for p in paths], out, args.smooth, args.title)
    print(out)


if __name__ == "__main__":
    main()
