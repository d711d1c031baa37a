#!/usr/bin/env bash
# slurm/tune.sbatch on a real single-node Slurm cluster that this test brings up and takes down:
#   a) srun, uninterrupted: the search finishes in tune-<job id> (results.jsonl, results.csv,
#      best.ini), the closing line counts its results, and scripts/plot_tune.py draws them;
#   b) mpirun, `scancel --signal=USR1 --batch` once the first results are in: distmf saves the
#      search and exits 75, the job requeues itself, the rerun continues the search and finishes
#      with the same results and best settings as a) (the search is deterministic);
#   c) srun, plain `scancel` (SIGTERM) once the first results are in: saved, not requeued;
#   d) a space file with an unknown option: the job fails with exit 2, not requeued.
# The jobs find distmf-job.sh as a user's jobs do (no DISTMF_SLURM_DIR: from Slurm's Command=).
# Prints "SKIPPED: ..." and exits 77 when it cannot run a cluster (not root, no packages).
#
# Usage: tune_slurm_test.sh DISTMF_BINARY SOURCE_DIR
# DISTMF_SLURM_TEST_KEEP=1 keeps the temporary folder (daemon logs, job outputs) afterwards.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
# Everything below ends by 230 s, and the cleanup takes at most about 50 s: well inside CTest's
# TIMEOUT of 300 s, so that the daemons are always stopped by us, not left behind by a kill.
deadline=230
harness_start "tune slurm test" "$1" "$2" 4
export DISTMF=$distmf
"$distmf" tune --help >/dev/null 2>&1 || fail "$distmf has no tune command"

"$distmf" generate --users 4000 --items 1500 --ratings 200000 --rank 8 --noise 0.5 --seed 3 \
    --out ratings.tsv >/dev/null
cat >base.ini <<'EOF'
[data]
train = ratings.tsv
test-fraction = 0.1
[model]
lambda = 0.05
EOF
cat >space.ini <<'EOF'
# the space of the test: 3 ranks x a range of lambda
[model]
rank = 4, 8, 16
lambda = log-range(0.01, 0.5)
EOF
printf '[model]\nno-such-option = 1, 2\n' >bad-space.ini
tune=$source_dir/slurm/tune.sbatch
options=(--tune.max-iterations 9)
submit() { sbatch --parsable "$@"; }

job_a=$(submit -n 2 -o a.out "$tune" base.ini space.ini "${options[@]}")
job_b=$(LAUNCHER=mpirun submit -n 2 -o b.out "$tune" base.ini space.ini "${options[@]}")
job_c=$(submit -n 1 -o c.out "$tune" base.ini space.ini "${options[@]}")
job_d=$(submit -n 1 -o d.out "$tune" base.ini bad-space.ini "${options[@]}")
echo "submitted: a=$job_a b=$job_b c=$job_c d=$job_d"

# USR1 to b's batch script, and a plain scancel of c, once their search has its first results.
has_results() { [ -s "tune-$1/results.jsonl" ]; }
signalled_b='' cancelled_c=''
while [ -z "$signalled_b" ] || [ -z "$cancelled_c" ]; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for the searches to get going"
    [ -n "$signalled_b" ] || ! gone "$job_b" || fail "job b ended before it could be signalled"
    [ -n "$cancelled_c" ] || ! gone "$job_c" || fail "job c ended before it could be cancelled"
    if [ -z "$signalled_b" ] && has_results "$job_b"; then
        scancel --signal=USR1 --batch "$job_b"
        signalled_b=1 && echo "USR1 to job b's batch script at $SECONDS s"
    fi
    if [ -z "$cancelled_c" ] && has_results "$job_c"; then
        scancel "$job_c"
        cancelled_c=1 && echo "scancel of job c at $SECONDS s"
    fi
    sleep 0.1
done
wait_for_all_jobs "$deadline"

