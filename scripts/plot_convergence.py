#!/usr/bin/env python3
"""Plot test RMSE (or another metric) against wall seconds for several distmf runs.

    python3 scripts/plot_convergence.py OUT.png LABEL=METRICS.jsonl [LABEL=METRICS.jsonl ...]
        [--metric test_rmse] [--title TEXT] [--ymax Y]

Each METRICS.jsonl is a run's --output.metrics file; its "elapsed_seconds" (wall time since
the run started, ingest included) is the x axis, so curves compare launch-to-model time.
Records without the metric (null: not evaluated) are skipped; --ymax cuts the y axis (the
first iterations' values would otherwise flatten the converged part). Needs matplotlib (Debian:
python3-matplotlib).
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
           f"run it with Debian's Python: /usr/bin/python3 {sys.argv[0]} OUT.png LABEL=FILE ...")
    raise SystemExit(f"{sys.argv[0]}: {missing.name} is missing for {sys.executable}: {fix}")


def read_run(path, metric):
    """The (elapsed seconds, metric) points of one metrics file, in file order."""
    points = []
    try:
        lines = open(path)
    except OSError as error:
        raise SystemExit(f"{path}: cannot read ({error.strerror})")
    with lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise SystemExit(f"{path}:{number}: not JSON ({error})")
            if not isinstance(record, dict) or "elapsed_seconds" not in record:
                raise SystemExit(f"{path}:{number}: not a distmf metrics record "
                                 "(no elapsed_seconds)")
            value = record.get(metric)
            if value is not None:
                points.append((record["elapsed_seconds"], value))
    if not points:
        raise SystemExit(f"{path}: no record has {metric}")
    return points


def main(argv):
    metric = "test_rmse"
    title = None
    ymax = None
    positional = []
    rest = iter(argv[1:])
    for argument in rest:
        if argument in ("--metric", "--title", "--ymax"):
            value = next(rest, None)
            if value is None:
                raise SystemExit(f"{argument} needs a value")
            if argument == "--metric":
                metric = value
            elif argument == "--title":
                title = value
            else:
                try:
                    ymax = float(value)
                except ValueError:
                    raise SystemExit(f"--ymax {value}: not a number")
        elif argument.startswith("--"):
            raise SystemExit(f"unknown option {argument}\n{__doc__}")
        else:
            positional.append(argument)
    if len(positional) < 2 or not positional[0].endswith(".png"):
        raise SystemExit(__doc__)
    target, runs = positional[0], positional[1:]
    figure, axes = plt.subplots(figsize=(8, 5))
    for run in runs:
        label, separator, path = run.partition("=")
        if not separator or not label or not path:
            raise SystemExit(f"'{run}': expected LABEL=METRICS.jsonl")
        points = read_run(path, metric)
        axes.plot([p[0] for p in points], [p[1] for p in points], ".-", label=label)
    axes.set_xlabel("wall seconds since launch (ingest included)")
    axes.set_ylabel(metric.replace("_", " ").replace("rmse", "RMSE").replace("mae", "MAE")
                    .replace("ndcg", "NDCG"))
    if ymax is not None:
        axes.set_ylim(top=ymax)
    if title:
        axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv)
