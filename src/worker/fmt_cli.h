/* fmt_cli: the `cli` formatter. A task says
 *
 *   command: [python3, train.py, --lr, "{lr}"]   # argv template, one item per argument
 *   workdir: runs/{project}                      # template; default: the worker's directory
 *   env: {SEED: "{seed}"}                        # templates, added to the environment
 *   inherit_env: true                            # start from the worker's environment
 *   log: "{project}/{task}/{job.id}.{attempt}.log"  # template, relative to log_dir
 *
 * and each job runs that command locally with no shell (see proc.h);
 * templates know what wn_fmt_job_value knows. The command's environment carries
 * WN_JOB_ID, WN_JOB_NAME, WN_PROJECT, WN_TASK, WN_ATTEMPT, WN_WORKER,
 * WN_SERVER and WN_LOG (its log file). */
#ifndef WN_FMT_CLI_H
#define WN_FMT_CLI_H

#include "fmt.h"

/* The cli formatter's operations. */
extern const wn_fmt_ops wn_fmt_cli_ops;

#endif
