/*
 * Unit tests of client/ctlc: the command line -> request mapping (two tables: good
 * command lines with the exact request, bad ones with the exact message), the human and
 * Prometheus renderers (against expected text), and ctlc_call()/ctlc_call_all() against a
 * fake server thread on a unix socket in a mkdtemp() directory.
 *
 * JSON in the tables is written with single quotes for readability; jq() turns them into
 * double quotes. A word or message that contains "{D}" gets the test's directory there.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctlc.h"

#define NOW	1795400000	/* 2026-11-23 02:13:20 UTC */

static char tdir[64];		/* the test's directory, made by group_setup */

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

/* Parse JSON written with ' for ". Fails the test on a syntax error. */
static json_t *jq(const char *s)
{
	char *d = strdup(s);
	json_error_t je;
	json_t *v;

	assert_non_null(d);
	for (char *p = d; *p != '\0'; p++) {
		if (*p == '\'') {
			*p = '"';
		}
	}
	v = json_loads(d, JSON_DECODE_ANY, &je);
	if (v == NULL) {
		fail_msg("bad test JSON: %s: %s", s, je.text);
	}
	free(d);
	return v;
}

/* @in with every "{D}" replaced by the test directory. */
static void subst(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in != '\0' && o + 1 < len) {
		if (strncmp(in, "{D}", 3) == 0) {
			o += (size_t)snprintf(out + o, len - o, "%s", tdir);
			in += 3;
		} else {
			out[o++] = *in++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_json_equal(json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

		print_error("got  %s\nwant %s\n", g != NULL ? g : "(null)", w);
		free(g);
		free(w);
		fail();
	}
}

/* Run a renderer into a string (caller frees). */
static char *render(const char *command, const char *answer, unsigned int flags)
{
	struct ctlc_view view = { .flags = flags, .now = NOW };
	json_t *a = jq(answer);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(ctlc_render_view(f, command, a, &view), 0);
	fclose(f);
	json_decref(a);
	return text;
}

static void assert_render(const char *command, const char *answer, unsigned int flags,
			  const char *want)
{
	char *got = render(command, answer, flags);

	assert_string_equal(got, want);
	free(got);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/test_ctlc.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		return -1;
	}
	write_file("scope.json", "{ \"name\": \"guest\", \"subnet\": \"198.18.8.0/24\" }\n");
	write_file("resv.json",
		   "{ \"hw-address\": \"02:00:5e:12:00:09\", \"ip-address\": \"198.18.0.60\" }");
	write_file("bad.json", "{\n  \"name\": \"guest\",\n  \"subnet\": }\n");
	write_file("dup.json", "{ \"name\": \"a\", \"name\": \"b\" }");
	write_file("array.json", "[ 1, 2 ]");
	write_file("empty.json", "");
	write_file("stdin.json", "{ \"name\": \"from-stdin\" }");
	write_file("cfg.json", "{ \"server\": { \"workers\": 1 }, \"scopes\": [] }\n");
	return 0;
}

