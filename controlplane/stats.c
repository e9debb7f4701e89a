#include <stdio.h>
#include <string.h>

#include "log.h"
#include "stats.h"
#include "worker.h"

_Static_assert(sizeof(struct dp_counters) % sizeof(uint64_t) == 0,
	       "struct dp_counters is an array of uint64_t counters");

void cp_stats_init(struct cp_stats *s, const struct dp_runtime *rt)
{
	s->rt = rt;
	memset(&s->baseline, 0, sizeof(s->baseline));
}

void cp_stats_sum(const struct cp_stats *s, struct dp_counters *sum, bool since_reset)
{
	/* Every field is a uint64_t (counters.h): the baseline is subtracted as an array. */
	const uint64_t *b = (const uint64_t *)&s->baseline;
	uint64_t *a = (uint64_t *)sum;

	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < s->rt->n_workers; i++) {
		dp_counters_add(sum, &s->rt->workers[i].ctr);
	}
	for (size_t i = 0; since_reset && i < sizeof(*sum) / sizeof(uint64_t); i++) {
		a[i] -= b[i];
	}
}

void cp_stats_reset(struct cp_stats *s)
{
	struct dp_counters now;

	cp_stats_sum(s, &now, false);
	s->baseline = now;
}

void cp_stats_log(const char *what, const struct dp_counters *c)
{
	char line[2048] = "";
	size_t off = 0;

	/* The logged rows of the counter table, the sum of the drops, then each drop seen. */
	for (size_t i = 0; i < dp_counter_n_descs && off < sizeof(line); i++) {
		const struct dp_counter_desc *cd = &dp_counter_descs[i];

		if (cd->log != NULL) {
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu", cd->log,
						(unsigned long long)dp_counter_value(c, cd));
		}
	}
	if (off < sizeof(line)) {
		off += (size_t)snprintf(line + off, sizeof(line) - off, " drops=%llu",
					(unsigned long long)dp_counters_drops(c));
	}
	for (unsigned i = 0; i < DP_DROP_MAX && off < sizeof(line); i++) {
		if (c->drop[i] != 0) {
			off += (size_t)snprintf(line + off, sizeof(line) - off, " drop_%s=%llu",
						dp_drop_str(i), (unsigned long long)c->drop[i]);
		}
	}
	cp_log(CP_LOG_INFO, "%s%s", what, line);
}
