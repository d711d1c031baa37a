#!/usr/bin/env bash
# The Slurm scripts on a real single-node Slurm cluster that this test brings up and takes down:
#   a) train.sbatch with srun: trains, writes the model (checked with distmf inspect);
#   b) train.sbatch with mpirun, `scancel --signal=USR1 --batch` mid-run: checkpoint, exit 75,
#      self-requeue, resume from that checkpoint, finish; factors bitwise equal to a)'s;
#   c) train.sbatch with srun, --time=1 --signal=B:USR1@25: Slurm's own time-limit warning leads
#      to the same checkpoint, requeue and resume (the test then cuts the run short);
#   d) train.sbatch with srun, plain `scancel` (SIGTERM): checkpoint, no requeue;
#   e) sweep.sbatch as a 3-task array, then collect_sweep.py: 3 finished rows, best RMSE first.
# Prints "SKIPPED: ..." and exits 77 when it cannot run a cluster (not root, no packages).
# Job a) finds distmf-job.sh as a user's job does (no DISTMF_SLURM_DIR: from Slurm's Command=).
#
# Usage: slurm_test.sh DISTMF_BINARY SOURCE_DIR
# DISTMF_SLURM_TEST_KEEP=1 keeps the temporary folder (daemon logs, job outputs) afterwards.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
# Everything below ends by 230 s, and the cleanup takes at most about 50 s: well inside CTest's
# TIMEOUT of 300 s, so that the daemons are always stopped by us, not left behind by a kill.
deadline=230
harness_start "slurm test" "$1" "$2" 4
export DISTMF=$distmf DISTMF_SLURM_DIR=$source_dir/slurm

"$distmf" generate --users 20000 --items 5000 --ratings 1000000 --rank 8 --noise 0.5 --seed 3 \
    --out ratings.tsv >/dev/null
cat >run.ini <<'EOF'
[data]
train = ratings.tsv
test-fraction = 0.1
[model]
rank = 16
lambda = 0.05
[train]
iterations = 20
EOF
sed 's/^iterations = 20$/iterations = 1000/' run.ini >c.ini  # c) runs until it is warned
printf '# rank lambda\n4 0.05\n\n8 0.1\n16 0.05\n' >settings.txt
submit() { sbatch --parsable "$@"; }
train=$source_dir/slurm/train.sbatch

# c) first. Slurm looks at time limits every 30 s after slurmctld started and sends the warning
# at the first look with at most lead + 30 s left: about 30 s after this job starts, long before
# its 1000 iterations are done. Once it has requeued itself, the test asks for 5 iterations
# more than its checkpoint holds and lifts the time limit, so that the second run finishes.
job_c=$(submit -n 1 --time=1 --signal=B:USR1@25 -o c.out "$train" c.ini \
    --checkpoint.every 10 --output.model c.h5)
job_a=$(unset DISTMF_SLURM_DIR &&
    submit -n 2 -o a.out "$train" run.ini --output.model a.h5 --output.metrics a.jsonl)
job_b=$(LAUNCHER=mpirun submit -n 2 -o b.out "$train" run.ini --output.model b.h5)
job_d=$(submit -n 2 -o d.out "$train" run.ini --output.model d.h5)
job_e=$(submit --array=1-3 -n 1 -o 'e-%A_%a.out' "$source_dir/slurm/sweep.sbatch" settings.txt \
    run.ini --train.iterations 5)
echo "submitted: a=$job_a b=$job_b c=$job_c d=$job_d e=$job_e (array of 3)"

# Act on the jobs' progress as it comes: USR1 to b's batch script and a plain scancel of d after
# their second iteration; once c has requeued itself, cut it short.
stopped_at() {  # LOG: the iteration distmf's first stop on SIGUSR1 saved
    sed -nE 's/^stopped by signal 10: .* holds ([0-9]+) iteration.*/\1/p' "$1" | head -n 1
}
signalled_b='' cancelled_d='' lifted_c=''
while [ -z "$signalled_b" ] || [ -z "$cancelled_d" ] || [ -z "$lifted_c" ]; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for the jobs to get going"
    [ -n "$signalled_b" ] || ! gone "$job_b" || fail "job b ended before it could be signalled"
    [ -n "$cancelled_d" ] || ! gone "$job_d" || fail "job d ended before it could be cancelled"
    [ -n "$lifted_c" ] || ! gone "$job_c" || fail "job c ended without requeueing itself"
    if [ -z "$signalled_b" ] && grep -q '^iter   2/' b.out 2>/dev/null; then
        scancel --signal=USR1 --batch "$job_b"
        signalled_b=1 && echo "USR1 to job b's batch script at $SECONDS s"
    fi
    if [ -z "$cancelled_d" ] && grep -q '^iter   2/' d.out 2>/dev/null; then
        scancel "$job_d"
        cancelled_d=1 && echo "scancel of job d at $SECONDS s"
    fi
    if [ -z "$lifted_c" ] && grep -q '^train.sbatch: .* requeued at' c.out 2>/dev/null; then
        c_total=$(stopped_at c.out)
        [ -n "$c_total" ] || fail "job c requeued itself, but distmf did not say what it saved"
        c_total=$((c_total + 5))
        sed -i "s/^iterations = 1000$/iterations = $c_total/" c.ini
        scontrol update JobId="$job_c" TimeLimit=10
        lifted_c=1 && echo "job c requeued itself at $SECONDS s; its second run goes to $c_total"
    fi
    sleep 0.1
