/*
 * counters: per-worker packet and decision counters.
 *
 * Each worker owns one struct dp_counters (inside its cache-aligned lcore state) and is its
 * only writer; plain increments, no atomics. The control plane reads them at any time and
 * sums them (dp_counters_add()); a reader may see a value one increment old, never a torn one
 * (aligned 64-bit loads on every target we build for).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "counter_table.h"
#include "dhcp4_wire.h"

/** Why a frame or request was dropped or left unanswered: the rows of LW_DROP_TABLE
 *  (common/counter_table.h), which also give each its name (dp_drop_str()) and help. */
enum dp_drop {
#define X(id, name, help) DP_DROP_##id,
	LW_DROP_TABLE(X)
#undef X
	DP_DROP_MAX
};

/**
 * One worker's counters. The scalar members are the S rows of LW_COUNTER_TABLE
 * (common/counter_table.h, with their help); the E rows name elements of rx_dhcp/tx_dhcp.
 */
struct dp_counters {
	uint64_t rx_dhcp[DHCP4_TYPE_MAX];	/**< requests by type (0 = BOOTP) */
	uint64_t tx_dhcp[DHCP4_TYPE_MAX];	/**< replies by type (0 = BOOTREPLY) */
#define S(member, stat, tel, log, flags, help) uint64_t member;
#define E(array, index, stat, tel, log, flags, help)
	LW_COUNTER_TABLE(S, E)
#undef S
#undef E
	uint64_t drop[DP_DROP_MAX];
};

/**
 * Name and place of one row of LW_COUNTER_TABLE (DPDK's eth_dev_stats_strings[]): what the
 * control plane loops over to show the counters, in the table's order.
 */
struct dp_counter_desc {
	const char *stat;	/**< statistic-get name, "pkt4-received" */
	const char *tel;	/**< telemetry name, "rx" */
	const char *log;	/**< log line name, "rx"; NULL: not logged */
	unsigned int flags;	/**< LW_CTR_* */
	size_t offset;		/**< of the uint64_t in struct dp_counters */
};

/** The rows of LW_COUNTER_TABLE, in its order; dp_counter_n_descs of them. */
extern const struct dp_counter_desc dp_counter_descs[];
extern const size_t dp_counter_n_descs;

/** The value of row @p d in @p c. */
static inline uint64_t dp_counter_value(const struct dp_counters *c,
					const struct dp_counter_desc *d)
{
	return *(const uint64_t *)(const void *)((const char *)c + d->offset);
}

/** Counter name of a drop reason (static string, snake_case). */
const char *dp_drop_str(unsigned reason);

/** Drop reason of a negative dp_frame_parse() or dhcp4_parse() result. */
enum dp_drop dp_drop_from_err(int err);

/** acc += c, field by field. */
void dp_counters_add(struct dp_counters *acc, const struct dp_counters *c);

/** Sum of all drop reasons. */
uint64_t dp_counters_drops(const struct dp_counters *c);
