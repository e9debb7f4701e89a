/*
 * The documentation against the tables: doc/leasewirectl.1 documents every command line form
 * of the client (its words on a .B line, each of its options, the protocol command it sends)
 * and doc/control-protocol.md lists every command of common/ctl_proto.c. A command added to
 * a table without its documentation fails here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_proto.h"
#include "ctlc.h"

static char *slurp(const char *rel)
{
	const char *dir = getenv("LW_SRCDIR");
	char path[1024];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : LW_SRCDIR, rel);
	f = fopen(path, "r");
	if (f == NULL) {
		fail_msg("cannot read %s", path);
	}
	text = malloc(1 << 20);
	assert_non_null(text);
	len = fread(text, 1, (1 << 20) - 1, f);
	text[len] = '\0';
	fclose(f);
	return text;
}

/*
 * The man page as plain text, one line per source line: font escapes (\fB, \fI, \fR, \fP)
 * and double quotes removed, "\-" as "-", runs of spaces as one. Lines of a font macro
 * (.B, .BI, .BR, .I, .IR, .RB) keep a leading "@" so that a command's heading can be found.
 */
static char *man_plain(const char *src)
{
	char *out = malloc(strlen(src) + 1), *o = out;
	bool bol = true;

	assert_non_null(out);
	for (const char *s = src; *s != '\0'; s++) {
		if (bol && *s == '.') {
			size_t n = strcspn(s, " \n");

			if (n <= 3 && strchr("BIR", s[1]) != NULL) {
				*o++ = '@';
			}
			s += n - 1;
			bol = false;
			continue;
		}
		bol = *s == '\n';
		if (s[0] == '\\' && s[1] == 'f' && s[2] != '\0') {
			s += 2;
		} else if (s[0] == '\\' && s[1] == '-') {
			*o++ = '-';
			s++;
		} else if (*s == '"') {
			continue;
		} else if (*s == ' ' && o > out && (o[-1] == ' ' || o[-1] == '@')) {
			continue;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static void test_man_page(void **state)
{
	char *src = slurp("doc/leasewirectl.1");
	char *man = man_plain(src);

	(void)state;
	assert_true(ctlc_cli_count() > 30);
	for (size_t i = 0; i < ctlc_cli_count(); i++) {
		struct ctlc_cli c;
		char head[128];
		const char *p;

		assert_int_equal(ctlc_cli_get(i, &c), 0);
		snprintf(head, sizeof(head), "\n@%s%s%s", c.word, c.sub != NULL ? " " : "",
			 c.sub != NULL ? c.sub : "");
		for (p = strstr(man, head); p != NULL; p = strstr(p + 1, head)) {
			char next = p[strlen(head)];

			if (next == ' ' || next == '\n') {
				break;
			}
		}
		if (p == NULL) {
			fail_msg("doc/leasewirectl.1 has no heading for \"%s\"", head + 2);
		}
		if (c.command != NULL && strstr(man, c.command) == NULL) {
			fail_msg("doc/leasewirectl.1 does not name %s (sent by \"%s\")", c.command,
				 head + 2);
		}
		for (size_t k = 0; c.options[k] != NULL; k++) {
			char opt[64];

			snprintf(opt, sizeof(opt), "--%s", c.options[k]);
			if (strstr(man, opt) == NULL) {
				fail_msg("doc/leasewirectl.1 does not document %s of \"%s\"", opt,
					 head + 2);
			}
		}
	}
	free(man);
	free(src);
}

static void test_protocol_doc(void **state)
{
	char *md = slurp("doc/control-protocol.md");

	(void)state;
	for (size_t i = 0; i < CTL_CMD__COUNT; i++) {
		char name[80];

		snprintf(name, sizeof(name), "| `%s`", ctl_proto_cmds[i].name);
		if (strstr(md, name) == NULL) {
			snprintf(name, sizeof(name), "/ `%s`", ctl_proto_cmds[i].name);
		}
		if (strstr(md, name) == NULL) {
			fail_msg("doc/control-protocol.md lists no command %s",
				 ctl_proto_cmds[i].name);
		}
	}
	free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page),
		cmocka_unit_test(test_protocol_doc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
