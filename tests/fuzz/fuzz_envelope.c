/* Fuzz target: arbitrary bytes as a request to the engine (envelope, method
 * lookup and every method body). The engine must answer every input with a
 * well-formed Response and never crash. */
#include "engine.h"
#include "methods.h"
#include "store.h"
#include "whatsnext.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wn_engine *fuzz_engine;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char dir[] = "/tmp/wn-fuzz-envelope.XXXXXX"; /* the engine keeps it */
	if (mkdtemp(dir) == NULL)
		abort();
	wn_engine_config cfg = {
	    .data_dir = dir,
	    .durability = WN_DURABILITY_RELAXED,
	    .relaxed_ms = 1000,
	    .lease_ms = 60000,
	    .no_sweeper = true,
	    /* backups only inside the data directory, where none may go: a
	     * Backup is checked but never writes */
	    .backup_dir = dir,
	};
	char *err = NULL;
	if (wn_engine_open(&cfg, &fuzz_engine, &err) != 0) {
		fprintf(stderr, "cannot open engine: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	size_t len = 0;
	/* Let the fuzzer reach the method bodies: when the input starts with a
	 * byte below the number of methods it picks a method and the rest is the body.
	 * The order is the corpus's (its first bytes index it): add at the end, at
	 * most 34 in all (a whole envelope seed starts with 0x22, its token field). */
	static const char *const methods[] = {
	    WN_PATH_PROJECT_CREATE, WN_PATH_PROJECT_GET,     WN_PATH_PROJECT_LIST,
	    WN_PATH_PROJECT_UPDATE, WN_PATH_PROJECT_DELETE,  WN_PATH_TASK_CREATE,
	    WN_PATH_TASK_GET,       WN_PATH_TASK_LIST,       WN_PATH_TASK_UPDATE,
	    WN_PATH_TASK_DELETE,    WN_PATH_JOB_SUBMIT,      WN_PATH_JOB_SUBMIT_BATCH,
	    WN_PATH_JOB_GET,        WN_PATH_JOB_LIST,        WN_PATH_JOB_CANCEL,
	    WN_PATH_JOB_RETRY,      WN_PATH_JOB_REMOVE,      WN_PATH_JOB_SET_PRIORITY,
	    WN_PATH_QUEUE_FETCH,    WN_PATH_QUEUE_HEARTBEAT, WN_PATH_QUEUE_COMPLETE,
	    WN_PATH_QUEUE_RELEASE,  WN_PATH_QUEUE_STATS,     WN_PATH_QUEUE_CLEAR,
	    WN_PATH_QUEUE_POP,      WN_PATH_QUEUE_LIST,      WN_PATH_QUEUE_COMPLETE_BATCH,
	    WN_PATH_JOB_DEPS,       WN_PATH_SWEEP_GET,       WN_PATH_SWEEP_LIST,
	    WN_PATH_SWEEP_UPDATE,   WN_PATH_ADMIN_BACKUP,
	};
	if (size > 0 && data[0] < sizeof(methods) / sizeof(methods[0])) {
		Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
		rq.id = 0;
		rq.method = (char *)methods[data[0]];
		rq.body.data = (uint8_t *)data + 1;
		rq.body.len = size - 1;
		size_t n = whatsnext__v1__request__get_packed_size(&rq);
		uint8_t *buf = malloc(n);
		whatsnext__v1__request__pack(&rq, buf);
		wn_engine_handle(fuzz_engine, buf, n, NULL, &out, &len);
		free(buf);
	} else {
		wn_engine_handle(fuzz_engine, data, size, NULL, &out, &len);
	}
	if (out == NULL)
		abort(); /* without a slot nothing may be parked */
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, len, out);
	if (r == NULL)
		abort();
	whatsnext__v1__response__free_unpacked(r, NULL);
	free(out);
	wn_engine_tick(fuzz_engine);
	return 0;
}
