#!/usr/bin/env python3
"""Writes the training part of distmf's per-user hold-out (--data.split per-user) of a ratings
file: the same ratings `distmf train --data.split per-user --data.test-fraction F
--data.seed S` trains on, with the held-out ones removed. Tune hyper-parameters on a per-user
split of this file (another seed): the final test ratings then play no part in the tuning.

Usage: per_user_train_part.py IN OUT [--fraction 0.2] [--seed 42]
IN: `user<sep>item<sep>value[...]` lines (tab or comma; a header line is copied).
"""
import argparse
import math
from collections import defaultdict

MASK = (1 << 64) - 1
PER_USER_STREAM = 0x7065722D75736572  # dataset.cpp: per_user_stream


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def hash_keys(seed, a, b=0, c=0):
    return mix64(mix64(mix64(mix64(seed) ^ a) ^ b) ^ c)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    lines = open(args.input, newline="").read().splitlines(keepends=True)
    header = [] if lines[0].split("\t")[0].split(",")[0].strip().isdigit() else [lines.pop(0)]
    by_user = defaultdict(list)
    for line in lines:
        fields = line.replace(",", "\t").split("\t")
        if len(fields) >= 2 and fields[0].strip():
            by_user[int(fields[0])].append((int(fields[1]), line))
    seed = hash_keys(args.seed, PER_USER_STREAM)
    kept = []
    for user, entries in by_user.items():
        n = len(entries)
        n_test = min(n - 1, int(math.floor(args.fraction * n + 0.5)))
        # The held-out items: the n_test smallest hash(seed, user, item).
        ranked = sorted(entries, key=lambda e: hash_keys(seed, user, e[0]))
        held = {item for item, _ in ranked[:n_test]}
        kept.extend(line for item, line in entries if item not in held)
    with open(args.output, "w", newline="") as out:
        out.writelines(header + kept)


if __name__ == "__main__":
    main()
