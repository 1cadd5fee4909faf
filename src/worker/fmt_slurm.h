/* fmt_slurm: the `slurm` formatter. Each job becomes a SLURM batch job: the
 * worker writes a batch script (#SBATCH lines from the task's options, then
 * the body from its `script` template with every substituted value
 * shell-quoted), submits it with `sbatch --parsable`, and follows the SLURM
 * job until it ends. Each slurm task has a poller (slurm_poll) that follows
 * its SLURM jobs with a single `squeue` call per round; a job SLURM no longer
 * lists is looked up with `sacct` (accounting) or `sacct -c` (the job
 * completion log). The batch script's text is slurm_script's, what squeue and
 * sacct print is read by slurm, and slurm_submit assembles and submits the
 * script.
 *
 * End states: COMPLETED succeeds; FAILED (with its exit code), TIMEOUT,
 * OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE fail with the
 * state in the reason; CANCELLED by someone else cancels the job. The SLURM
 * job id is the run's external id; a restarted worker follows the job again
 * from it (resume). Jobs of one sweep may go as one job array (start_group).
 * docs/formatters.md describes every option. */
#ifndef WN_FMT_SLURM_H
#define WN_FMT_SLURM_H

#include "fmt.h"

#include <stdbool.h>
#include <stddef.h>

/* The slurm formatter's operations. */
extern const wn_fmt_ops wn_fmt_slurm_ops;

#endif