static int group_teardown(void **state)
{
	static const char *const files[] = {
		"cfg.json", "scope.json", "resv.json", "bad.json", "dup.json", "array.json",
		"empty.json", "stdin.json", NULL
	};
	char path[128];

	(void)state;
	for (const char *const *f = files; *f != NULL; f++) {
		snprintf(path, sizeof(path), "%s/%s", tdir, *f);
		unlink(path);
	}
	rmdir(tdir);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Command line -> request                                                                     */

#define MAX_WORDS 12

struct good_row {
	const char *argv[MAX_WORDS];	/* NULL-terminated */
	const char *request;		/* JSON with ' quotes */
	unsigned int flags;		/* CTLC_F_* expected */
};

static const struct good_row good_rows[] = {
	{ { "status" }, "{'command': 'status-get'}" },
	{ { "version" }, "{'command': 'version-get'}" },
	{ { "commands" }, "{'command': 'list-commands'}" },
	{ { "config", "get" }, "{'command': 'config-get'}" },
	{ { "config", "test", "{D}/cfg.json" },
	  "{'command': 'config-test', 'arguments': {'server': {'workers': 1}, 'scopes': []}}" },
	{ { "config", "set", "{D}/cfg.json" },
	  "{'command': 'config-set', 'arguments': {'server': {'workers': 1}, 'scopes': []}}" },
	{ { "config", "reload" }, "{'command': 'config-reload'}" },
	{ { "config", "write" }, "{'command': 'config-write'}" },
	{ { "config", "write", "/etc/leasewire/saved.json" },
	  "{'command': 'config-write', 'arguments': {'filename': '/etc/leasewire/saved.json'}}" },
	{ { "shutdown" }, "{'command': 'shutdown'}" },
	/* lease show: the key's form decides the member */
	{ { "lease", "show", "198.18.0.100" },
	  "{'command': 'lease4-get', 'arguments': {'ip-address': '198.18.0.100'}}" },
	{ { "lease", "show", "02:00:5E:12:00:05" },
	  "{'command': 'lease4-get', 'arguments': {'hw-address': '02:00:5e:12:00:05'}}" },
	{ { "lease", "show", "02-00-5e-12-00-05" },
	  "{'command': 'lease4-get', 'arguments': {'hw-address': '02:00:5e:12:00:05'}}" },
	{ { "lease", "show", "01:02:00:5e:12:00:05" },
	  "{'command': 'lease4-get', 'arguments': {'client-id': '01:02:00:5e:12:00:05'}}" },
	{ { "lease", "show", "0102005E120005" },
	  "{'command': 'lease4-get', 'arguments': {'client-id': '01:02:00:5e:12:00:05'}}" },
	{ { "lease", "show", "02005e120005" },
	  "{'command': 'lease4-get', 'arguments': {'client-id': '02:00:5e:12:00:05'}}" },
	{ { "lease", "show", "--mac", "2:0:5e:12:0:5" },
	  "{'command': 'lease4-get', 'arguments': {'hw-address': '02:00:5e:12:00:05'}}" },
	{ { "lease", "show", "--client-id", "02:00:5e:12:00:05" },
	  "{'command': 'lease4-get', 'arguments': {'client-id': '02:00:5e:12:00:05'}}" },
	{ { "lease", "show", "--client-id=abcd" },
	  "{'command': 'lease4-get', 'arguments': {'client-id': 'ab:cd'}}" },
	{ { "lease", "show", "--", "198.18.0.1" },
	  "{'command': 'lease4-get', 'arguments': {'ip-address': '198.18.0.1'}}" },
	/* lease list pages */
	{ { "lease", "list" },
	  "{'command': 'lease4-get-page', 'arguments': {'from': 'start', 'limit': 1000}}",
	  CTLC_F_PAGED },
	{ { "lease", "list", "--scope", "lab", "--scope", "voice" },
	  "{'command': 'lease4-get-page', 'arguments': {'from': 'start', 'limit': 1000, "
	  "'scopes': ['lab', 'voice']}}", CTLC_F_PAGED },
	{ { "lease", "list", "--scope=lab" },
	  "{'command': 'lease4-get-page', 'arguments': {'from': 'start', 'limit': 1000, "
	  "'scopes': ['lab']}}", CTLC_F_PAGED },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05" },
	  "{'command': 'lease4-add', 'arguments': {'ip-address': '198.18.0.9', "
	  "'hw-address': '02:00:5e:12:00:05'}}" },
	{ { "lease", "add", "198.18.0.9", "--client-id", "01:aa", "--lifetime", "600", "--state",
	    "offered" },
	  "{'command': 'lease4-add', 'arguments': {'ip-address': '198.18.0.9', "
	  "'client-id': '01:aa', 'valid-lft': 600, 'state': 'offered'}}" },
	{ { "lease", "add", "--mac", "02:00:5e:12:00:05", "198.18.0.9", "--lifetime",
	    "infinite" },
	  "{'command': 'lease4-add', 'arguments': {'ip-address': '198.18.0.9', "
	  "'hw-address': '02:00:5e:12:00:05', 'valid-lft': 4294967295}}" },
	{ { "lease", "update", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--force-create" },
	  "{'command': 'lease4-update', 'arguments': {'ip-address': '198.18.0.9', "
	  "'hw-address': '02:00:5e:12:00:05', 'force-create': true}}" },
	{ { "lease", "update", "198.18.0.9", "--client-id", "0102", "--lifetime", "0",
	    "--state", "released" },
	  "{'command': 'lease4-update', 'arguments': {'ip-address': '198.18.0.9', "
	  "'client-id': '01:02', 'valid-lft': 0, 'state': 'released'}}" },
	{ { "lease", "del", "198.18.0.9" },
	  "{'command': 'lease4-del', 'arguments': {'ip-address': '198.18.0.9'}}" },
	{ { "lease", "del", "02:00:5e:12:00:05" },
	  "{'command': 'lease4-del', 'arguments': {'hw-address': '02:00:5e:12:00:05'}}" },
	{ { "lease", "del", "--client-id", "01:02" },
	  "{'command': 'lease4-del', 'arguments': {'client-id': '01:02'}}" },
	{ { "lease", "wipe" }, "{'command': 'lease4-wipe'}" },
	{ { "lease", "wipe", "--scope", "lab" },
	  "{'command': 'lease4-wipe', 'arguments': {'scope': 'lab'}}" },
	/* scopes */
	{ { "scope", "list" }, "{'command': 'scope-list'}" },
	{ { "scope", "show", "lab" }, "{'command': 'scope-get', 'arguments': {'name': 'lab'}}" },
	{ { "superscope", "show" }, "{'command': 'superscope-get'}" },
	{ { "superscope", "show", "floor1" },
	  "{'command': 'superscope-get', 'arguments': {'name': 'floor1'}}" },
	{ { "superscope", "add", "floor1", "lab", "lab-overflow" },
	  "{'command': 'superscope-add', 'arguments': {'name': 'floor1',"
	  " 'scopes': ['lab', 'lab-overflow']}}" },
	{ { "superscope", "del", "floor1" },
	  "{'command': 'superscope-del', 'arguments': {'name': 'floor1'}}" },
	{ { "superscope", "del", "floor1", "lab" },
	  "{'command': 'superscope-del', 'arguments': {'name': 'floor1', 'scopes': ['lab']}}" },
	{ { "scope", "add", "{D}/scope.json" },
	  "{'command': 'scope-add', 'arguments': {'scope': {'name': 'guest', "
	  "'subnet': '198.18.8.0/24'}}}" },
	{ { "scope", "update", "lab", "{D}/scope.json" },
	  "{'command': 'scope-update', 'arguments': {'name': 'lab', 'scope': {'name': 'guest', "
	  "'subnet': '198.18.8.0/24'}}}" },
	{ { "scope", "del", "lab" }, "{'command': 'scope-del', 'arguments': {'name': 'lab'}}" },
	{ { "scope", "del", "--force", "lab" },
	  "{'command': 'scope-del', 'arguments': {'name': 'lab', 'force': true}}" },
	{ { "scope", "activate", "lab" },
	  "{'command': 'scope-activate', 'arguments': {'name': 'lab'}}" },
	{ { "scope", "deactivate", "lab" },
	  "{'command': 'scope-deactivate', 'arguments': {'name': 'lab'}}" },
	/* reservations and exclusions */
	{ { "reservation", "list", "lab" },
	  "{'command': 'reservation-list', 'arguments': {'scope': 'lab'}}" },
	{ { "reservation", "add", "lab", "{D}/resv.json" },
	  "{'command': 'reservation-add', 'arguments': {'scope': 'lab', 'reservation': "
	  "{'hw-address': '02:00:5e:12:00:09', 'ip-address': '198.18.0.60'}}}" },
	{ { "reservation", "del", "lab", "198.18.0.60" },
	  "{'command': 'reservation-del', 'arguments': {'scope': 'lab', "
	  "'ip-address': '198.18.0.60'}}" },
	{ { "reservation", "del", "lab", "02:00:5e:12:00:09" },
	  "{'command': 'reservation-del', 'arguments': {'scope': 'lab', "
	  "'hw-address': '02:00:5e:12:00:09'}}" },
	{ { "reservation", "del", "lab", "--client-id", "01:02:03" },
	  "{'command': 'reservation-del', 'arguments': {'scope': 'lab', "
	  "'client-id': '01:02:03'}}" },
	{ { "exclusion", "add", "lab", "198.18.0.170" },
	  "{'command': 'exclusion-add', 'arguments': {'scope': 'lab', "
	  "'range': '198.18.0.170'}}" },
	{ { "exclusion", "add", "lab", "198.18.0.150-198.18.0.159" },
	  "{'command': 'exclusion-add', 'arguments': {'scope': 'lab', "
	  "'range': '198.18.0.150 - 198.18.0.159'}}" },
	{ { "exclusion", "add", "lab", "198.18.0.150 - 198.18.0.159" },
	  "{'command': 'exclusion-add', 'arguments': {'scope': 'lab', "
	  "'range': '198.18.0.150 - 198.18.0.159'}}" },
	{ { "exclusion", "add", "lab", "198.18.0.150", "-", "198.18.0.159" },
	  "{'command': 'exclusion-add', 'arguments': {'scope': 'lab', "
	  "'range': '198.18.0.150 - 198.18.0.159'}}" },
	{ { "exclusion", "del", "lab", "198.18.0.150-198.18.0.159" },
	  "{'command': 'exclusion-del', 'arguments': {'scope': 'lab', "
	  "'range': '198.18.0.150 - 198.18.0.159'}}" },
	/* statistics */
	{ { "stats" }, "{'command': 'statistic-get-all'}" },
	{ { "stats", "-a" }, "{'command': 'statistic-get-all'}", CTLC_F_ALL },
	{ { "stats", "--prometheus" }, "{'command': 'statistic-get-all'}", CTLC_F_PROMETHEUS },
	{ { "stats", "pkt4-received", "--all" },
	  "{'command': 'statistic-get', 'arguments': {'name': 'pkt4-received'}}", CTLC_F_ALL },
	{ { "stats", "reset" }, "{'command': 'statistic-reset'}" },
	{ { "stats", "reset", "pkt4-received" },
	  "{'command': 'statistic-reset', 'arguments': {'name': 'pkt4-received'}}" },
	/* failover */
	{ { "failover", "status" }, "{'command': 'failover-status'}" },
	{ { "failover", "status", "dc-east.1" },
	  "{'command': 'failover-status', 'arguments': {'name': 'dc-east.1'}}" },
	{ { "failover", "status", "--prometheus" }, "{'command': 'failover-status'}",
	  CTLC_F_PROMETHEUS },
	{ { "failover", "status", "--prometheus", "fo_1" },
	  "{'command': 'failover-status', 'arguments': {'name': 'fo_1'}}", CTLC_F_PROMETHEUS },
	{ { "failover", "status",
	    "a123456789b123456789c123456789d123456789e123456789f123456789g12" },
	  "{'command': 'failover-status', 'arguments': {'name': "
	  "'a123456789b123456789c123456789d123456789e123456789f123456789g12'}}" },
	{ { "failover", "partner-down", "fo1" },
	  "{'command': 'failover-partner-down', 'arguments': {'name': 'fo1'}}" },
	{ { "failover", "shutdown", "fo1" },
	  "{'command': 'failover-shutdown', 'arguments': {'name': 'fo1'}}" },
	{ { "failover", "recover", "fo1" },
	  "{'command': 'failover-recover', 'arguments': {'name': 'fo1'}}" },
	{ { "failover", "resync", "--", "fo1" },
	  "{'command': 'failover-resync', 'arguments': {'name': 'fo1'}}" },
	/* raw: sent as written */
	{ { "raw", "lease4-gte" }, "{'command': 'lease4-gte'}", CTLC_F_JSON },
	{ { "raw", "lease4-get", "{\"ip-address\": \"1.2.3.4\", \"ip\": 1}" },
	  "{'command': 'lease4-get', 'arguments': {'ip-address': '1.2.3.4', 'ip': 1}}",
	  CTLC_F_JSON },
	{ { "raw", "list-commands", "[1, 2]" },
	  "{'command': 'list-commands', 'arguments': [1, 2]}", CTLC_F_JSON },
	{ { "raw", "config-set", "{}" }, "{'command': 'config-set', 'arguments': {}}",
	  CTLC_F_JSON },
};

/* argv of a row, with {D} replaced; the strings live in @store. */
static int make_argv(const char *const *words, char **argv, char store[][256])
{
	int argc = 0;

	while (argc < MAX_WORDS && words[argc] != NULL) {
		subst(words[argc], store[argc], 256);
		argv[argc] = store[argc];
		argc++;
	}
	argv[argc] = NULL;
	return argc;
}

static void test_good_table(void **state)
{
	(void)state;
	assert_true(sizeof(good_rows) / sizeof(good_rows[0]) >= 40);
	for (size_t i = 0; i < sizeof(good_rows) / sizeof(good_rows[0]); i++) {
		const struct good_row *r = &good_rows[i];
		char store[MAX_WORDS][256];
		char *argv[MAX_WORDS + 1];
		struct ctlc_cmd cmd = { 0 };
		char err[512] = "";
		int argc = make_argv(r->argv, argv, store);
		json_t *want = jq(r->request);
		int ret;

		ret = ctlc_parse_argv(argc, argv, &cmd, err, sizeof(err));
		if (ret != 0) {
			fail_msg("row %zu (%s %s): %d %s", i, r->argv[0],
				 r->argv[1] != NULL ? r->argv[1] : "", ret, err);
		}
		assert_non_null(cmd.synopsis);
		assert_json_equal(cmd.request, want);
		assert_int_equal(cmd.flags, r->flags);
		json_decref(want);
		ctlc_cmd_deinit(&cmd);
		assert_null(cmd.request);
	}
}

struct bad_row {
	const char *argv[MAX_WORDS];
	int ret;		/* expected return */
	const char *err;	/* exact message; "{D}" = the test directory */
};

static const struct bad_row bad_rows[] = {
	{ { NULL }, -EINVAL, "missing command" },
	{ { "frobnicate" }, -EINVAL, "unknown command \"frobnicate\"" },
	{ { "lease" }, -EINVAL, "lease: missing subcommand (show, list, add, update, del, wipe)" },
	{ { "lease", "frob" }, -EINVAL,
	  "lease: unknown subcommand \"frob\" (show, list, add, update, del, wipe)" },
	{ { "config" }, -EINVAL, "config: missing subcommand (get, test, set, reload, write)" },
	{ { "status", "extra" }, -EINVAL, "status: unexpected argument \"extra\"" },
	{ { "config", "get", "--force" }, -EINVAL, "config get: unknown option \"--force\"" },
	{ { "superscope", "add", "floor1" }, -EINVAL, "superscope add: missing SCOPE" },
	{ { "superscope", "add", "floor1", "" }, -EINVAL,
	  "superscope add: SCOPE must not be empty" },
	{ { "superscope", "del" }, -EINVAL, "superscope del: missing NAME" },
	{ { "superscope", "show", "a", "b" }, -EINVAL,
	  "superscope show: unexpected argument \"b\"" },
	{ { "config", "test" }, -EINVAL, "config test: missing FILE" },
	{ { "config", "test", "a.json", "b.json" }, -EINVAL,
	  "config test: unexpected argument \"b.json\"" },
	{ { "lease", "show" }, -EINVAL, "lease show: missing ADDRESS, MAC or CLIENT-ID" },
	{ { "lease", "show", "198.18.0.1", "--mac", "02:00:5e:12:00:05" }, -EINVAL,
	  "lease show: give one of ADDRESS|MAC|CLIENT-ID, --mac and --client-id" },
	{ { "lease", "show", "lab" }, -EINVAL,
	  "lease show: \"lab\" is not an IPv4 address, a MAC address or a client id" },
	{ { "lease", "show", "198.18.0.300" }, -EINVAL,
	  "lease show: \"198.18.0.300\" is not an IPv4 address, a MAC address or a client id" },
	{ { "lease", "show", "--mac", "02:00:5e:12:00" }, -EINVAL,
	  "lease show: --mac \"02:00:5e:12:00\" is not a MAC address (aa:bb:cc:dd:ee:ff)" },
	{ { "lease", "show", "--mac", "02005e120005" }, -EINVAL,
	  "lease show: --mac \"02005e120005\" is not a MAC address (aa:bb:cc:dd:ee:ff)" },
	{ { "lease", "show", "--client-id", "xyz" }, -EINVAL,
	  "lease show: --client-id \"xyz\" is not hex bytes (01:02:03 or 010203)" },
	{ { "lease", "show", "--client-id", "01:02:" }, -EINVAL,
	  "lease show: --client-id \"01:02:\" is not hex bytes (01:02:03 or 010203)" },
	{ { "lease", "show", "--mac" }, -EINVAL, "lease show: option --mac needs a value" },
	{ { "lease", "add" }, -EINVAL, "lease add: missing ADDRESS" },
	{ { "lease", "add", "198.18.0.9" }, -EINVAL, "lease add: missing --mac or --client-id" },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--client-id", "01:02" },
	  -EINVAL, "lease add: --mac and --client-id are mutually exclusive" },
	{ { "lease", "add", "198.18.0", "--mac", "02:00:5e:12:00:05" }, -EINVAL,
	  "lease add: ADDRESS \"198.18.0\" is not an IPv4 address" },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--lifetime", "10m" },
	  -EINVAL, "lease add: --lifetime \"10m\" is not a number of seconds "
	  "(0..4294967295 or infinite)" },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--lifetime",
	    "4294967296" },
	  -EINVAL, "lease add: --lifetime \"4294967296\" is not a number of seconds "
	  "(0..4294967295 or infinite)" },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--lifetime", "-1" },
	  -EINVAL, "lease add: --lifetime \"-1\" is not a number of seconds "
	  "(0..4294967295 or infinite)" },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--state", "bound" },
	  -EINVAL, "lease add: --state \"bound\" is not one of active, offered, expired, "
	  "released, abandoned, reset, backup" },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--force-create" },
	  -EINVAL, "lease add: unknown option \"--force-create\"" },
	{ { "lease", "update", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--force-create=yes" },
	  -EINVAL, "lease update: option --force-create takes no value" },
	{ { "lease", "add", "198.18.0.9", "--mac", "02:00:5e:12:00:05", "--mac",
	    "02:00:5e:12:00:06" },
	  -EINVAL, "lease add: option --mac given twice" },
	{ { "lease", "list", "--scope" }, -EINVAL, "lease list: option --scope needs a value" },
	{ { "lease", "list", "--scope", "" }, -EINVAL, "lease list: --scope must not be empty" },
	{ { "lease", "list", "lab" }, -EINVAL, "lease list: unexpected argument \"lab\"" },
	{ { "lease", "wipe", "--scope", "a", "--scope", "b" }, -EINVAL,
	  "lease wipe: option --scope given twice" },
	{ { "scope", "show" }, -EINVAL, "scope show: missing NAME" },
	{ { "scope", "show", "" }, -EINVAL, "scope show: NAME must not be empty" },
	{ { "scope", "update", "lab" }, -EINVAL, "scope update: missing FILE" },
	{ { "scope", "del", "lab", "--forced" }, -EINVAL, "scope del: unknown option \"--forced\"" },
	{ { "reservation", "del", "lab" }, -EINVAL,
	  "reservation del: missing ADDRESS, MAC or CLIENT-ID" },
	{ { "reservation", "list" }, -EINVAL, "reservation list: missing SCOPE" },
	{ { "exclusion", "add", "lab" }, -EINVAL, "exclusion add: missing RANGE" },
	{ { "exclusion", "add", "lab", "198.18.0.5-198.18.0.x" }, -EINVAL,
	  "exclusion add: RANGE \"198.18.0.5-198.18.0.x\" is not an IPv4 address or range "
	  "(a.b.c.d or a.b.c.d - e.f.g.h)" },
	{ { "exclusion", "del", "lab", "198.18.0.1", "-" }, -EINVAL,
	  "exclusion del: RANGE \"198.18.0.1 -\" is not an IPv4 address or range "
	  "(a.b.c.d or a.b.c.d - e.f.g.h)" },
	{ { "exclusion", "add", "lab", "1", "2", "3", "4" }, -EINVAL,
	  "exclusion add: unexpected argument \"4\"" },
	{ { "stats", "a", "b" }, -EINVAL, "stats: unexpected argument \"b\"" },
	{ { "stats", "reset", "-a" }, -EINVAL, "stats reset: unknown option \"-a\"" },
	{ { "stats", "-x" }, -EINVAL, "stats: unknown option \"-x\"" },
	{ { "failover" }, -EINVAL,
	  "failover: missing subcommand (status, partner-down, shutdown, recover, resync, replicate, add, get, set, remove, scope, sync-status)" },
	{ { "failover", "down" }, -EINVAL, "failover: unknown subcommand \"down\" "
	  "(status, partner-down, shutdown, recover, resync, replicate, add, get, set, remove, scope, sync-status)" },
	{ { "failover", "partner-down" }, -EINVAL, "failover partner-down: missing NAME" },
	{ { "failover", "shutdown" }, -EINVAL, "failover shutdown: missing NAME" },
	{ { "failover", "recover" }, -EINVAL, "failover recover: missing NAME" },
	{ { "failover", "resync" }, -EINVAL, "failover resync: missing NAME" },
	{ { "failover", "status", "fo1", "fo2" }, -EINVAL,
	  "failover status: unexpected argument \"fo2\"" },
	{ { "failover", "recover", "fo1", "now" }, -EINVAL,
	  "failover recover: unexpected argument \"now\"" },
	{ { "failover", "shutdown", "" }, -EINVAL, "failover shutdown: NAME must not be empty" },
	{ { "failover", "partner-down", "fo 1" }, -EINVAL,
	  "failover partner-down: NAME \"fo 1\" may only contain letters, digits, '.', '-' "
	  "and '_'" },
	{ { "failover", "status", "fo/1" }, -EINVAL,
	  "failover status: NAME \"fo/1\" may only contain letters, digits, '.', '-' and '_'" },
	{ { "failover", "resync",
	    "a123456789b123456789c123456789d123456789e123456789f123456789g123" }, -EINVAL,
	  "failover resync: NAME is longer than 63 characters" },
	{ { "failover", "status", "-a" }, -EINVAL, "failover status: unknown option \"-a\"" },
	{ { "failover", "resync", "fo1", "--prometheus" }, -EINVAL,
	  "failover resync: unknown option \"--prometheus\"" },
	{ { "failover", "partner-down", "--force", "fo1" }, -EINVAL,
	  "failover partner-down: unknown option \"--force\"" },
	{ { "raw" }, -EINVAL, "raw: missing COMMAND" },
	{ { "raw", "" }, -EINVAL, "raw: COMMAND must not be empty" },
	{ { "raw", "lease4-get", "{bad" }, -EINVAL,
	  "raw: JSON-ARGUMENTS: column 4: string or '}' expected near 'bad'" },
	/* FILE arguments: read and checked here, with the position of the error */
	{ { "config", "test", "{D}/missing.json" }, -ENOENT,
	  "cannot read {D}/missing.json: No such file or directory" },
	{ { "config", "set", "{D}/bad.json" }, -EBADMSG,
	  "{D}/bad.json:3:13: invalid JSON: unexpected token near '}'" },
	{ { "scope", "add", "{D}/dup.json" }, -EBADMSG,
	  "{D}/dup.json:1:21: invalid JSON: duplicate object key near '\"name\"'" },
	{ { "reservation", "add", "lab", "{D}/array.json" }, -EBADMSG,
	  "{D}/array.json: expected a JSON object ({...})" },
	{ { "scope", "update", "lab", "{D}/empty.json" }, -EBADMSG,
	  "{D}/empty.json:1:0: invalid JSON: '[' or '{' expected near end of file" },
};

