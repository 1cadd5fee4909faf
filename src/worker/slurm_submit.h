/* slurm_submit: the batch script of a prepared slurm run assembled (the #!
 * line, #SBATCH options, exports, the body), written beside its output file
 * and submitted with `sbatch --parsable --comment=TAG` (wn_slurm_tag: the
 * jobs and attempts it runs, by which a worker started again finds it); runs
 * of one sweep with the same options go as one job array. A run found
 * submitted before (slurm_find) is not submitted again. */
#ifndef WN_SLURM_SUBMIT_H
#define WN_SLURM_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

/* wn_slurm_submit_script returns the batch script of a prepared run (malloc'd). */
char *wn_slurm_submit_script(const void *run);

/* wn_slurm_submit_array_script returns the batch script of runs[0..n) submitted as
 * one job array with at most max_running elements at once (0: no cap). */
char *wn_slurm_submit_array_script(void *const *runs, size_t n, uint32_t max_running);

/* wn_slurm_submit_start writes the batch script of a prepared run and
 * submits it (the formatter's start); on failure *reason says why. The
 * pauses before sbatch is run again end when wake_fd (-1: none) is
 * readable: nothing more is tried (WN_EUNAVAIL); an sbatch under way then
 * is killed (WN_ESTATE): SLURM may have the job, which a stop of the run
 * looks for by its tag and cancels. */
int wn_slurm_submit_start(void *run, int wake_fd, char **reason);

/* wn_slurm_submit_group submits the prepared runs[0..n) of one sweep, those
 * with the same options as one job array of at most max_running elements at
 * once (the formatter's start_group); rcs[i] and reasons[i] say how runs[i]
 * fared. */
void wn_slurm_submit_group(void **runs, size_t n, uint32_t max_running, int wake_fd, int *rcs,
                           char **reasons);

#endif
