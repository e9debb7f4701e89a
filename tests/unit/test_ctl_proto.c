/*
 * Unit tests of common/ctl_proto: the command table's invariants (every row filled, names
 * sorted and unique, keys of one command unique) and the argument check against a table of
 * requests with the exact message each must get.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_proto.h"

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < CTL_CMD__COUNT; i++) {
		const struct ctl_proto_cmd *c = &ctl_proto_cmds[i];

		assert_non_null(c->name);
		assert_non_null(c->help);
		assert_true(c->help[0] != '\0' && c->help[strlen(c->help) - 1] != '.');
		if (i > 0) {
			assert_true(strcmp(ctl_proto_cmds[i - 1].name, c->name) < 0);
		}
		assert_ptr_equal(ctl_proto_find(c->name), c);
		assert_int_equal(ctl_proto_id(c), i);
		for (const struct ctl_proto_arg *a = c->args; a != NULL && a->key != NULL; a++) {
			assert_ptr_equal(ctl_proto_arg(c, a->key), a);
		}
	}
	assert_null(ctl_proto_find("lease4-gte"));
	assert_null(ctl_proto_find(NULL));
	assert_null(ctl_proto_arg(ctl_proto_find("lease4-add"), CTL_KEY_FORCE_CREATE));
	assert_non_null(ctl_proto_arg(ctl_proto_find("lease4-update"), CTL_KEY_FORCE_CREATE));
}

struct row {
	const char *command;
	const char *args;	/* JSON text, or NULL for no "arguments" */
	const char *err;	/* exact message, or NULL when the check passes */
};

static const struct row rows[] = {
	{ "status-get", NULL, NULL },
	{ "status-get", "{}", NULL },
	{ "status-get", "{\"verbose\": true}", "arguments: unknown key \"verbose\"" },
	{ "status-get", "[1]", "arguments: must be an object" },
	{ "lease4-get", "{\"ip\": \"198.18.0.1\"}", "arguments: unknown key \"ip\"" },
	{ "lease4-get", "{\"ip-address\": 7}", "arguments.ip-address: must be a string" },
	{ "lease4-get", "{}", NULL },	/* "one of" is the handler's rule */
	{ "lease4-add", "{\"hw-address\": \"02:00:00:00:00:01\"}",
	  "arguments.ip-address: required" },
	{ "lease4-add", "{\"ip-address\": \"198.18.0.9\", \"force-create\": true}",
	  "arguments: unknown key \"force-create\"" },
	{ "lease4-update", "{\"ip-address\": \"198.18.0.9\", \"force-create\": 1}",
	  "arguments.force-create: must be true or false" },
	{ "lease4-update", "{\"ip-address\": \"198.18.0.9\", \"valid-lft\": \"600\"}",
	  "arguments.valid-lft: must be an integer" },
	{ "lease4-get-page", "{\"from\": \"start\"}", "arguments.limit: required" },
	{ "lease4-get-page", "{\"from\": \"start\", \"limit\": 0}", NULL },	/* range: handler */
	{ "lease4-get-page", "{\"from\": \"start\", \"limit\": 5, \"scopes\": \"lab\"}",
	  "arguments.scopes: must be a list of strings" },
	{ "lease4-get-all", "{\"scopes\": [\"lab\", 3]}", "arguments.scopes[1]: must be a string" },
	{ "lease4-get-all", "{\"scopes\": []}", NULL },
	{ "scope-add", "{\"scope\": \"lab\"}", "arguments.scope: must be an object" },
	{ "scope-update", "{\"scope\": {}}", "arguments.name: required" },
	{ "exclusion-add", "{\"scope\": \"lab\"}", "arguments.range: required" },
	{ "failover-resync", NULL, "arguments.name: required" },
	{ "failover-status", NULL, NULL },
	{ "config-set", "{\"server\": {}, \"anything\": 1}", NULL },
	{ "config-set", "7", "arguments: must be an object" },
	{ "shutdown", "{\"exit-value\": 300}", NULL },	/* range: handler */
	{ "shutdown", "{\"exit-value\": true}", "arguments.exit-value: must be an integer" },
};

static void test_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct ctl_proto_cmd *c = ctl_proto_find(rows[i].command);
		json_t *args = NULL;
		char msg[256] = "";
		int ret;

		assert_non_null(c);
		if (rows[i].args != NULL) {
			args = json_loads(rows[i].args, JSON_DECODE_ANY, NULL);
			assert_non_null(args);
		}
		ret = ctl_proto_check(c, args, msg, sizeof(msg));
		if (rows[i].err == NULL ? ret != 0 : ret != -EINVAL || strcmp(msg, rows[i].err) != 0) {
			fail_msg("row %zu (%s %s): got %d \"%s\", want \"%s\"", i, rows[i].command,
				 rows[i].args ? rows[i].args : "", ret, msg,
				 rows[i].err ? rows[i].err : "");
		}
		json_decref(args);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