static void test_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const struct bad_row *r = &bad_rows[i];
		char store[MAX_WORDS][256];
		char *argv[MAX_WORDS + 1];
		struct ctlc_cmd cmd = { 0 };
		char err[512] = "";
		char want[512];
		int argc = make_argv(r->argv, argv, store);
		json_t *req = (json_t *)1;
		int ret;

		subst(r->err, want, sizeof(want));
		ret = ctlc_parse_argv(argc, argv, &cmd, err, sizeof(err));
		if (ret != r->ret || strcmp(err, want) != 0) {
			fail_msg("row %zu: got %d \"%s\"\n  want %d \"%s\"", i, ret, err, r->ret,
				 want);
		}
		assert_null(cmd.request);
		ctlc_cmd_deinit(&cmd);
		/* The request-only form agrees. */
		err[0] = '\0';
		ret = ctlc_request_from_argv(argc, argv, &req, err, sizeof(err));
		assert_int_equal(ret, r->ret);
		assert_null(req);
		assert_string_equal(err, want);
	}
}

static void test_synopsis(void **state)
{
	char *argv[] = { "lease", "add", "198.18.0.9", NULL };
	char *unknown[] = { "lease", "frob", NULL };
	struct ctlc_cmd cmd = { 0 };
	char err[256];

	(void)state;
	/* Known command, wrong arguments: the synopsis is there for the hint. */
	assert_int_equal(ctlc_parse_argv(3, argv, &cmd, err, sizeof(err)), -EINVAL);
	assert_string_equal(cmd.synopsis, "lease add ADDRESS (--mac MAC | --client-id ID) "
			    "[--lifetime SECONDS] [--state STATE]");
	ctlc_cmd_deinit(&cmd);
	assert_int_equal(ctlc_parse_argv(2, unknown, &cmd, err, sizeof(err)), -EINVAL);
	assert_null(cmd.synopsis);
}