says() { has "$1" "^tune.sbatch: job [0-9]+ $2"; }  # the batch script's own lines
rows() { grep -c . "tune-$1/results.jsonl"; }
# results.jsonl without its timings (which differ from run to run), sorted (groups of ranks may
# finish their candidates in another order), and best.ini without its comments
rows_without_seconds() { sed -E 's/"seconds": [^,}]*//' "tune-$1/results.jsonl" | sort; }
best_settings() { grep -vE '^[[:space:]]*([#;]|$)' "tune-$1/best.ini"; }
same_search() {
    cmp -s <(rows_without_seconds "$1") <(rows_without_seconds "$2") &&
        cmp -s <(best_settings "$1") <(best_settings "$2")
}

echo "== a) srun, uninterrupted"
check "job a completed" [ "$(field "$job_a" JobState)" = COMPLETED ]
check "job a ran with srun" says a.out 'run 1 on .* launcher srun, search in tune-[0-9]+'
check "distmf said what it found" has a.out '^tune: best '
check "distmf said it finished" has a.out '^tune: finished'
for file in results.jsonl results.csv best.ini; do
    check "job a wrote tune-$job_a/$file" [ -s "tune-$job_a/$file" ]
done
check "job a's closing line counts the results" \
    says a.out "finished with $(rows "$job_a") results \(exit 0\); best settings in tune-$job_a/"
python=$(for candidate in /usr/bin/python3 python3; do
    "$candidate" -c 'import matplotlib' 2>/dev/null && echo "$candidate" && break
done || true)
if [ -n "$python" ]; then
    check "plot_tune.py draws job a's results" \
        "$python" "$source_dir/scripts/plot_tune.py" "tune-$job_a/results.jsonl" a.png
    check "the plot is a PNG" [ "$(head -c 4 a.png | tail -c 3)" = PNG ]
else
    echo "skipped: plot_tune.py (no Python with matplotlib)"
fi

echo "== b) mpirun, scancel --signal=USR1 --batch"
check "job b completed" [ "$(field "$job_b" JobState)" = COMPLETED ]
check "job b was requeued once" [ "$(field "$job_b" Restarts)" = 1 ]
check "job b ran with mpirun" says b.out 'run 1 on .* launcher mpirun'
check "the batch script passed USR1 on" has b.out '^tune.sbatch: got SIGUSR1'
check "distmf saved the search and stopped" has b.out '^tune: stopped by signal 10'
check "job b requeued itself" \
    says b.out "requeued with [0-9]+ results \(exit 75\); the next run continues .* tune-$job_b"
check "job b ran a second time in the same folder" says b.out "run 2 on .* search in tune-$job_b"
check "job b finished" says b.out "finished with $(rows "$job_b") results \(exit 0\)"
check "the continued search has a)'s results and best settings" same_search "$job_a" "$job_b"

echo "== c) srun, scancel (SIGTERM)"
check "job c is cancelled" [ "$(field "$job_c" JobState)" = CANCELLED ]
check "job c was not requeued" [ "$(field "$job_c" Restarts)" = 0 ]
check "job c's batch script got SIGTERM" has c.out '^tune.sbatch: got SIGTERM'
check "distmf saved the search on SIGTERM" has c.out '^tune: stopped by signal 15'
not_requeued="not requeued by this script; a job with --tune.dir tune-$job_c continues"
check "job c says it was not requeued" \
    says c.out "stopped with [0-9]+ results by SIGTERM \(exit 75\), $not_requeued"

echo "== d) a bad space file"
check "job d failed" [ "$(field "$job_d" JobState)" = FAILED ]
check "job d's exit code is 2" [ "$(field "$job_d" ExitCode)" = 2:0 ]
check "job d was not requeued" [ "$(field "$job_d" Restarts)" = 0 ]
check "distmf named the bad line" has d.out "bad-space.ini', line 2"
# (from --print-config if it reads the space file, else from the search)
check "job d's closing line says it failed" \
    says d.out 'failed(: no configuration from .*| with 0 results) \(exit 2\)'
