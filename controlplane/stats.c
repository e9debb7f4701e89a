#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

_Static_assert(sizeof(struct dp_counters) % sizeof(uint64_t) == 0,
	       "struct dp_counters is an array of uint64_t counters");

void cp_stats_init(struct cp_stats *s, const struct dp_runtime *rt)
{
	s->rt = rt;
	memset(&s->baseline, 0, sizeof(s->baseline));
	memset(s->watch, 0, sizeof(s->watch));
	memset(s->ctl_watch, 0, sizeof(s->ctl_watch));
	s->ctl = NULL;
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

enum cp_watch_edge cp_watch_step(struct cp_watch *w, uint64_t value, uint64_t now_ms,
				 uint64_t quiet_ms)
{
	bool rose = w->primed && value > w->last;

	w->primed = true;
	if (rose) {
		w->rise_ms = now_ms;
	}
	if (rose && !w->on) {
		w->on = true;
		w->at_start = w->last;
		w->start_ms = now_ms;
		w->last = value;
		return CP_WATCH_BEGIN;
	}
	w->last = value;
	if (w->on && !rose && now_ms - w->rise_ms >= quiet_ms) {
		w->on = false;
		return CP_WATCH_END;
	}
	return CP_WATCH_NONE;
}

#define WATCH_QUIET_MS 5000

static const struct {
	enum dp_drop drop;
	const char *resource;
	const char *what;
} watched[CP_WATCH_N] = {
	{DP_DROP_PARK_FULL, "park", "replies wait for durability: the store is slow or "
	 "failing (see event=store-unavailable); REQUESTs are dropped, the rest is served"},
	{DP_DROP_COMMIT_FULL, "commit-ring", "changes wait for the committer: the store is "
	 "slow or failing; requests that change a binding are dropped"},
	{DP_DROP_STEER_FULL, "steer-ring", "a worker is behind: frames for its clients are "
	 "dropped"},
	{DP_DROP_TX_FULL, "tx-queue", "the port's transmit queue is full: replies are dropped"},
	{DP_DROP_NO_RECORD, "binding-records", "no binding record free (records wait out "
	 "an RCU grace period): new bindings are refused"},
};

void cp_stats_watch(struct cp_stats *s, uint64_t now_ms)
{
	struct dp_counters sum;

	cp_stats_sum(s, &sum, false);
	for (unsigned i = 0; i < CP_WATCH_N; i++) {
		struct cp_watch *w = &s->watch[i];
		uint64_t v = sum.drop[watched[i].drop];

		switch (cp_watch_step(w, v, now_ms, WATCH_QUIET_MS)) {
		case CP_WATCH_BEGIN:
			cp_log(CP_LOG_WARN, "event=resource-exhausted resource=%s drop=%s (%s)",
			       watched[i].resource, dp_drop_str(watched[i].drop), watched[i].what);
			break;
		case CP_WATCH_END:
			cp_log(CP_LOG_INFO, "event=resource-recovered resource=%s dropped=%llu "
			       "after-ms=%llu", watched[i].resource,
			       (unsigned long long)(w->last - w->at_start),
			       (unsigned long long)(w->rise_ms - w->start_ms));
			break;
		default:
			break;
		}
	}
	if (s->ctl != NULL) {
		const struct ctl_stats *cs = ctl_server_stats(s->ctl);
		static const char *const why[2] = {"never-read", "too-many-connections"};
		uint64_t v[2] = {cs->write_timeouts, cs->refused_busy};

		for (unsigned i = 0; i < 2; i++) {
			struct cp_watch *w = &s->ctl_watch[i];

			switch (cp_watch_step(w, v[i], now_ms, WATCH_QUIET_MS)) {
			case CP_WATCH_BEGIN:
				cp_log(CP_LOG_WARN, "event=control-client-dropped reason=%s (%s)",
				       why[i], i == 0 ? "a client did not read its answer in time: "
				       "its connection was closed, the others are served" :
				       "every control connection is taken: new ones are refused");
				break;
			case CP_WATCH_END:
				cp_log(CP_LOG_INFO, "event=control-clients-recovered reason=%s "
				       "dropped=%llu", why[i],
				       (unsigned long long)(w->last - w->at_start));
				break;
			default:
				break;
			}
		}
	}
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