static void test_relative_write(void **state)
{
	char *argv[] = { "config", "write", "saved.json", NULL };
	char cwd[512], want[600];
	json_t *req = NULL;
	char err[256];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s%s", cwd, strcmp(cwd, "/") == 0 ? "saved.json" :
		 "/saved.json");
	assert_int_equal(ctlc_request_from_argv(3, argv, &req, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(req, "arguments"),
							      "filename")), want);
	json_decref(req);
}

static void test_stdin_file(void **state)
{
	char *argv[] = { "scope", "add", "-", NULL };
	char path[128];
	json_t *req = NULL, *want;
	char err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/stdin.json", tdir);
	assert_non_null(freopen(path, "r", stdin));
	assert_int_equal(ctlc_request_from_argv(3, argv, &req, err, sizeof(err)), 0);
	want = jq("{'command': 'scope-add', 'arguments': {'scope': {'name': 'from-stdin'}}}");
	assert_json_equal(req, want);
	json_decref(want);
	json_decref(req);

	/* An invalid document on stdin is named "<stdin>". */
	write_file("stdin.json", "{ \"name\": }");
	assert_non_null(freopen(path, "r", stdin));
	assert_int_equal(ctlc_request_from_argv(3, argv, &req, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "<stdin>:1:11: invalid JSON: unexpected token near '}'");
	assert_null(req);
}

/* ------------------------------------------------------------------------------------------ */
/* Human output                                                                                */

static const char *lease_answer =
	"{'result': 0, 'text': '4 leases', 'arguments': {'count': 4, 'leases': ["
	" {'ip-address': '198.18.0.100', 'scope': 'lab', 'state': 'active',"
	"  'hw-address': '02:00:5e:12:00:05', 'cltt': 1795399998, 'valid-lft': 600,"
	"  'expire': 1795400598},"
	" {'ip-address': '198.18.0.101', 'scope': 'lab', 'state': 'expired',"
	"  'client-id': '01:02:00:5e:12:00:06', 'cltt': 1795395980, 'valid-lft': 3600,"
	"  'expire': 1795399580},"
	" {'ip-address': '198.18.0.120', 'scope': 'lab', 'state': 'active',"
	"  'hw-address': '02:00:5e:12:00:07', 'cltt': 1795300000, 'valid-lft': 4294967295,"
	"  'expire': null},"
	" {'ip-address': '198.18.20.10', 'scope': 'voice', 'state': 'offered',"
	"  'hw-address': '02:00:5e:12:00:08', 'cltt': 1795399970, 'valid-lft': 60,"
	"  'expire': 1795400030}]}}";

static void test_render_leases(void **state)
{
	(void)state;
	assert_render("lease4-get-page", lease_answer, 0,
		"ADDRESS       STATE    CLIENT                SCOPE  EXPIRES\n"
		"198.18.0.100  active   02:00:5e:12:00:05     lab    "
		"2026-11-23 02:23:18 UTC (in 9m 58s)\n"
		"198.18.0.101  expired  01:02:00:5e:12:00:06  lab    "
		"2026-11-23 02:06:20 UTC (7m ago)\n"
		"198.18.0.120  active   02:00:5e:12:00:07     lab    never\n"
		"198.18.20.10  offered  02:00:5e:12:00:08     voice  "
		"2026-11-23 02:13:50 UTC (in 30s)\n");
	/* A HOSTNAME column when a lease has a host name; a control byte never reaches the
	 * terminal (the server sends none; the client sanitises anyway). */
	assert_render("lease4-get-page",
		      "{'result': 0, 'arguments': {'count': 2, 'leases': ["
		      " {'ip-address': '198.18.0.100', 'scope': 'lab', 'state': 'active',"
		      "  'hw-address': '02:00:5e:12:00:05', 'hostname': 'pc\\u001b1',"
		      "  'cltt': 1795300000, 'valid-lft': 4294967295, 'expire': null},"
		      " {'ip-address': '198.18.0.101', 'scope': 'lab', 'state': 'active',"
		      "  'hw-address': '02:00:5e:12:00:06',"
		      "  'cltt': 1795300000, 'valid-lft': 4294967295, 'expire': null}]}}", 0,
		      "ADDRESS       STATE   CLIENT             HOSTNAME  SCOPE  EXPIRES\n"
		      "198.18.0.100  active  02:00:5e:12:00:05  pc?1      lab    never\n"
		      "198.18.0.101  active  02:00:5e:12:00:06  -         lab    never\n");
	/* An empty list still has its header. */
	assert_render("lease4-get-all", "{'result': 0, 'arguments': {'leases': [], 'count': 0}}",
		      0, "ADDRESS  STATE  CLIENT  SCOPE  EXPIRES\n");
	/* Result 3: the server's text. */
	assert_render("lease4-get-page", "{'result': 3, 'text': '0 leases found'}", 0,
		      "0 leases found\n");
}

static void test_render_lease(void **state)
{
	(void)state;
	assert_render("lease4-get",
		"{'result': 0, 'text': 'lease found', 'arguments': {'ip-address': '198.18.0.100',"
		" 'scope': 'lab', 'state': 'active', 'hw-address': '02:00:5e:12:00:05',"
		" 'cltt': 1795399998, 'valid-lft': 600, 'expire': 1795400598}}", 0,
		"ip-address: 198.18.0.100\n"
		"state:      active\n"
		"hw-address: 02:00:5e:12:00:05\n"
		"scope:      lab\n"
		"cltt:       2026-11-23 02:13:18 UTC (2s ago)\n"
		"valid-lft:  600 s (10m)\n"
		"expire:     2026-11-23 02:23:18 UTC (in 9m 58s)\n");
	assert_render("lease4-add",
		"{'result': 0, 'arguments': {'ip-address': '198.18.0.50', 'scope': 'lab',"
		" 'state': 'active', 'client-id': '01:02', 'cltt': 1795400000,"
		" 'valid-lft': 4294967295, 'expire': null}}", 0,
		"ip-address: 198.18.0.50\n"
		"state:      active\n"
		"client-id:  01:02\n"
		"scope:      lab\n"
		"cltt:       2026-11-23 02:13:20 UTC (now)\n"
		"valid-lft:  infinite\n"
		"expire:     never\n");
}

/*
 * Numbers a hostile or broken server may send: the extremes of a JSON integer, in every
 * place the renderer computes with them (durations, expiry = cltt + valid-lft, "since" =
 * now - uptime, relative times). Each must print a saturated, sign-correct text; without
 * saturation these are signed overflows (UBSan stops the ASan build on them).
 */
#define I64MAX "9223372036854775807"
#define I64MIN "-9223372036854775808"
static void test_render_hostile_numbers(void **state)
{
	(void)state;
	/* cltt + valid-lft past INT64_MAX: the end is "far ahead", never in the past. */
	assert_render("lease4-get",
		"{'result': 0, 'arguments': {'ip-address': '198.18.0.100', 'state': 'active',"
		" 'cltt': " I64MAX ", 'valid-lft': 3600}}", 0,
		"ip-address: 198.18.0.100\n"
		"state:      active\n"
		"cltt:       " I64MAX " (in 106751991146520d 13h)\n"
		"valid-lft:  3600 s (1h)\n"
		"expire:     " I64MAX " (in 106751991146520d 13h)\n");
	/* INT64_MIN as a duration and as a time: |INT64_MIN| has no signed form. */
	assert_render("lease4-get",
		"{'result': 0, 'arguments': {'ip-address': '198.18.0.101', 'state': 'expired',"
		" 'cltt': " I64MIN ", 'valid-lft': " I64MIN ", 'expire': " I64MIN "}}", 0,
		"ip-address: 198.18.0.101\n"
		"state:      expired\n"
		"cltt:       " I64MIN " (106751991167300d 15h ago)\n"
		"valid-lft:  " I64MIN " s (106751991167300d 15h)\n"
		"expire:     " I64MIN " (106751991167300d 15h ago)\n");
	/* The same in the lease table, through cltt + valid-lft both ways. */
	assert_render("lease4-get-all",
		"{'result': 0, 'arguments': {'leases': ["
		" {'ip-address': '198.18.0.1', 'cltt': " I64MIN ", 'valid-lft': -1},"
		" {'ip-address': '198.18.0.2', 'cltt': " I64MAX ", 'valid-lft': " I64MAX "}]}}",
		0,
		"ADDRESS     STATE  CLIENT  SCOPE  EXPIRES\n"
		"198.18.0.1  -      -       -      " I64MIN " (106751991167300d 15h ago)\n"
		"198.18.0.2  -      -       -      " I64MAX " (in 106751991146520d 13h)\n");
	/* now - uptime, both ends. */
	assert_render("status-get",
		"{'result': 0, 'arguments': {'uptime': " I64MIN ", 'reload': " I64MAX "}}", 0,
		"uptime: 106751991167300d 15h (since " I64MAX ")\n"
		"reload: 106751991167300d 15h ago (-9223372035059375807)\n");
	/* Failover: mclt as a duration, state-since as a time. */
	assert_render("failover-status",
		"{'result': 0, 'arguments': [{'name': 'fo', 'state': 'normal',"
		" 'state-since': " I64MAX ", 'partner-state': 'normal',"
		" 'partner-state-since': 1, 'mclt': " I64MIN ", 'skew': " I64MIN "}]}", 0,
		"name:          fo\n"
		"state:         normal since " I64MAX " (in 106751991146520d 13h)\n"
		"partner-state: normal since 1970-01-01 00:00:01 UTC (20780d 2h ago)\n"
		"mclt:          " I64MIN " s (106751991167300d 15h)\n"
		"skew:          " I64MIN " s\n");
}

static void test_render_scopes(void **state)
{
	(void)state;
	assert_render("scope-list",
		"{'result': 0, 'arguments': ["
		" {'name': 'lab', 'subnet': '198.18.0.0/24', 'active': true, 'total': 121,"
		"  'assigned': 7, 'free': 110, 'offered': 3, 'declined': 1},"
		" {'name': 'voice', 'subnet': '198.18.20.0/24', 'active': false, 'total': 241,"
		"  'assigned': 0, 'free': 241, 'offered': 0, 'declined': 0}]}", 0,
		"NAME   SUBNET          ACTIVE  TOTAL  ASSIGNED  FREE  OFFERED  DECLINED\n"
		"lab    198.18.0.0/24   yes       121         7   110        3         1\n"
		"voice  198.18.20.0/24  no        241         0   241        0         0\n");
}

static const char *stats_answer =
	"{'result': 0, 'arguments': {'pkt4-sent': 1100, 'pkt4-received': 1200,"
	" 'drop-udp-checksum': 3, 'drop-pool-exhausted': 0, 'arp-replies': 5,"
	" 'scope[lab].assigned-addresses': 7}}";

static void test_render_stats(void **state)
{
	(void)state;
	assert_render("statistic-get-all", stats_answer, 0,
		"NAME                           VALUE\n"
		"arp-replies                        5\n"
		"drop-udp-checksum                  3\n"
		"pkt4-received                   1200\n"
		"pkt4-sent                       1100\n"
		"scope[lab].assigned-addresses      7\n");
	assert_render("statistic-get-all", stats_answer, CTLC_F_ALL,
		"NAME                           VALUE\n"
		"arp-replies                        5\n"
		"drop-pool-exhausted                0\n"
		"drop-udp-checksum                  3\n"
		"pkt4-received                   1200\n"
		"pkt4-sent                       1100\n"
		"scope[lab].assigned-addresses      7\n");
	/* Kea-shaped values ([[value, timestamp]]) are read too. */
	assert_render("statistic-get",
		"{'result': 0, 'arguments': {'pkt4-received': [[42, '2026-11-23 02:13:20']]}}", 0,
		"NAME           VALUE\n"
		"pkt4-received     42\n");
}

static void test_render_status(void **state)
{
	(void)state;
	assert_render("status-get",
		"{'result': 0, 'text': 'running', 'arguments': {'pid': 4242, 'uptime': 7384,"
		" 'reload': 300, 'workers': 2, 'durability': 'strict',"
		" 'store': '/var/lib/leasewire', 'dhcp-state': 'enabled',"
		" 'ports': [{'name': 'lab0', 'device': 'net_af_packet0,iface=lw-srv0',"
		"  'driver': 'net_af_packet', 'mac': '02:00:5e:00:00:01', 'link': 'up',"
		"  'tx-csum': 'none'},"
		"  {'name': 'uplink', 'device': '0000:01:00.0', 'driver': 'net_ixgbe',"
		"  'mac': '02:00:5e:00:00:02', 'link': 'down', 'tx-csum': 'udp+ip'}],"
		" 'scopes': 2, 'bindings': 120, 'failover': 'none'}}", 0,
		"pid:        4242\n"
		"uptime:     2h 3m (since 2026-11-23 00:10:16 UTC)\n"
		"reload:     5m ago (2026-11-23 02:08:20 UTC)\n"
		"workers:    2\n"
		"durability: strict\n"
		"store:      /var/lib/leasewire\n"
		"dhcp-state: enabled\n"
		"scopes:     2\n"
		"bindings:   120\n"
		"failover:   none\n"
		"\n"
		"PORT    DEVICE                        DRIVER         MAC"
		"                LINK  TX-CSUM\n"
		"lab0    net_af_packet0,iface=lw-srv0  net_af_packet  02:00:5e:00:00:01"
		"  up    none\n"
		"uplink  0000:01:00.0                  net_ixgbe      02:00:5e:00:00:02"
		"  down  udp+ip\n");
}

#define STATUS_FO(list) \
	"{'result': 0, 'text': 'running', 'arguments': {'pid': 4242, 'uptime': 7384," \
	" 'workers': 2, 'scopes': 2, 'bindings': 120, 'failover': " list "," \
	" 'ports': [{'name': 'lab0', 'device': '0000:01:00.0', 'driver': 'net_ixgbe'," \
	"  'mac': '02:00:5e:00:00:01'}]}}"

/* status-get's "failover" list: one line per relationship, nothing for an empty list. */
static void test_render_status_failover(void **state)
{
	(void)state;
	assert_render("status-get", STATUS_FO(
		"[{'name': 'fo1', 'role': 'primary', 'state': 'normal',"
		" 'partner-state': 'normal', 'link': 'up', 'messages': {'bndupd-sent': 1}},"
		" {'name': 'fo2', 'state': 'communications-interrupted',"
		" 'partner-state': 'unknown-state', 'link': 'connecting'},"
		" {'name': 'fo3\\u001b', 'state': 'startup'}]"), 0,
		"pid:      4242\n"
		"uptime:   2h 3m (since 2026-11-23 00:10:16 UTC)\n"
		"workers:  2\n"
		"scopes:   2\n"
		"bindings: 120\n"
		"failover fo1: normal, partner normal, link up\n"
		"failover fo2: communications-interrupted, partner unknown-state, link connecting\n"
		"failover fo3?: startup, partner -, link -\n"
		"\n"
		"PORT  DEVICE        DRIVER     MAC                LINK  TX-CSUM\n"
		"lab0  0000:01:00.0  net_ixgbe  02:00:5e:00:00:01  -     -\n");
	assert_render("status-get", STATUS_FO("[]"), 0,
		"pid:      4242\n"
		"uptime:   2h 3m (since 2026-11-23 00:10:16 UTC)\n"
		"workers:  2\n"
		"scopes:   2\n"
		"bindings: 120\n"
		"\n"
		"PORT  DEVICE        DRIVER     MAC                LINK  TX-CSUM\n"
		"lab0  0000:01:00.0  net_ixgbe  02:00:5e:00:00:01  -     -\n");
}

/* One relationship as leasewired reports it (doc/control-protocol.md, Failover). */
#define FO1 \
	"{'name': 'fo1', 'role': 'primary', 'mode': 'load-balance', 'state': 'normal'," \
	" 'state-since': 1795392616, 'partner-state': 'communications-interrupted'," \
	" 'partner-state-since': 1795399700, 'link': 'up', 'communications-ok': true," \
	" 'service': 'balanced', 'mclt': 3600, 'skew': -1, 'addresses': 242, 'unacked': 3," \
	" 'queued': 1, 'in-flight': 2, 'window': 64," \
	" 'messages': {'bndupd-sent': 120, 'bndupd-received': 118, 'bndack-sent': 118," \
	"  'bndack-received': 117, 'rejects-sent': 0, 'rejects-received': 1," \
	"  'updreqall-received': 1, 'updreq-received': 0, 'upddone-sent': 1," \
	"  'upddone-received': 0, 'poolreq-received': 1, 'addresses-given': 121}," \
	" 'link-counters': {'connects': 3, 'accepts': 0, 'refused-source': 0," \
	"  'refused-duplicate': 1, 'startup-timeouts': 0, 'messages-received': 250," \
	"  'messages-sent': 260}}"

#define FO1_TEXT \
	"name:              fo1\n" \
	"role:              primary\n" \
	"mode:              load-balance\n" \
	"state:             normal since 2026-11-23 00:10:16 UTC (2h 3m ago)\n" \
	"partner-state:     communications-interrupted since 2026-11-23 02:08:20 UTC " \
	"(5m ago)\n" \
	"link:              up\n" \
	"service:           balanced\n" \
	"mclt:              3600 s (1h)\n" \
	"skew:              -1 s\n" \
	"addresses:         242\n" \
	"unacked:           3\n" \
	"queued:            1\n" \
	"in-flight:         2\n" \
	"window:            64\n" \
	"addresses-given:   121\n" \
	"connects:          3\n" \
	"accepts:           0\n" \
	"refused-source:    0\n" \
	"refused-duplicate: 1\n" \
	"startup-timeouts:  0\n" \
	"messages-received: 250\n" \
	"messages-sent:     260\n" \
	"\n" \
	"MESSAGE    SENT  RECEIVED\n" \
	"bndupd      120       118\n" \
	"bndack      118       117\n" \
	"rejects       0         1\n" \
	"updreqall     -         1\n" \
	"updreq        -         0\n" \
	"upddone       1         0\n" \
	"poolreq       -         1\n"

/* A secondary that has never heard from its partner: no times, no counters yet. */
#define FO2 \
	"{'name': 'fo2', 'role': 'secondary', 'mode': 'hot-standby', 'state': 'recover-wait'," \
	" 'state-since': 1795399990, 'partner-state': 'unknown-state'," \
	" 'partner-state-since': 0, 'link': 'down', 'communications-ok': false," \
	" 'service': 'none', 'mclt': 90, 'skew': 0, 'addresses': 10, 'unacked': 0," \
	" 'queued': 0, 'in-flight': 0, 'window': 0, 'hint': 'x'}"

#define FO2_TEXT \
	"name:          fo2\n" \
	"role:          secondary\n" \
	"mode:          hot-standby\n" \
	"state:         recover-wait since 2026-11-23 02:13:10 UTC (10s ago)\n" \
	"partner-state: unknown-state\n" \
	"link:          down\n" \
	"service:       none\n" \
	"mclt:          90 s (1m 30s)\n" \
	"skew:          0 s\n" \
	"addresses:     10\n" \
	"unacked:       0\n" \
	"queued:        0\n" \
	"in-flight:     0\n" \
	"window:        0\n" \
	"hint:          x\n"

static void test_render_failover(void **state)
{
	(void)state;
	assert_render("failover-status",
		      "{'result': 0, 'text': '2 failover relationship(s)', 'arguments': [" FO1 ", "
		      FO2 "]}", 0, FO1_TEXT "\n" FO2_TEXT);
	/* The operator's commands: what was done, then the relationship as it is now. */
	assert_render("failover-partner-down",
		      "{'result': 0, 'text': 'fo1: partner down', 'arguments': [" FO1 "]}", 0,
		      "fo1: partner down\n\n" FO1_TEXT);
	assert_render("failover-resync", "{'result': 0, 'arguments': [" FO2 "]}", 0, FO2_TEXT);
	/* Refused, or nothing configured: the server's text only. */
	assert_render("failover-recover",
		      "{'result': 1, 'text': 'fo1: recover is only allowed in shutdown or paused'}",
		      0, "fo1: recover is only allowed in shutdown or paused\n");
	assert_render("failover-status",
		      "{'result': 3, 'text': 'no failover relationships configured',"
		      " 'arguments': []}", 0, "no failover relationships configured\n");
	assert_render("failover-status", "{'result': 0, 'text': '', 'arguments': []}", 0, "");
}

static void test_render_misc(void **state)
{
	(void)state;
	assert_render("version-get",
		"{'result': 0, 'text': 'leasewire 0.1.0', 'arguments': {'dpdk': 'DPDK 22.11.4',"
		" 'version': '0.1.0', 'lmdb': 'LMDB 0.9.24', 'jansson': '2.14'}}", 0,
		"version: 0.1.0\n"
		"dpdk:    DPDK 22.11.4\n"
		"lmdb:    LMDB 0.9.24\n"
		"jansson: 2.14\n");
	assert_render("list-commands",
		"{'result': 0, 'arguments': ['config-get', 'status-get']}", 0,
		"config-get\nstatus-get\n");
	assert_render("reservation-list",
		"{'result': 0, 'arguments': [{'hw-address': '02:00:5e:12:00:05',"
		" 'ip-address': '198.18.0.50', 'hostname': 'printer\\u001b[31m'},"
		" {'client-id': '01:02:00:5e:12:00:06', 'ip-address': '198.18.0.51'}]}", 0,
		"ADDRESS      CLIENT                HOSTNAME\n"
		"198.18.0.50  02:00:5e:12:00:05     printer?[31m\n"
		"198.18.0.51  01:02:00:5e:12:00:06  -\n");
	assert_render("superscope-get",
		"{'result': 0, 'text': '2 superscopes', 'arguments': [{'name': 'floor1',"
		" 'scopes': ['lab', 'lab-overflow']}, {'name': 'f2', 'scopes': ['x']}]}", 0,
		"NAME    SCOPES\n"
		"floor1  lab, lab-overflow\n"
		"f2      x\n");
	assert_render("superscope-get",
		"{'result': 0, 'arguments': {'name': 'floor1', 'scopes': ['lab']}}", 0,
		"NAME    SCOPES\n"
		"floor1  lab\n");
	assert_render("scope-get",
		"{'result': 0, 'arguments': {'name': 'lab', 'subnet': '198.18.0.0/24'}}", 0,
		"{\n  \"name\": \"lab\",\n  \"subnet\": \"198.18.0.0/24\"\n}\n");
	/* Commands that return nothing print the server's text... */
	assert_render("scope-add", "{'result': 0, 'text': 'scope \\'guest\\' added'}", 0,
		      "scope \"guest\" added\n");
	/* ...or, without one, what they returned. */
	assert_render("lease4-wipe", "{'result': 0, 'arguments': {'deleted': 12}}", 0,
		      "deleted: 12\n");
	assert_render("shutdown", "{'result': 0, 'text': ''}", 0, "");
	/* An error prints its text whatever the command. */
	assert_render("scope-list",
		"{'result': 1, 'text': 'arguments: unknown key \\'ip\\''}", 0,
		"arguments: unknown key \"ip\"\n");
	/* An answer of an unexpected shape is still shown. */
	assert_render("scope-list", "{'result': 0, 'arguments': {'x': 1}}", 0, "x: 1\n");
}

/* ------------------------------------------------------------------------------------------ */
/* Prometheus                                                                                  */

static char *prometheus(const char *stats, int *ret)
{
	json_t *s = jq(stats);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	*ret = ctlc_render_prometheus(f, s);
	fclose(f);
	json_decref(s);
	return text;
}

/*
 * The exposition rules a scraper relies on: every family has exactly one HELP and one TYPE,
 * both before its first sample, and a family's samples are contiguous.
 */
static void check_exposition(const char *text)
{
	char *copy = strdup(text), *save = NULL;
	char seen[32][96];
	char current[96] = "";
	int nseen = 0;
	bool have_help = false, have_type = false;

	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[96];

		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			bool help = line[2] == 'H';

			sscanf(line + 7, "%95s", name);
			if (strcmp(name, current) != 0) {
				for (int i = 0; i < nseen; i++) {
					if (strcmp(seen[i], name) == 0) {
						fail_msg("family %s appears twice", name);
					}
				}
				assert_true(nseen < 32);
				snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
				snprintf(current, sizeof(current), "%s", name);
				have_help = have_type = false;
			}
			if (help) {
				assert_false(have_help);
				assert_false(have_type);	/* HELP first, as we write it */
				have_help = true;
			} else {
				assert_false(have_type);
				have_type = true;
			}
			continue;
		}
		assert_true(line[0] != '#');
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(line, "{ "), line);
		if (strcmp(name, current) != 0 || !have_help || !have_type) {
			fail_msg("sample outside its family: %s", line);
		}
	}
	free(copy);
}

