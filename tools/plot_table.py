#!/usr/bin/env python3
"""Plot a ViTLab table (the JSON of `runexp table --format json`): a metric against a cost
(mIoU against FLOPs by default), the paper's points beside ours, with each side's Pareto
front (the points no other point beats on both: lower cost and higher metric).

    runexp table experiments/seaformer/tables/table2_ade20k.yaml --format json --output t2.json
    python3 tools/plot_table.py t2.json --x flops --y miou --output t2.png

Prints one line per plotted point (`side row x y`) and the fronts, so scripts and tests can
check what was drawn without reading the image.
"""
import argparse
import json
import sys


def points(table, x, y, side):
    """(row id, label, x, y) of rows whose cell has both values on `side` (ours: the mean)."""
    out = []
    for row in table["rows"]:
        cx, cy = row["cells"].get(x), row["cells"].get(y)
        if cx is None or cy is None:
            continue
        key = "mean" if side == "ours" else "paper"
        vx, vy = cx.get(key), cy.get(key)
        # The x of one side falls back to the other's when it has none: ours has no latency
        # (paper only), and a paper table that printed no FLOPs (Table 11) still places its
        # points at the FLOPs ViTLab counted for the same model.
        if vx is None:
            vx = cx.get("paper" if side == "ours" else "mean")
        if vx is None or vy is None:
            continue
        out.append((row["id"], row["label"], float(vx), float(vy)))
    return out


def pareto(pts):
    """Rows on the front: sorted by cost, each with a higher metric than every cheaper one."""
    front, best = [], float("-inf")
    for p in sorted(pts, key=lambda p: (p[2], -p[3])):
        if p[3] > best:
            front.append(p)
            best = p[3]
    return front


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("table", help="JSON written by runexp table --format json")
    ap.add_argument("--x", default="flops", help="cost column id (flops, params, latency)")
    ap.add_argument("--y", default="miou", help="metric column id (miou, macc, top1)")
    ap.add_argument("--output", help="PNG to write (default: <table>.png)")
    a = ap.parse_args(argv)
    with open(a.table) as f:
        table = json.load(f)
    ids = [c["id"] for c in table["columns"]]
    for col in (a.x, a.y):
        if col not in ids:
            print(f"error: the table has no column '{col}'; columns: {', '.join(ids)}", file=sys.stderr)
            return 2
    headers = {c["id"]: c["header"] for c in table["columns"]}
    sides = {"paper": points(table, a.x, a.y, "paper"), "ours": points(table, a.x, a.y, "ours")}
    if not sides["paper"] and not sides["ours"]:
        print(f"error: no row has both {a.x} and {a.y}", file=sys.stderr)
        return 1

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    style = {"paper": dict(marker="o", color="tab:gray"), "ours": dict(marker="^", color="tab:red")}
    for side, pts in sides.items():
        if not pts:
            continue
        ax.scatter([p[2] for p in pts], [p[3] for p in pts], label=f"{side} ({table['profile']})" if side == "ours" else side, **style[side])
        front = pareto(pts)
        ax.plot([p[2] for p in front], [p[3] for p in front], linestyle="--", color=style[side]["color"], linewidth=1)
        for p in pts:
            print(f"{side} {p[0]} {p[2]:g} {p[3]:g}")
            ax.annotate(p[1], (p[2], p[3]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        print(f"{side} pareto: {' '.join(p[0] for p in front)}")
    ax.ticklabel_format(axis="x", useOffset=False)  # near-equal costs (Table 11) otherwise print as an offset
    ax.set_xlabel(headers[a.x])
    ax.set_ylabel(headers[a.y])
    ax.set_title(table["title"], fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    out = a.output or a.table.rsplit(".", 1)[0] + ".png"
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
