/*
 * fuzz_ctl: the control socket's request framing and validation (controlplane/ctl.c):
 * whatever bytes a client sends, the scanner and the parser must neither crash nor leak,
 * and must either produce a request object with a string command or an error answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	json_t *answer = NULL, *req;

	(void)ctl_request_complete(buf, size);
	req = ctl_parse_request(buf, size, 65536, &answer);
	if (req != NULL) {
		if (answer != NULL || !json_is_string(json_object_get(req, "command"))) {
			abort();
		}
		json_decref(req);
	} else if (answer == NULL ||
		   !json_is_integer(json_object_get(answer, "result")) ||
		   !json_is_string(json_object_get(answer, "text"))) {
		abort();
	}
	json_decref(answer);
	return 0;
}