static void test_prometheus(void **state)
{
	static const char *const want[] = {
		"# HELP leasewire_drops_total Packets dropped, by reason.",
		"# TYPE leasewire_drops_total counter",
		"leasewire_drops_total{reason=\"pool_exhausted\"} 0",
		"leasewire_drops_total{reason=\"udp_checksum\"} 3",
		"# HELP leasewire_new_thing leasewired statistic new-thing.",
		"# TYPE leasewire_new_thing counter",
		"leasewire_new_thing 1.5",
		"# HELP leasewire_pkt4_received DHCPv4 and BOOTP packets received.",
		"# TYPE leasewire_pkt4_received counter",
		"leasewire_pkt4_received 1200",
		"# HELP leasewire_pkt4_sent DHCPv4 and BOOTP packets sent.",
		"# TYPE leasewire_pkt4_sent counter",
		"leasewire_pkt4_sent 1100",
		"# HELP leasewire_scope_assigned_addresses Addresses of the scope bound to a client.",
		"# TYPE leasewire_scope_assigned_addresses gauge",
		"leasewire_scope_assigned_addresses{scope=\"a\\\"b\\\\c\"} 1",
		"leasewire_scope_assigned_addresses{scope=\"lab\"} 7",
		"leasewire_scope_assigned_addresses{scope=\"voice\"} 0",
		"# HELP leasewire_scope_total_addresses Addresses in the scope's pools.",
		"# TYPE leasewire_scope_total_addresses gauge",
		"leasewire_scope_total_addresses{scope=\"lab\"} 121",
		"# HELP leasewire_store_commits Store transactions committed.",
		"# TYPE leasewire_store_commits counter",
		"leasewire_store_commits 9",
		NULL
	};
	char *text, *save = NULL, *line;
	size_t i = 0;
	int ret;

	(void)state;
	/* The whole answer is accepted as well as its arguments. */
	text = prometheus("{'result': 0, 'arguments': {"
			  "'pkt4-received': 1200, 'pkt4-sent': 1100, 'drop-udp-checksum': 3,"
			  " 'scope[lab].assigned-addresses': 7, 'drop-pool-exhausted': 0,"
			  " 'scope[voice].assigned-addresses': 0, 'scope[lab].total-addresses': 121,"
			  " 'store-commits': 9, 'new-thing': 1.5, 'not-a-number': 'x',"
			  " 'scope[a\\'b\\\\c].assigned-addresses': 1}}", &ret);
	assert_int_equal(ret, 0);
	check_exposition(text);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		assert_non_null(want[i]);
		assert_string_equal(line, want[i]);
		i++;
	}
	assert_null(want[i]);
	free(text);

	text = prometheus("[1]", &ret);
	assert_int_equal(ret, -EINVAL);
	free(text);
	text = prometheus("[{'name': 'fo1'}, 'fo2']", &ret);
	assert_int_equal(ret, -EINVAL);
	free(text);
	text = prometheus("{}", &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(text, "");
	free(text);
}

