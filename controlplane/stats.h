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

struct dp_runtime;

struct cp_stats {
	const struct dp_runtime *rt;	/**< whose workers are summed (kept, not owned) */
	struct dp_counters baseline;	/**< statistic-reset subtracts this */
};

/** Sum counters of @p rt's workers from now on; the baseline starts at zero. */
void cp_stats_init(struct cp_stats *s, const struct dp_runtime *rt);

/** Sum of the workers' counters into @p sum, minus the baseline when @p since_reset. */
void cp_stats_sum(const struct cp_stats *s, struct dp_counters *sum, bool since_reset);

/** statistic-reset: the sum as it is now becomes the baseline. */
void cp_stats_reset(struct cp_stats *s);

/** Log one counters line, "@p what rx=... drops=... drop_<reason>=..." (INFO). */
void cp_stats_log(const char *what, const struct dp_counters *c);
