/*
 * Unit tests of the counter table (common/counter_table.h) as the data plane expands it:
 * every row has distinct names, its offset reads the member the row names, and every drop
 * reason has its own name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "counters.h"
#include "frame.h"

static const struct dp_counter_desc *desc(const char *stat)
{
	for (size_t i = 0; i < dp_counter_n_descs; i++) {
		if (strcmp(dp_counter_descs[i].stat, stat) == 0) {
			return &dp_counter_descs[i];
		}
	}
	fail_msg("no counter %s", stat);
	return NULL;
}

static void test_rows(void **state)
{
	size_t rows = 0;

	(void)state;
#define S(m, stat, tel, log, flags, help) rows++;
#define E(a, i, stat, tel, log, flags, help) rows++;
	LW_COUNTER_TABLE(S, E)
#undef S
#undef E
	assert_int_equal(dp_counter_n_descs, rows);
	for (size_t i = 0; i < dp_counter_n_descs; i++) {
		const struct dp_counter_desc *a = &dp_counter_descs[i];

		assert_true(a->offset % sizeof(uint64_t) == 0);
		assert_true(a->offset < offsetof(struct dp_counters, drop));
		for (size_t k = 0; k < i; k++) {
			const struct dp_counter_desc *b = &dp_counter_descs[k];

			assert_true(a->offset != b->offset);
			assert_string_not_equal(a->stat, b->stat);
			assert_string_not_equal(a->tel, b->tel);
			if (a->log != NULL && b->log != NULL) {
				assert_string_not_equal(a->log, b->log);
			}
		}
	}
}

static void test_values(void **state)
{
	struct dp_counters c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.rx = 1;
	c.rx_dhcp[DHCP4_DISCOVER] = 7;
	c.tx_dhcp[DHCP4_ACK] = 8;
	c.tx_dhcp[DHCP4_BOOTP] = 5;
	c.options_dropped = 3;
	assert_int_equal(dp_counter_value(&c, desc("pkt4-received")), 1);
	assert_int_equal(dp_counter_value(&c, desc("pkt4-discover-received")), 7);
	assert_int_equal(dp_counter_value(&c, desc("pkt4-ack-sent")), 8);
	assert_int_equal(dp_counter_value(&c, desc("pkt4-bootreply-sent")), 5);
	assert_int_equal(dp_counter_value(&c, desc("pkt4-bootp-received")), 0);
	assert_int_equal(dp_counter_value(&c, desc("options-dropped")), 3);
	assert_string_equal(desc("pkt4-discover-received")->log, "discover");
	assert_null(desc("pkt4-bootreply-sent")->log);
}

static void test_drops(void **state)
{
	(void)state;
	for (unsigned i = 0; i < DP_DROP_MAX; i++) {
		assert_string_not_equal(dp_drop_str(i), "unknown");
		for (unsigned k = 0; k < i; k++) {
			assert_string_not_equal(dp_drop_str(i), dp_drop_str(k));
		}
	}
	assert_string_equal(dp_drop_str(DP_DROP_POOL_EXHAUSTED), "pool_exhausted");
	assert_string_equal(dp_drop_str(DP_DROP_MAX), "unknown");
	/* Well-formed ICMP that is not an echo request is not malformed (issue 11). */
	assert_int_equal(dp_drop_from_err(DP_FE_ICMP), DP_DROP_ICMP_MALFORMED);
	assert_int_equal(dp_drop_from_err(DP_FE_ICMP_OTHER), DP_DROP_ICMP_OTHER);
	assert_string_equal(dp_drop_str(DP_DROP_ICMP_OTHER), "icmp_not_echo_request");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
