# shellcheck shell=bash disable=SC2154  # job_script: set by the script that sources this
# Sourced by slurm/train.sbatch and slurm/tune.sbatch (keep the three files together): the steps
# of a distmf job that survives time limits and preemption. The script sets job_script (its name,
# which starts each of its log lines) before calling them.
#
#   job_choose_launcher        distmf (the binary), OMP_NUM_THREADS (--cpus-per-task) and launch
#                              (srun or mpirun, from LAUNCHER); a bad LAUNCHER ends the job (exit 2)
#   job_read_config ARGS...    effective = the effective INI of `distmf ARGS --print-config`; a
#                              configuration distmf cannot parse ends the job (its exit code, 2)
#   job_setting SECTION KEY    a value of $effective ("" when unset)
#   job_run ARGS...            runs `distmf ARGS` under the launcher until it ends, passing Slurm's
#                              USR1 and TERM on; sets status (its exit code) and stop_signal
#   job_requeue WHAT_RESUMES   requeues the job, which ends this script; says so when refused

job_choose_launcher() {
    distmf=${DISTMF:-distmf}
    export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
    case ${LAUNCHER:-srun} in
        # srun no longer inherits --cpus-per-task from sbatch (Slurm 22.05): pass it on
        srun) launch=(srun --mpi=pmix --cpus-per-task="$OMP_NUM_THREADS") ;;
        mpirun) launch=(mpirun --map-by "slot:PE=$OMP_NUM_THREADS") ;;
        *)
            echo "$job_script: LAUNCHER must be srun or mpirun, not '$LAUNCHER'" >&2
            exit 2
            ;;
    esac
}

job_read_config() {
    effective=$("${launch[@]}" -n 1 "$distmf" "$@" --print-config) || {
        status=$?
        echo "$job_script: job $SLURM_JOB_ID failed: no configuration from $distmf (exit $status)"
        exit "$status"
    }
}

job_setting() { sed -n "/^\[$1\]/,/^\[/s/^$2 = //p" <<<"$effective"; }

# bash runs a trap only once the foreground command has returned, so distmf runs in the
# background and the script waits for it; every trapped signal ends a `wait` early.
stop_signal=
# shellcheck disable=SC2317  # run by the traps below
job_pass_on() {  # $1: the signal this script got; mpirun aborts the ranks on TERM, so it gets USR1
    [ "$stop_signal" = TERM ] || stop_signal=$1
    echo "$job_script: got SIG$1, asking distmf to checkpoint and stop"
    if [ -n "${job_app:-}" ]; then
        if [ "${LAUNCHER:-srun}" = mpirun ]; then
            kill -USR1 "$job_app"
        else
            kill -"$1" "$job_app"
        fi
    fi
}

job_run() {
    trap 'job_pass_on USR1' USR1
    trap 'job_pass_on TERM' TERM
    if [ -z "$stop_signal" ]; then
        "${launch[@]}" "$distmf" "$@" &
        job_app=$!
        while :; do
            wait "$job_app"
            status=$?
            kill -0 "$job_app" 2>/dev/null || break
        done
    else
        status=75  # stopped before distmf started: nothing new to save
    fi
    trap - TERM  # from here on a TERM (the requeue's) may end the script
}

job_requeue() {
    # the requeue ends this script (TERM); if it is refused (--no-requeue, JobRequeue=0,
    # MaxBatchRequeue reached), the job ends with exit code 75
    scontrol requeue "$SLURM_JOB_ID" && sleep 60
    echo "$job_script: job $SLURM_JOB_ID could not be requeued; $1"
}