/* failover-status: state codes as gauges, messages as one labelled counter family. */
static void test_prometheus_failover(void **state)
{
	static const char *const want[] = {
		"# HELP leasewire_failover_addresses Addresses covered by the relationship.",
		"# TYPE leasewire_failover_addresses gauge",
		"leasewire_failover_addresses{relationship=\"fo1\"} 242",
		"leasewire_failover_addresses{relationship=\"fo2\"} 10",
		"# HELP leasewire_failover_addresses_given_total Addresses given to the partner in "
		"answer to its POOLREQ.",
		"# TYPE leasewire_failover_addresses_given_total counter",
		"leasewire_failover_addresses_given_total{relationship=\"fo1\"} 121",
		"# HELP leasewire_failover_communications_ok 1 while the link is up and the "
		"partner's state is known.",
		"# TYPE leasewire_failover_communications_ok gauge",
		"leasewire_failover_communications_ok{relationship=\"fo1\"} 1",
		"leasewire_failover_communications_ok{relationship=\"fo2\"} 0",
		"# HELP leasewire_failover_in_flight Binding updates sent and waiting for their "
		"BNDACK.",
		"# TYPE leasewire_failover_in_flight gauge",
		"leasewire_failover_in_flight{relationship=\"fo1\"} 2",
		"leasewire_failover_in_flight{relationship=\"fo2\"} 0",
		"# HELP leasewire_failover_link_accepts_total Connections accepted from the "
		"partner.",
		"# TYPE leasewire_failover_link_accepts_total counter",
		"leasewire_failover_link_accepts_total{relationship=\"fo1\"} 0",
		"# HELP leasewire_failover_link_connects_total Connections made to the partner.",
		"# TYPE leasewire_failover_link_connects_total counter",
		"leasewire_failover_link_connects_total{relationship=\"fo1\"} 3",
		"# HELP leasewire_failover_link_messages_received_total Failover messages received "
		"from the partner, of any type.",
		"# TYPE leasewire_failover_link_messages_received_total counter",
		"leasewire_failover_link_messages_received_total{relationship=\"fo1\"} 250",
		"# HELP leasewire_failover_link_messages_sent_total Failover messages sent to the "
		"partner, of any type.",
		"# TYPE leasewire_failover_link_messages_sent_total counter",
		"leasewire_failover_link_messages_sent_total{relationship=\"fo1\"} 260",
		"# HELP leasewire_failover_link_refused_duplicate_total Connections closed: "
		"another link to the partner was up.",
		"# TYPE leasewire_failover_link_refused_duplicate_total counter",
		"leasewire_failover_link_refused_duplicate_total{relationship=\"fo1\"} 1",
		"# HELP leasewire_failover_link_refused_source_total Connections closed: not "
		"from the partner's address.",
		"# TYPE leasewire_failover_link_refused_source_total counter",
		"leasewire_failover_link_refused_source_total{relationship=\"fo1\"} 0",
		"# HELP leasewire_failover_link_startup_timeouts_total Connections closed "
		"without a handshake.",
		"# TYPE leasewire_failover_link_startup_timeouts_total counter",
		"leasewire_failover_link_startup_timeouts_total{relationship=\"fo1\"} 0",
		"# HELP leasewire_failover_messages_total Failover messages, by type and "
		"direction.",
		"# TYPE leasewire_failover_messages_total counter",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"bndack\","
		"direction=\"received\"} 117",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"bndack\","
		"direction=\"sent\"} 118",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"bndupd\","
		"direction=\"received\"} 118",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"bndupd\","
		"direction=\"sent\"} 120",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"poolreq\","
		"direction=\"received\"} 1",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"rejects\","
		"direction=\"received\"} 1",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"rejects\","
		"direction=\"sent\"} 0",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"upddone\","
		"direction=\"received\"} 0",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"upddone\","
		"direction=\"sent\"} 1",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"updreq\","
		"direction=\"received\"} 0",
		"leasewire_failover_messages_total{relationship=\"fo1\",message=\"updreqall\","
		"direction=\"received\"} 1",
		"# HELP leasewire_failover_partner_state Failover state of the partner as it last "
		"reported it (same codes).",
		"# TYPE leasewire_failover_partner_state gauge",
		"leasewire_failover_partner_state{relationship=\"fo1\"} 3",
		"leasewire_failover_partner_state{relationship=\"fo2\"} 0",
		"# HELP leasewire_failover_queued Bindings waiting to be sent to the partner.",
		"# TYPE leasewire_failover_queued gauge",
		"leasewire_failover_queued{relationship=\"fo1\"} 1",
		"leasewire_failover_queued{relationship=\"fo2\"} 0",
		"# HELP leasewire_failover_state Failover state of this server "
		"(draft-ietf-dhc-failover-12 code; recover-wait 254).",
		"# TYPE leasewire_failover_state gauge",
		"leasewire_failover_state{relationship=\"fo1\"} 2",
		"leasewire_failover_state{relationship=\"fo2\"} 254",
		"# HELP leasewire_failover_state_since_seconds Unix time this server entered its "
		"failover state.",
		"# TYPE leasewire_failover_state_since_seconds gauge",
		"leasewire_failover_state_since_seconds{relationship=\"fo1\"} 1795392616",
		"leasewire_failover_state_since_seconds{relationship=\"fo2\"} 1795399990",
		"# HELP leasewire_failover_unacked Bindings the partner has not acknowledged yet.",
		"# TYPE leasewire_failover_unacked gauge",
		"leasewire_failover_unacked{relationship=\"fo1\"} 3",
		"leasewire_failover_unacked{relationship=\"fo2\"} 0",
		NULL
	};
	static const struct {
		const char *state;
		int code;
	} codes[] = {
		{ "unknown-state", 0 }, { "startup", 1 }, { "normal", 2 },
		{ "communications-interrupted", 3 }, { "partner-down", 4 },
		{ "potential-conflict", 5 }, { "recover", 6 }, { "paused", 7 },
		{ "shutdown", 8 }, { "recover-done", 9 }, { "resolution-interrupted", 10 },
		{ "conflict-done", 11 }, { "recover-wait", 254 },
	};
	char *text, *save = NULL, *line;
	char in[256], line_want[128];
	size_t i = 0;
	int ret;

	(void)state;
	/* The whole answer (its arguments list) is accepted. */
	text = prometheus("{'result': 0, 'arguments': [" FO1 ", " FO2 "]}", &ret);
	assert_int_equal(ret, 0);
	check_exposition(text);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		assert_non_null(want[i]);
		assert_string_equal(line, want[i]);
		i++;
	}
	assert_null(want[i]);
	free(text);

	/* Every state has its code; a state the client does not know is left out. */
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(in, sizeof(in), "[{'name': 'r', 'state': '%s'}]", codes[i].state);
		text = prometheus(in, &ret);
		assert_int_equal(ret, 0);
		snprintf(line_want, sizeof(line_want), "leasewire_failover_state{relationship="
			 "\"r\"} %d\n", codes[i].code);
		assert_non_null(strstr(text, line_want));
		free(text);
	}
	text = prometheus("[{'name': 'r', 'state': 'dancing', 'partner-state': 'normal'}]", &ret);
	assert_int_equal(ret, 0);
	assert_null(strstr(text, "leasewire_failover_state{"));
	assert_non_null(strstr(text, "leasewire_failover_partner_state{relationship=\"r\"} 2\n"));
	free(text);
	/* No relationship: an empty exposition. */
	text = prometheus("[]", &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(text, "");
	free(text);
}

