/* leasewire-bench's latency histogram: buckets, quantiles against exact ones, merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lwb_hist.h"

static struct lwb_hist h, h2;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The exact quantile with the histogram's rank rule: the ceil(q * n)-th smallest value. */
static uint64_t exact(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n);

	if ((double)rank < q * (double)n) {
		rank++;
	}
	return sorted[(rank ? rank : 1) - 1];
}

static void test_empty(void **state)
{
	(void)state;
	lwb_hist_reset(&h);
	assert_int_equal(lwb_hist_quantile(&h, 0.5), 0);
	assert_int_equal(h.count, 0);
}

static void test_exact_small_values(void **state)
{
	(void)state;
	lwb_hist_reset(&h);
	for (uint64_t v = 0; v < 128; v++) {
		lwb_hist_add(&h, v);
	}
	assert_int_equal(lwb_hist_quantile(&h, 0.5), 63);
	assert_int_equal(lwb_hist_quantile(&h, 0.9), 115);	/* ceil(115.2) = 116th */
	assert_int_equal(lwb_hist_quantile(&h, 1.0), 127);
	assert_int_equal(h.min, 0);
	assert_int_equal(h.max, 127);
}

static void test_buckets_monotonic(void **state)
{
	unsigned prev = 0;

	(void)state;
	for (uint64_t v = 0; v < (1ull << 41); v = v < 4096 ? v + 1 : v + v / 97) {
		unsigned b = lwb_hist_bucket(v);

		assert_true(b >= prev);
		assert_true(b < LWB_HIST_BUCKETS);
		prev = b;
	}
	assert_int_equal(lwb_hist_bucket(UINT64_MAX), LWB_HIST_BUCKETS - 1);
	/* Octave boundaries: 127 exact, 128 and 129 share a bucket, 130 is the next one. */
	assert_int_equal(lwb_hist_bucket(127), 127);
	assert_int_equal(lwb_hist_bucket(128), lwb_hist_bucket(129));
	assert_int_equal(lwb_hist_bucket(130), lwb_hist_bucket(128) + 1);
}

/* Log-normal-ish latencies from 100 ns to ~100 ms: every quantile within 1/64 above exact. */
static void test_quantiles_against_exact(void **state)
{
	static const double qs[] = {0.5, 0.9, 0.99, 0.999, 1.0};
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v)), x = 88172645463325252ull;

	(void)state;
	assert_non_null(v);
	lwb_hist_reset(&h);
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* 100 ns shifted left by 0..19 bits, plus noise: spans many octaves */
		v[i] = (100 + (x & 1023)) << ((x >> 10) % 20);
		lwb_hist_add(&h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	assert_int_equal(h.count, N);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[N - 1]);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t want = exact(v, N, qs[k]), got = lwb_hist_quantile(&h, qs[k]);

		assert_true(got >= want);
		assert_true(got <= want + want / 64 + 1);
	}
	free(v);
}

static void test_merge(void **state)
{
	struct lwb_hist *all = malloc(sizeof(*all));

	(void)state;
	assert_non_null(all);
	lwb_hist_reset(&h);
	lwb_hist_reset(&h2);
	lwb_hist_reset(all);
	for (uint64_t v = 1; v < 100000; v += 7) {
		lwb_hist_add(v % 3 ? &h : &h2, v * 13);
		lwb_hist_add(all, v * 13);
	}
	lwb_hist_merge(&h, &h2);
	assert_memory_equal(&h, all, sizeof(*all));
	assert_int_equal(lwb_hist_quantile(&h, 0.99), lwb_hist_quantile(all, 0.99));
	free(all);
}

static void test_clamped_values_keep_max(void **state)
{
	(void)state;
	lwb_hist_reset(&h);
	lwb_hist_add(&h, 10);
	lwb_hist_add(&h, 1ull << 50);
	assert_int_equal(lwb_hist_quantile(&h, 0.5), 10);
	assert_int_equal(lwb_hist_quantile(&h, 1.0), 1ull << 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_exact_small_values),
		cmocka_unit_test(test_buckets_monotonic),
		cmocka_unit_test(test_quantiles_against_exact),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_clamped_values_keep_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
