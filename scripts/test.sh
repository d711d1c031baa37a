#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting check, Release build + every test (unit, MPI
# under 1/2/4 ranks, CLI end to end, the Slurm scripts on a single-node cluster), then the
# sanitizer build (ASan + UBSan) running the unit and MPI tests. Tests that need the real data
# sets read DISTMF_DATA_DIR (skipped when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
stage() { echo "== $1 ($((SECONDS - started)) s so far)"; }
source scripts/mpi-env.sh
stage "clang-format"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror
stage "release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release
stage "sanitizer build (ASan + UBSan) and unit/MPI tests"
cmake --preset asan >/dev/null
cmake --build --preset asan --target unit_tests mpi_tests
ctest --preset asan
echo "test.sh: all passed in $((SECONDS - started)) s"