/* ------------------------------------------------------------------------------------------ */
/* ctlc_call against a fake server                                                             */

enum fake_mode {
	FAKE_ANSWER,	/* read the request, write the canned answer, close */
	FAKE_CLOSE,	/* read the request, close without a word */
	FAKE_HANG,	/* read the request, say nothing until released */
};

#define FAKE_MAX 8

struct fake {
	char path[100];
	int lfd;
	int release[2];			/* FAKE_HANG waits for a byte on release[0] */
	int n;				/* connections to serve */
	enum fake_mode mode[FAKE_MAX];
	const char *answer[FAKE_MAX];	/* written as is (with ' turned into ") */
	size_t answer_len[FAKE_MAX];	/* 0 = strlen */
	char *request[FAKE_MAX];	/* what each connection sent */
	pthread_t thread;
};

static char *read_to_eof(int fd)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);
	ssize_t n;

	assert_non_null(b);
	while ((n = read(fd, b + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			char *nb = realloc(b, cap);

			assert_non_null(nb);
			b = nb;
		}
	}
	b[len] = '\0';
	return b;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0) {
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < f->n; i++) {
		int fd = accept(f->lfd, NULL, NULL);

		if (fd < 0) {
			break;
		}
		f->request[i] = read_to_eof(fd);
		if (f->mode[i] == FAKE_ANSWER) {
			char *a = strdup(f->answer[i]);
			size_t len = f->answer_len[i] != 0 ? f->answer_len[i] : strlen(a);

			for (size_t k = 0; k < len; k++) {
				if (a[k] == '\'') {
					a[k] = '"';
				}
			}
			write_all(fd, a, len);
			free(a);
		} else if (f->mode[i] == FAKE_HANG) {
			struct pollfd p = { .fd = f->release[0], .events = POLLIN };

			poll(&p, 1, 30000);
		}
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", tdir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(pipe(f->release), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	assert_int_equal(write(f->release[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	close(f->release[0]);
	close(f->release[1]);
	unlink(f->path);
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < FAKE_MAX; i++) {
		free(f->request[i]);
		f->request[i] = NULL;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_call_ok(void **state)
{
	struct fake f = {
		.n = 1, .mode = { FAKE_ANSWER },
		.answer = { "{'result': 0, 'text': 'leasewire 0.1.0', "
			    "'arguments': {'version': '0.1.0'}}\n" },
	};
	json_t *req = jq("{'command': 'version-get'}");
	json_t *answer = NULL, *sent;
	char err[256] = "";

	(void)state;
	fake_start(&f);
	assert_int_equal(ctlc_call(f.path, req, 5.0, &answer, err, sizeof(err)), 0);
	fake_stop(&f);
	/* One compact object and a newline went out. */
	assert_non_null(f.request[0]);
	assert_int_equal(f.request[0][strlen(f.request[0]) - 1], '\n');
	sent = json_loads(f.request[0], 0, NULL);
	assert_json_equal(sent, req);
	assert_string_equal(json_string_value(json_object_get(json_object_get(answer,
		"arguments"), "version")), "0.1.0");
	json_decref(sent);
	json_decref(answer);
	json_decref(req);
	fake_free(&f);
}

static void test_call_big_answer(void **state)
{
	size_t n = 20000;
	struct buf_s {
		char *p;
		size_t len;
	} b = { malloc(64 * n + 64), 0 };
	struct fake f = { .n = 1, .mode = { FAKE_ANSWER } };
	json_t *req = jq("{'command': 'lease4-get-all'}");
	json_t *answer = NULL;
	char err[256] = "";

	(void)state;
	assert_non_null(b.p);
	b.len = (size_t)sprintf(b.p, "{'result': 0, 'arguments': {'leases': [");
	for (size_t i = 0; i < n; i++) {
		b.len += (size_t)sprintf(b.p + b.len, "%s{'ip-address': '10.%zu.%zu.%zu'}",
					 i != 0 ? "," : "", i >> 16, (i >> 8) & 255, i & 255);
	}
	b.len += (size_t)sprintf(b.p + b.len, "]}}\n");
	f.answer[0] = b.p;
	fake_start(&f);
	assert_int_equal(ctlc_call(f.path, req, 5.0, &answer, err, sizeof(err)), 0);
	fake_stop(&f);
	assert_true(b.len > 500000);
	assert_int_equal(json_array_size(json_object_get(json_object_get(answer, "arguments"),
							 "leases")), n);
	json_decref(answer);
	json_decref(req);
	free(b.p);
	fake_free(&f);
}

static void test_call_closed(void **state)
{
	struct fake f = { .n = 1, .mode = { FAKE_CLOSE } };
	json_t *req = jq("{'command': 'status-get'}");
	json_t *answer = (json_t *)1;
	char err[256] = "", want[256];

	(void)state;
	fake_start(&f);
	assert_int_equal(ctlc_call(f.path, req, 5.0, &answer, err, sizeof(err)), -ENODATA);
	fake_stop(&f);
	assert_null(answer);
	snprintf(want, sizeof(want), "%s closed the connection without answering", f.path);
	assert_string_equal(err, want);
	json_decref(req);
	fake_free(&f);
}

static void test_call_timeout(void **state)
{
	struct fake f = { .n = 1, .mode = { FAKE_HANG } };
	json_t *req = jq("{'command': 'status-get'}");
	json_t *answer = NULL;
	char err[256] = "", want[256];
	double t0, dt;

	(void)state;
	fake_start(&f);
	t0 = now_s();
	assert_int_equal(ctlc_call(f.path, req, 0.3, &answer, err, sizeof(err)), -ETIMEDOUT);
	dt = now_s() - t0;
	fake_stop(&f);
	assert_null(answer);
	assert_true(dt >= 0.29);
	assert_true(dt < 2.0);
	snprintf(want, sizeof(want), "%s did not answer within 0.3 s", f.path);
	assert_string_equal(err, want);
	json_decref(req);
	fake_free(&f);
}

static void test_call_garbage(void **state)
{
	struct fake f = {
		.n = 4, .mode = { FAKE_ANSWER, FAKE_ANSWER, FAKE_ANSWER, FAKE_ANSWER },
		.answer = { "hello\n", "{'result': 'ok'}", "[0]", "{'result': 0, 'text': 'x'" },
	};
	static const char *const want[] = {
		"line 1 column 5: '[' or '{' expected near 'hello'",
		"not an object with an integer \"result\"",
		"not an object with an integer \"result\"",
		"line 1 column 25: '}' expected near end of file",
	};
	json_t *req = jq("{'command': 'status-get'}");
	char err[512], w[512];

	(void)state;
	fake_start(&f);
	for (int i = 0; i < 4; i++) {
		json_t *answer = (json_t *)1;

		assert_int_equal(ctlc_call(f.path, req, 5.0, &answer, err, sizeof(err)),
				 -EBADMSG);
		assert_null(answer);
		snprintf(w, sizeof(w), "bad answer from %s: %s", f.path, want[i]);
		assert_string_equal(err, w);
	}
	fake_stop(&f);
	json_decref(req);
	fake_free(&f);
}

static void test_call_no_server(void **state)
{
	json_t *req = jq("{'command': 'status-get'}");
	json_t *answer = NULL;
	char err[512], want[512], path[200];
	char longpath[200];

	(void)state;
	snprintf(path, sizeof(path), "%s/nobody.sock", tdir);
	assert_int_equal(ctlc_call(path, req, 1.0, &answer, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot connect to %s: No such file or directory "
		 "(is leasewired running?)", path);
	assert_string_equal(err, want);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(ctlc_call(longpath, req, 1.0, &answer, err, sizeof(err)),
			 -ENAMETOOLONG);
	assert_int_equal(ctlc_call(path, req, 0, &answer, err, sizeof(err)), -EINVAL);
	json_decref(req);
	req = jq("[1]");
	assert_int_equal(ctlc_call(path, req, 1.0, &answer, err, sizeof(err)), -EINVAL);
	json_decref(req);
	assert_null(answer);
}

/* lease list: pages are chained by "from" and merged into one answer. */
static void test_call_all_pages(void **state)
{
	struct fake f = {
		.n = 3, .mode = { FAKE_ANSWER, FAKE_ANSWER, FAKE_ANSWER },
		.answer = {
			"{'result': 0, 'text': '2 leases', 'arguments': {'count': 2, 'leases': ["
			"{'ip-address': '198.18.0.9'}, {'ip-address': '198.18.0.10'}]}}",
			"{'result': 0, 'text': '1 lease', 'arguments': {'count': 1, 'leases': ["
			"{'ip-address': '198.18.1.1'}]}}",
			"{'result': 3, 'text': 'no more leases'}",
		},
	};
	static const char *const from[] = { "start", "198.18.0.10", "198.18.1.1" };
	char *argv[] = { "lease", "list", "--scope", "lab", NULL };
	json_t *req = NULL, *answer = NULL, *want;
	char err[256] = "";

	(void)state;
	assert_int_equal(ctlc_request_from_argv(4, argv, &req, err, sizeof(err)), 0);
	fake_start(&f);
	assert_int_equal(ctlc_call_all(f.path, req, 5.0, &answer, err, sizeof(err)), 0);
	fake_stop(&f);
	for (int i = 0; i < 3; i++) {
		json_t *sent = json_loads(f.request[i], 0, NULL);
		json_t *args = json_object_get(sent, "arguments");

		assert_string_equal(json_string_value(json_object_get(sent, "command")),
				    "lease4-get-page");
		assert_string_equal(json_string_value(json_object_get(args, "from")), from[i]);
		assert_int_equal(json_integer_value(json_object_get(args, "limit")), 1000);
		assert_string_equal(json_string_value(json_array_get(json_object_get(args,
			"scopes"), 0)), "lab");
		json_decref(sent);
	}
	want = jq("{'result': 0, 'text': '3 leases', 'arguments': {'count': 3, 'leases': ["
		  "{'ip-address': '198.18.0.9'}, {'ip-address': '198.18.0.10'},"
		  " {'ip-address': '198.18.1.1'}]}}");
	assert_json_equal(answer, want);
	/* The caller's request was not changed. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(req, "arguments"),
							       "from")), "start");
	json_decref(want);
	json_decref(answer);
	json_decref(req);
	fake_free(&f);
}

static void test_call_all_edges(void **state)
{
	struct fake f = {
		.n = 5,
		.mode = { FAKE_ANSWER, FAKE_ANSWER, FAKE_ANSWER, FAKE_ANSWER, FAKE_ANSWER },
		.answer = {
			/* 1: empty from the start: the server's own answer */
			"{'result': 3, 'text': '0 leases found'}",
			/* 2: an error on the second page stops the walk */
			"{'result': 0, 'arguments': {'leases': [{'ip-address': '198.18.0.9'}]}}",
			"{'result': 1, 'text': 'store busy'}",
			/* 3: a page that does not move forward */
			"{'result': 0, 'arguments': {'leases': [{'ip-address': '198.18.0.9'}]}}",
			"{'result': 0, 'arguments': {'leases': [{'ip-address': '198.18.0.9'}]}}",
		},
	};
	json_t *req = jq("{'command': 'lease4-get-page', 'arguments': "
			 "{'from': 'start', 'limit': 1000}}");
	json_t *answer = NULL;
	char err[256] = "", want[256];

	(void)state;
	fake_start(&f);
	assert_int_equal(ctlc_call_all(f.path, req, 5.0, &answer, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(answer, "result")), 3);
	assert_string_equal(json_string_value(json_object_get(answer, "text")), "0 leases found");
	json_decref(answer);

	assert_int_equal(ctlc_call_all(f.path, req, 5.0, &answer, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(answer, "result")), 1);
	assert_string_equal(json_string_value(json_object_get(answer, "text")), "store busy");
	json_decref(answer);

	assert_int_equal(ctlc_call_all(f.path, req, 5.0, &answer, err, sizeof(err)), -EBADMSG);
	assert_null(answer);
	snprintf(want, sizeof(want), "bad answer from %s: the page after 198.18.0.9 does not "
		 "move forward", f.path);
	assert_string_equal(err, want);
	fake_stop(&f);
	json_decref(req);
	fake_free(&f);
}

