#!/usr/bin/env python3
"""Plot the learning curves of a distmf tune search: validation metric against iterations.

    python3 scripts/plot_tune.py DIR/results.jsonl OUT.png [--title TEXT] [--log-x]
        [--ymax Y] [--ymin Y]

One line per candidate (its longest curve: a later rung's curve extends the earlier one's).
Candidates never promoted are drawn thin and light (dotted when stopped early as hopeless),
promoted ones thicker, and the best one (status "best"; while the search is unfinished, the
best value among the candidates that got furthest) in black, labelled with its settings.
Statuses: "trained" (its rung is not decided yet), "promoted", "stopped" (not promoted),
"hopeless", "final" (trained in a bracket's last rung) and "best".
--log-x spreads the first rungs' few iterations; --ymax/--ymin cut the y axis (the first
iterations' values would otherwise flatten the converged part). OUT is written whole or not at
all. Needs matplotlib (Debian: python3-matplotlib).
"""
import json
import math
import os
import sys
import textwrap

try:
    import matplotlib

    matplotlib.use("Agg")  # no display needed; pyplot is imported once the input is read
except ImportError as missing:  # one line, not a traceback: what is missing, what to run
    fix = ("apt-get install python3-matplotlib"
           if sys.executable == "/usr/bin/python3" else
           f"run it with Debian's Python: /usr/bin/python3 {sys.argv[0]} RESULTS.jsonl OUT.png")
    raise SystemExit(f"{sys.argv[0]}: {missing.name} is missing for {sys.executable}: {fix}")

LOWER_IS_BETTER = {"rmse": True, "mae": True, "ndcg": False, "precision": False,
                   "recall": False, "map": False, "auc": False}
STATUSES = ("trained", "promoted", "stopped", "hopeless", "final", "best")
FIELDS = ("candidate", "rung", "settings", "metric", "value", "status", "curve")


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_record(record, where):
    """Raises a one-line SystemExit unless record is a tune result with usable fields."""
    if not isinstance(record, dict):
        raise SystemExit(f"{where}: not a distmf tune result (not a JSON object)")
    for field in FIELDS:
        if field not in record:
            raise SystemExit(f"{where}: not a distmf tune result (no {field})")
    for field in ("candidate", "rung", "bracket"):
        if field in record and not (isinstance(record[field], int) and
                                    not isinstance(record[field], bool)):
            raise SystemExit(f"{where}: {field} is not a whole number")
    if record["metric"] not in LOWER_IS_BETTER:
        raise SystemExit(f"{where}: unknown metric '{record['metric']}' (expected one of "
                         f"{', '.join(LOWER_IS_BETTER)})")
    if record["status"] not in STATUSES:
        raise SystemExit(f"{where}: unknown status '{record['status']}' (expected one of "
                         f"{', '.join(STATUSES)})")
    if not isinstance(record["settings"], dict):
        raise SystemExit(f"{where}: settings is not a JSON object")
    if record["value"] is not None and not is_number(record["value"]):
        raise SystemExit(f"{where}: value is not a number")
    curve = record["curve"]
    if not isinstance(curve, list) or not all(
            isinstance(point, list) and len(point) == 2 and is_number(point[0]) and
            (point[1] is None or is_number(point[1])) for point in curve):
        raise SystemExit(f"{where}: curve is not a list of [iteration, value] pairs")


def read_results(path):
    """The records of a results.jsonl, in file order, each checked; one metric for all."""
    records = []
    try:
        lines = open(path, encoding="utf-8")
    except OSError as error:
        raise SystemExit(f"{path}: cannot read ({error.strerror})")
    with lines:
        number = 0
        try:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line.rstrip())
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{path}:{number}: not JSON "
                                     f"({error.msg} at column {error.colno})")
                check_record(record, f"{path}:{number}")
                if records and record["metric"] != records[0][1]["metric"]:
                    raise SystemExit(f"{path}:{number}: metric '{record['metric']}' differs "
                                     f"from line {records[0][0]}'s '{records[0][1]['metric']}'")
                records.append((number, record))
        except UnicodeDecodeError:
            raise SystemExit(f"{path}:{number + 1}: not UTF-8 text")
        except OSError as error:  # a read error after a successful open()
            raise SystemExit(f"{path}: cannot read ({error.strerror})")
    if not records:
        raise SystemExit(f"{path}: no results (an empty file)")
    return [record for _, record in records]


class Candidate:
    """One candidate's longest curve, whether it was ever promoted, and how its runs ended."""

    def __init__(self, record):
        self.name = f"candidate {record['candidate']}"
        self.settings = record["settings"]
        self.curve = []
        self.promoted = False
        self.best = False
        self.hopeless = False
        self.value = None

    def add(self, record):
        if len(record["curve"]) >= len(self.curve):
            self.curve = record["curve"]
        self.promoted |= record["status"] in ("promoted", "best")
        self.best |= record["status"] == "best"
        self.hopeless |= record["status"] == "hopeless"
        if record["value"] is not None:
            self.value = record["value"]


def candidates_of(records):
    """Candidates keyed by (bracket, candidate): ids may restart in each Hyperband bracket."""
    candidates = {}
    for record in records:
        key = (record.get("bracket", 0), record["candidate"])
        if key not in candidates:
            candidates[key] = Candidate(record)
        candidates[key].add(record)
    if len({bracket for bracket, _ in candidates}) > 1:
        for (bracket, _), candidate in candidates.items():
            candidate.name = f"bracket {bracket}, {candidate.name}"
    return list(candidates.values())


