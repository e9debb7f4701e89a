/*
 * lwb_hist: a log-linear latency histogram in the manner of HdrHistogram, fixed size, no
 * allocation, O(1) record.
 *
 * Values are unsigned integers (leasewire-bench records nanoseconds). Below 2^LWB_HIST_SUB
 * every value has its own bucket (exact); above, each power of two [2^k, 2^(k+1)) is split
 * into 2^(LWB_HIST_SUB-1) equal buckets, so a value is known to within 1/64 of itself
 * (1.6 %) at any magnitude. Values at or above 2^LWB_HIST_MAXBITS land in the last bucket
 * (max still records them exactly).
 *
 * A struct lwb_hist belongs to one thread; merge per-interval histograms into a total with
 * lwb_hist_merge() on that thread or after it is done. Plain C, unit tested
 * (tests/unit/test_lwb_hist.c).
 */
#pragma once

#include <stdint.h>

#define LWB_HIST_SUB		7	/**< 128 exact values, then 64 buckets per octave */
#define LWB_HIST_MAXBITS	40	/**< ~1100 s in ns: anything above is clamped */
#define LWB_HIST_BUCKETS	((LWB_HIST_MAXBITS - LWB_HIST_SUB + 2) << (LWB_HIST_SUB - 1))

struct lwb_hist {
	uint64_t count;
	uint64_t min, max;	/**< exact; min is UINT64_MAX while count is 0 */
	uint64_t sum;		/**< for the mean */
	uint64_t b[LWB_HIST_BUCKETS];
};

/** Empty @p h. */
void lwb_hist_reset(struct lwb_hist *h);

/** Bucket of value @p v (exposed for the unit test). */
static inline unsigned lwb_hist_bucket(uint64_t v)
{
	unsigned msb, e;

	if (v < (1u << LWB_HIST_SUB)) {
		return (unsigned)v;
	}
	if (v >= (1ull << LWB_HIST_MAXBITS)) {
		return LWB_HIST_BUCKETS - 1;
	}
	msb = 63u - (unsigned)__builtin_clzll(v);
	e = msb - LWB_HIST_SUB + 1;	/* >= 1: v >> e is in [2^(SUB-1), 2^SUB) */
	return (e << (LWB_HIST_SUB - 1)) + (unsigned)(v >> e);
}

/** Record one value. */
static inline void lwb_hist_add(struct lwb_hist *h, uint64_t v)
{
	h->b[lwb_hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min) {
		h->min = v;
	}
	if (v > h->max) {
		h->max = v;
	}
}

/** Add every value of @p from into @p to. */
void lwb_hist_merge(struct lwb_hist *to, const struct lwb_hist *from);

/**
 * The value at quantile @p q (0 < q <= 1): the highest value that the bucket holding the
 * ceil(q * count)-th smallest value can hold, bounded by max (HdrHistogram's "highest
 * equivalent value"). So the result is >= the exact quantile and at most 1/64 above it.
 * @return 0 when the histogram is empty.
 */
uint64_t lwb_hist_quantile(const struct lwb_hist *h, double q);
