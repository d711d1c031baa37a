#!/usr/bin/env python3
"""Plot a distmf metrics file (JSON lines) as train/test RMSE per iteration.

    python3 scripts/plot_metrics.py METRICS.jsonl [OUT.png]

Needs matplotlib (Debian: python3-matplotlib). Writes OUT.png (default: METRICS.png).
"""
import json
import sys

try:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
except ImportError as missing:  # one line, not a traceback: what is missing, what to run
    fix = ("apt-get install python3-matplotlib"
           if sys.executable == "/usr/bin/python3" else
           f"run it with Debian's Python: /usr/bin/python3 {sys.argv[0]} METRICS.jsonl [OUT.png]")
    raise SystemExit(f"{sys.argv[0]}: {missing.name} is missing for {sys.executable}: {fix}")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    source = argv[1]
    target = argv[2] if len(argv) > 2 else source.rsplit(".", 1)[0] + ".png"
    records = []
    with open(source) as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{source}:{number}: not JSON ({error})")
    if not records:
        raise SystemExit(f"{source}: no metrics")
    iterations = [r["iteration"] for r in records]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.plot(iterations, [r["train_rmse"] for r in records], "o-", label="train RMSE")
    test = [r["test_rmse"] for r in records]
    if any(value is not None for value in test):
        axes.plot(iterations, [float("nan") if v is None else v for v in test], "s-",
                  label="test RMSE")
    axes.set_xlabel("iteration")
    axes.set_ylabel("RMSE")
    axes.set_title(source)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=120)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv)
