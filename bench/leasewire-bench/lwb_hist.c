/* lwb_hist: log-linear latency histogram (see lwb_hist.h). */
#include "lwb_hist.h"

#include <math.h>
#include <string.h>

void lwb_hist_reset(struct lwb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void lwb_hist_merge(struct lwb_hist *to, const struct lwb_hist *from)
{
	for (unsigned i = 0; i < LWB_HIST_BUCKETS; i++) {
		to->b[i] += from->b[i];
	}
	to->count += from->count;
	to->sum += from->sum;
	if (from->min < to->min) {
		to->min = from->min;
	}
	if (from->max > to->max) {
		to->max = from->max;
	}
}

/* The highest value bucket @p i holds. */
static uint64_t bucket_high(unsigned i)
{
	unsigned e, half = 1u << (LWB_HIST_SUB - 1);

	if (i < (1u << LWB_HIST_SUB)) {
		return i;
	}
	e = i / half - 1;
	return (((uint64_t)(i % half + half) + 1) << e) - 1;
}

uint64_t lwb_hist_quantile(const struct lwb_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0) {
		return 0;
	}
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1) {
		rank = 1;
	}
	if (rank > h->count) {
		rank = h->count;
	}
	for (unsigned i = 0; i < LWB_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t v = i == LWB_HIST_BUCKETS - 1 ? h->max : bucket_high(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
