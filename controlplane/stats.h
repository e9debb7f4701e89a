/*
 * stats: the daemon's view of the workers' counters: their sum, the statistic-reset baseline
 * and the periodic log line.
 *
 * Workers own their counters (struct dp_counters in each dp_worker, counters.h) and write them
 * without atomics; the sum is read lock-free and may be a few packets behind. The baseline is
 * a whole struct dp_counters subtracted field by field, so a counter added to the struct needs
 * nothing here but (if wanted) a place in the log line.
 *
 * Threads: control thread only.
 */
#pragma once

#include <stdbool.h>

#include "counters.h"

struct ctl_server;
struct dp_runtime;

/**
 * One watched counter (a resource that runs out shows as a drop counter that rises): begins
 * when the counter rises, ends once it has stayed flat for a quiet period.
 */
struct cp_watch {
	uint64_t last;			/**< the counter at the previous step */
	uint64_t at_start;		/**< the counter when the episode began */
	uint64_t start_ms, rise_ms;	/**< when it began, when the counter last rose */
	bool on;			/**< an episode is on */
	bool primed;			/**< `last` holds a value */
};

/** What cp_watch_step() saw. */
enum cp_watch_edge {
	CP_WATCH_NONE = 0,
	CP_WATCH_BEGIN,			/**< the counter rose while no episode was on */
	CP_WATCH_END,			/**< flat for quiet_ms: the episode is over */
};

/**
 * Feed @p w the counter's current @p value at @p now_ms (monotonic). The first call only
 * primes it. Pure; any thread that owns @p w.
 */
enum cp_watch_edge cp_watch_step(struct cp_watch *w, uint64_t value, uint64_t now_ms,
				 uint64_t quiet_ms);

/** The drop reasons that mean a resource ran out (cp_stats_watch()). */
#define CP_WATCH_N 5

struct cp_stats {
	const struct dp_runtime *rt;	/**< whose workers are summed (kept, not owned) */
	struct dp_counters baseline;	/**< statistic-reset subtracts this */
	struct cp_watch watch[CP_WATCH_N];	/**< cp_stats_watch() */
	const struct ctl_server *ctl;	/**< the control socket (kept, not owned; NULL: none),
					 *   whose counters statistic-get shows and
					 *   cp_stats_watch() watches */
	struct cp_watch ctl_watch[2];	/**< write timeouts, refused connections */
};

/** Sum counters of @p rt's workers from now on; the baseline starts at zero. */
void cp_stats_init(struct cp_stats *s, const struct dp_runtime *rt);

/** Sum of the workers' counters into @p sum, minus the baseline when @p since_reset. */
void cp_stats_sum(const struct cp_stats *s, struct dp_counters *sum, bool since_reset);

/** statistic-reset: the sum as it is now becomes the baseline. */
void cp_stats_reset(struct cp_stats *s);

/**
 * Turn the drop counters of exhausted resources into events (control loop, about once a
 * second): "event=resource-exhausted resource=R drop=D" (warning) when drop-D starts rising,
 * "event=resource-recovered resource=R dropped=N after-ms=M" once it has not risen for 5 s.
 * Resources: park (replies waiting for durability), commit-ring (changes waiting for the
 * committer), steer-ring (frames handed between workers), tx-queue (the NIC's), binding-records
 * (the workers' record stock). The counters themselves are statistic-get's drop-* rows.
 * Also the control socket's clients: "event=control-client-dropped reason=never-read" when
 * control-write-timeouts starts rising, "reason=too-many-connections" for
 * control-refused-busy, and "event=control-clients-recovered" once they stop.
 */
void cp_stats_watch(struct cp_stats *s, uint64_t now_ms);

/** Log one counters line, "@p what rx=... drops=... drop_<reason>=..." (INFO). */
void cp_stats_log(const char *what, const struct dp_counters *c);
