#!/usr/bin/env python3
"""Collects the results of a sweep run by slurm/sweep.sbatch into one table, best first.

    python3 slurm/collect_sweep.py sweep-<array job id>

One row per task folder (task-<i>/): its setting (rank, lambda), the last iteration in its
metrics.jsonl with that iteration's test RMSE and MAE, and whether the task has finished (its
model.h5 exists). Rows are sorted by test RMSE, lowest first; tasks without a test RMSE yet come
last. (With --train.patience the model is that of the best iteration, not the last one shown.)
Only the Python standard library is used.
"""
import json
import math
import pathlib
import sys


def task_row(folder):
    """One table row for a task folder, or None if it is not a sweep task."""
    setting = folder / "setting"
    if not setting.is_file():
        return None
    rank, lam = setting.read_text().split()
    row = {"task": folder.name.removeprefix("task-"), "rank": rank, "lambda": lam,
           "iterations": "-", "rmse": math.nan, "mae": math.nan}
    metrics = folder / "metrics.jsonl"
    lines = metrics.read_text().splitlines() if metrics.is_file() else []
    if lines:
        last = json.loads(lines[-1])
        row["iterations"] = str(last["iteration"])
        # null without a test set
        row["rmse"] = math.nan if last.get("test_rmse") is None else last["test_rmse"]
        row["mae"] = math.nan if last.get("test_mae") is None else last["test_mae"]
    row["status"] = "finished" if (folder / "model.h5").is_file() else "unfinished"
    return row


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: collect_sweep.py sweep-<array job id>")
    sweep = pathlib.Path(argv[1])
    rows = [row for folder in sweep.glob("task-*") if (row := task_row(folder))]
    if not rows:
        sys.exit(f"collect_sweep: no task folders with a setting in {sweep}")
    rows.sort(key=lambda r: (math.isnan(r["rmse"]), r["rmse"], int(r["task"])))
    print(f"{'task':>4}  {'rank':>4}  {'lambda':>8}  {'iterations':>10}  {'test RMSE':>9}  "
          f"{'test MAE':>8}  status")
    for r in rows:
        print(f"{r['task']:>4}  {r['rank']:>4}  {r['lambda']:>8}  {r['iterations']:>10}  "
              f"{r['rmse']:>9.4f}  {r['mae']:>8.4f}  {r['status']}")


if __name__ == "__main__":
    main(sys.argv)
