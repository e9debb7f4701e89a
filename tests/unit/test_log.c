/*
 * The log is one line per event whatever the text from outside holds: a failover partner's
 * reject message or a string from the control socket with a newline must not forge a line
 * (an "event=" line of its own), and escaped values cannot close their quotes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* Run cp_log(@p text as a quoted value) with stderr sent to a file; the output. */
static char *logged(const char *text)
{
	static char out[8192];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(f);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) >= 0);
	cp_log(CP_LOG_WARN, "event=failover-link link=rejected message=\"%s\"", text);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;

	for (; *s != '\0'; s++) {
		n += *s == '\n';
	}
	return n;
}

static void control_characters_never_start_a_line(void **state)
{
	const char *out;

	(void)state;
	out = logged("bad\n2026-01-01T00:00:00.000Z info event=shutdown by=control-socket"
		     "\r\x1b[2J");
	assert_int_equal(lines(out), 1);
	assert_non_null(strstr(out, "message=\"bad\\n2026-01-01T00:00:00.000Z info "
				    "event=shutdown"));
	assert_non_null(strstr(out, "control-socket\\r\\x1b[2J\"\n"));
}

static void escaped_values_keep_their_quotes(void **state)
{
	char buf[CP_LOG_ESC_SIZE(64)];
	const char *evil = "x\" event=config-applied source=\\ \n\x7f\xc3";
	const char *out;

	(void)state;
	assert_string_equal(cp_log_esc(buf, sizeof(buf), evil, strlen(evil)),
			    "x\\\" event=config-applied source=\\\\ \\x0a\\x7f\\xc3");
	out = logged(buf);
	assert_int_equal(lines(out), 1);
	/* Only the quotes of the format: the value's own are escaped. */
	assert_non_null(strstr(out, "message=\"x\\\" event=config-applied"));
	/* Bounded by the length given and by the buffer, never cut mid-escape. */
	assert_string_equal(cp_log_esc(buf, sizeof(buf), "ab\ncd", 3), "ab\\x0a");
	assert_string_equal(cp_log_esc(buf, 5, "ab\ncd", 5), "ab");
	assert_string_equal(cp_log_esc(buf, sizeof(buf), NULL, 5), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_characters_never_start_a_line),
		cmocka_unit_test(escaped_values_keep_their_quotes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
