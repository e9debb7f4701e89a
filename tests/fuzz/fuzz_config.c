/*
 * fuzz_config: the configuration loader (controlplane/config.c, config_schema.c and the option
 * table). Whatever the text, cp_config_parse() must either refuse it with exactly one line of
 * message, or give a snapshot that cp_config_to_json() writes back and that parses again to
 * the same JSON (the round trip config-get / config-set / the store rely on).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512], *dump;
	struct dp_config *c, *again;
	json_t *j, *j2;

	if (text == NULL) {
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	c = cp_config_parse(text, err, sizeof(err));
	free(text);
	if (c == NULL) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL) {
			abort();
		}
		return 0;
	}
	j = cp_config_to_json(c);
	if (j == NULL) {
		abort();
	}
	dump = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (dump == NULL) {
		abort();
	}
	again = cp_config_parse(dump, err, sizeof(err));
	if (again == NULL) {
		abort();
	}
	j2 = cp_config_to_json(again);
	if (j2 == NULL || !json_equal(j, j2)) {
		abort();
	}
	json_decref(j2);
	json_decref(j);
	free(dump);
	dp_config_free(again);
	dp_config_free(c);
	return 0;
}
