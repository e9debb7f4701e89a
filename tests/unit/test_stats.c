/*
 * Exhausted resources as events (stats.c cp_stats_watch()): a drop counter of a resource that
 * ran out (here the park: replies waiting for a store that does not commit) starts an episode
 * with one event=resource-exhausted however long it keeps rising, and the episode ends with
 * one event=resource-recovered once the counter has been flat for 5 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "stats.h"
#include "worker.h"

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;

	for (s = strstr(s, what); s != NULL; s = strstr(s + 1, what)) {
		n++;
	}
	return n;
}

/* Run cp_stats_watch() at @p now_ms with stderr sent to a file; what it logged. */
static char *watch(struct cp_stats *st, uint64_t now_ms)
{
	static char out[4096];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) >= 0);
	cp_stats_watch(st, now_ms);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static void watch_step_edges(void **state)
{
	struct cp_watch w;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(cp_watch_step(&w, 7, 0, 5000), CP_WATCH_NONE);	/* primes */
	assert_int_equal(cp_watch_step(&w, 7, 1000, 5000), CP_WATCH_NONE);
	assert_int_equal(cp_watch_step(&w, 9, 2000, 5000), CP_WATCH_BEGIN);
	assert_int_equal(cp_watch_step(&w, 12, 3000, 5000), CP_WATCH_NONE);
	assert_int_equal(cp_watch_step(&w, 12, 7999, 5000), CP_WATCH_NONE);
	assert_int_equal(cp_watch_step(&w, 12, 8000, 5000), CP_WATCH_END);
	assert_int_equal(w.last - w.at_start, 5);
	assert_int_equal(cp_watch_step(&w, 12, 9000, 5000), CP_WATCH_NONE);
	assert_int_equal(cp_watch_step(&w, 13, 10000, 5000), CP_WATCH_BEGIN);
}

static void park_full_is_one_episode(void **state)
{
	struct dp_runtime *rt = calloc(1, sizeof(*rt));
	struct cp_stats st;
	const char *out;

	(void)state;
	assert_non_null(rt);
	rt->n_workers = 2;
	rt->workers = calloc(2, sizeof(*rt->workers));
	assert_non_null(rt->workers);
	cp_stats_init(&st, rt);
	rt->workers[1].ctr.drop[DP_DROP_PARK_FULL] = 3;	/* from before: no event */
	assert_string_equal(watch(&st, 0), "");
	rt->workers[1].ctr.drop[DP_DROP_PARK_FULL] = 10;
	out = watch(&st, 1000);
	assert_int_equal(count(out, "event=resource-exhausted resource=park drop=park_full"), 1);
	for (uint64_t t = 2000; t <= 5000; t += 1000) {
		rt->workers[0].ctr.drop[DP_DROP_PARK_FULL] += 100;
		assert_string_equal(watch(&st, t), "");
	}
	assert_string_equal(watch(&st, 9999), "");
	out = watch(&st, 10000);
	assert_int_equal(count(out, "event=resource-recovered resource=park dropped=407 "
			       "after-ms=4000"), 1);
	assert_int_equal(count(out, "event="), 1);
	free(rt->workers);
	free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(watch_step_edges),
		cmocka_unit_test(park_full_is_one_episode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
