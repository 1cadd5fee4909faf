/* Fuzz target: arbitrary bytes as a request to the engine (envelope, method
 * lookup and every method body of methods.def). The engine must answer every input with a
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
	/* Let the fuzzer reach every method's body: a first byte below
	 * WN_METHOD_COUNT picks that method of methods.def (wn_methods, so a
	 * method added there is fuzzed too) and the rest is its body; any other
	 * first byte (seeds use 0xff) is followed by a whole Request envelope. */
	if (size > 0 && data[0] < WN_METHOD_COUNT) {
		Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
		rq.id = 0;
		rq.method = (char *)wn_methods[data[0]].path;
		rq.body.data = (uint8_t *)data + 1;
		rq.body.len = size - 1;
		size_t n = whatsnext__v1__request__get_packed_size(&rq);
		uint8_t *buf = malloc(n);
		whatsnext__v1__request__pack(&rq, buf);
		wn_engine_handle(fuzz_engine, buf, n, NULL, &out, &len);
		free(buf);
	} else if (size > 0) {
		wn_engine_handle(fuzz_engine, data + 1, size - 1, NULL, &out, &len);
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