done
wait_for_all_jobs "$deadline"

says() { has "$1" "^train.sbatch: job [0-9]+ $2"; }  # the batch script's own lines
# The first run stopped after iteration N (0 < N < total) and the second resumed from N.
resumed_where_stopped() {  # LOG TOTAL
    local stopped resumed
    stopped=$(stopped_at "$1")
    resumed=$(sed -nE 's/^resuming from .*: ([0-9]+) iterations? done.*/\1/p' "$1" | head -n 1)
    echo "  $1: stopped after iteration ${stopped:-?}, resumed after ${resumed:-?}, of $2"
    [ -n "$stopped" ] && [ "$stopped" = "$resumed" ] && [ "$stopped" -gt 0 ] &&
        [ "$stopped" -lt "$2" ]
}
model_iteration() { "$distmf" inspect "$1" | sed -nE 's/^iteration +([0-9]+)$/\1/p'; }
has_checkpoint() { compgen -G "$1/checkpoint-*.h5" >/dev/null; }

echo "== a) srun, uninterrupted"
check "job a completed" [ "$(field "$job_a" JobState)" = COMPLETED ]
check "job a ran with srun" says a.out 'run 1 on .* launcher srun'
check "job a says it finished at iteration 20" says a.out 'finished at iteration 20 \(exit 0\)'
check "job a checkpointed to ckpt-$job_a" has_checkpoint "ckpt-$job_a"
check "job a's model holds iteration 20 (distmf inspect)" [ "$(model_iteration a.h5)" = 20 ]
check "job a wrote 20 lines of metrics" [ "$(wc -l <a.jsonl)" -eq 20 ]

echo "== b) mpirun, scancel --signal=USR1 --batch"
check "job b completed" [ "$(field "$job_b" JobState)" = COMPLETED ]
check "job b was requeued once" [ "$(field "$job_b" Restarts)" = 1 ]
check "job b ran with mpirun" says b.out 'run 1 on .* launcher mpirun'
check "the batch script passed USR1 on" has b.out '^train.sbatch: got SIGUSR1'
check "job b checkpointed and requeued itself" says b.out 'requeued at iteration [0-9]+ \(exit 75\)'
check "job b ran a second time" says b.out 'run 2 on '
check "job b's second run resumed where the first stopped" resumed_where_stopped b.out 20
check "job b finished at iteration 20" says b.out 'finished at iteration 20 \(exit 0\)'
for dataset in /users/factors /items/factors /users/bias /items/bias; do
    check "$dataset of the resumed run equals the uninterrupted run's" h5diff a.h5 b.h5 "$dataset"
done

echo "== c) srun, time limit with --signal=B:USR1@25"
check "job c completed" [ "$(field "$job_c" JobState)" = COMPLETED ]
check "job c was requeued" [ "$(field "$job_c" Restarts)" -ge 1 ]
check "Slurm's warning reached the batch script" has c.out '^train.sbatch: got SIGUSR1'
check "job c checkpointed and requeued itself" says c.out 'requeued at iteration [0-9]+ \(exit 75\)'
check "job c's second run resumed where the first stopped" resumed_where_stopped c.out 1000
check "job c finished at iteration $c_total" says c.out "finished at iteration $c_total \(exit 0\)"
check "job c's model holds iteration $c_total" [ "$(model_iteration c.h5)" = "$c_total" ]

echo "== d) srun, scancel (SIGTERM)"
check "job d is cancelled" [ "$(field "$job_d" JobState)" = CANCELLED ]
check "job d was not requeued" [ "$(field "$job_d" Restarts)" = 0 ]
check "job d's batch script got SIGTERM" has d.out '^train.sbatch: got SIGTERM'
check "distmf checkpointed on SIGTERM" has d.out '^stopped by signal 15: checkpoint '
check "job d says it was not requeued" \
    says d.out 'stopped at iteration [0-9]+ by SIGTERM \(exit 75\), not requeued'
check "job d left a checkpoint" has_checkpoint "ckpt-$job_d"

echo "== e) sweep of 3 settings"
python3 "$source_dir/slurm/collect_sweep.py" "sweep-$job_e" | tee table.txt
check "the table has 3 rows of finished tasks" [ "$(grep -c ' finished$' table.txt)" = 3 ]
# shellcheck disable=SC2016  # awk's own variables
check "the rows are sorted by test RMSE, best first" \
    awk 'NR > 2 && $5 < previous { exit 1 } NR > 1 { previous = $5 }' table.txt
for task in 1 2 3; do
    check "task $task has its own checkpoints" has_checkpoint "sweep-$job_e/task-$task/ckpt"
done
check "the settings went to the right tasks" \
    [ "$(cat "sweep-$job_e"/task-{1,2,3}/setting | tr '\n' ' ')" = "4 0.05 8 0.1 16 0.05 " ]