/* Any other command goes through ctlc_call unchanged. */
static void test_call_all_plain(void **state)
{
	struct fake f = {
		.n = 1, .mode = { FAKE_ANSWER }, .answer = { "{'result': 2, 'text': 'nope'}" },
	};
	json_t *req = jq("{'command': 'lease4-gte'}");
	json_t *answer = NULL, *sent;
	char err[256] = "";

	(void)state;
	fake_start(&f);
	assert_int_equal(ctlc_call_all(f.path, req, 5.0, &answer, err, sizeof(err)), 0);
	fake_stop(&f);
	sent = json_loads(f.request[0], 0, NULL);
	assert_json_equal(sent, req);
	assert_int_equal(json_integer_value(json_object_get(answer, "result")), 2);
	json_decref(sent);
	json_decref(answer);
	json_decref(req);
	fake_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_table),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_synopsis),
		cmocka_unit_test(test_relative_write),
		cmocka_unit_test(test_stdin_file),
		cmocka_unit_test(test_render_leases),
		cmocka_unit_test(test_render_lease),
		cmocka_unit_test(test_render_scopes),
		cmocka_unit_test(test_render_stats),
		cmocka_unit_test(test_render_status),
		cmocka_unit_test(test_render_hostile_numbers),
		cmocka_unit_test(test_render_status_failover),
		cmocka_unit_test(test_render_failover),
		cmocka_unit_test(test_render_misc),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_prometheus_failover),
		cmocka_unit_test(test_call_ok),
		cmocka_unit_test(test_call_big_answer),
		cmocka_unit_test(test_call_closed),
		cmocka_unit_test(test_call_timeout),
		cmocka_unit_test(test_call_garbage),
		cmocka_unit_test(test_call_no_server),
		cmocka_unit_test(test_call_all_pages),
		cmocka_unit_test(test_call_all_edges),
		cmocka_unit_test(test_call_all_plain),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