def best_of(candidates, lower_is_better):
    """The candidate marked best; in an unfinished search, the best value of those that got
    furthest (most iterations), hopeless ones left out; None when no candidate qualifies."""
    marked = [candidate for candidate in candidates if candidate.best]
    if marked:
        return marked[-1], "best"
    valued = [c for c in candidates if not c.hopeless and c.curve and c.value is not None and
              math.isfinite(c.value)]
    if not valued:
        return None, None
    furthest = max(c.curve[-1][0] for c in valued)
    valued = [c for c in valued if c.curve[-1][0] == furthest]
    pick = min if lower_is_better else max
    return pick(valued, key=lambda c: c.value), "best so far"


def settings_text(settings):
    """The settings as "name = value, ...", wrapped to fit the legend."""
    text = ", ".join(f"{name} = {value}" for name, value in settings.items())
    return textwrap.fill(text, 70) if text else "the base configuration"


def value_text(metric, value):
    return "" if value is None else f", {metric} {value:.4g}"


KINDS = {  # how a candidate other than the best is drawn, and its legend entry
    "promoted": (dict(color="tab:orange", linewidth=1.8, alpha=0.8), "promoted"),
    "stopped": (dict(color="tab:blue", linewidth=0.8, alpha=0.35), "not promoted"),
    "hopeless": (dict(color="tab:red", linewidth=0.8, alpha=0.5, linestyle=":", marker="x",
                      markersize=4),
                 "stopped early (hopeless)"),
}


def kind_of(candidate):
    if candidate.promoted:
        return "promoted"
    return "hopeless" if candidate.hopeless else "stopped"


def draw(candidates, metric, axes):
    """Draws every candidate's curve on axes; the best last, on top, with its settings."""
    best, best_word = best_of(candidates, LOWER_IS_BETTER[metric])
    others = [c for c in candidates if c is not best and c.curve]
    for kind, (style, label) in KINDS.items():
        of_kind = [candidate for candidate in others if kind_of(candidate) == kind]
        for index, candidate in enumerate(of_kind):
            axes.plot(*curve_xy(candidate.curve), **style,
                      label=f"{label} ({len(of_kind)})" if index == 0 else None)
    if best is not None and best.curve:
        axes.plot(*curve_xy(best.curve), "o-", color="black", linewidth=2.5, markersize=3,
                  zorder=3, label=f"{best_word}: {best.name}{value_text(metric, best.value)}\n"
                                  f"{settings_text(best.settings)}")
    axes.legend(fontsize="small")


def curve_xy(curve):
    """The iterations and values of a curve; a null value (diverged) becomes a gap."""
    return ([point[0] for point in curve],
            [float("nan") if point[1] is None else point[1] for point in curve])


def parse_arguments(argv):
    options = {"title": None, "log_x": False, "ymax": None, "ymin": None}
    positional = []
    rest = iter(argv[1:])
    for argument in rest:
        if argument in ("--title", "--ymax", "--ymin"):
            value = next(rest, None)
            if value is None:
                raise SystemExit(f"{argument} needs a value")
            if argument == "--title":
                options["title"] = value
                continue
            try:
                options[argument[2:]] = float(value)
            except ValueError:
                raise SystemExit(f"{argument} {value}: not a number")
        elif argument == "--log-x":
            options["log_x"] = True
        elif argument.startswith("--"):
            raise SystemExit(f"unknown option {argument}\n{__doc__}")
        else:
            positional.append(argument)
    if len(positional) != 2 or not positional[1].endswith(".png"):
        raise SystemExit(__doc__)
    return positional[0], positional[1], options


def save(figure, target):
    """Writes target.tmp, then renames it: target is complete or left as it was."""
    temporary = target + ".tmp"
    try:
        figure.savefig(temporary, dpi=110, format="png")
        os.replace(temporary, target)
    except OSError as error:
        if os.path.isfile(temporary):
            os.remove(temporary)
        raise SystemExit(f"{target}: cannot write ({error.strerror})")


def main(argv):
    source, target, options = parse_arguments(argv)
    records = read_results(source)
    metric = records[0]["metric"]
    candidates = candidates_of(records)
    import matplotlib.pyplot as plt  # the slow import, after the checks of the input
    import matplotlib.ticker

    figure, axes = plt.subplots(figsize=(9, 5.5))
    draw(candidates, metric, axes)
    axes.set_xlabel("iteration")
    direction = "lower" if LOWER_IS_BETTER[metric] else "higher"
    axes.set_ylabel(f"validation {metric.upper()} ({direction} is better)")
    if options["log_x"]:  # ticks at the ends of the rungs, as plain numbers
        axes.set_xscale("log")
        axes.set_xticks(sorted({1} | {r["curve"][-1][0] for r in records if r["curve"]}))
        axes.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if options["ymax"] is not None:
        axes.set_ylim(top=options["ymax"])
    if options["ymin"] is not None:
        axes.set_ylim(bottom=options["ymin"])
    promoted = sum(candidate.promoted for candidate in candidates)
    axes.set_title(options["title"] or f"distmf tune: {len(candidates)} candidates, "
                                       f"{promoted} promoted ({source})", fontsize="medium")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    save(figure, target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv)
