#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "telemetry.h"

/* Set while the workers exist; the telemetry thread may call us at any time. */
static const struct dp_runtime *_Atomic tel_rt;
/* Set while the committer exists (NULL: no store). */
static const struct committer *_Atomic tel_cm;

static void sum(struct dp_counters *c)
{
	const struct dp_runtime *rt = atomic_load(&tel_rt);

	memset(c, 0, sizeof(*c));
	for (uint32_t i = 0; rt != NULL && i < rt->n_workers; i++) {
		dp_counters_add(c, &rt->workers[i].ctr);
	}
}

/* The rows of the counter table (common/counter_table.h) with all of @p flags. */
static void add_counters(struct rte_tel_data *d, const struct dp_counters *c, unsigned flags)
{
	for (size_t i = 0; i < dp_counter_n_descs; i++) {
		const struct dp_counter_desc *cd = &dp_counter_descs[i];

		if ((cd->flags & flags) == flags) {
			rte_tel_data_add_dict_u64(d, cd->tel, dp_counter_value(c, cd));
		}
	}
	rte_tel_data_add_dict_u64(d, "drops", dp_counters_drops(c));
}

static int on_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters c;

	(void)cmd;
	(void)params;
	sum(&c);
	rte_tel_data_start_dict(d);
	add_counters(d, &c, 0);
	return 0;
}

static int on_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters c;

	(void)cmd;
	(void)params;
	sum(&c);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < DP_DROP_MAX; i++) {
		rte_tel_data_add_dict_u64(d, dp_drop_str(i), c.drop[i]);
	}
	return 0;
}

static int on_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dp_runtime *rt = atomic_load(&tel_rt);
	const struct dp_counters *c;
	char *end;
	unsigned long id;

	(void)cmd;
	if (params == NULL || *params == '\0') {
		return -1;
	}
	id = strtoul(params, &end, 10);
	if (*end != '\0' || rt == NULL || id >= rt->n_workers) {
		return -1;
	}
	c = &rt->workers[id].ctr;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "lcore", rt->workers[id].lcore);
	add_counters(d, c, LW_CTR_WORKER);
	return 0;
}

/* The committer's counter rows and histogram buckets (common/counter_table.h). */
static int on_store(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct committer *cm = atomic_load(&tel_cm);
	const struct committer_stats *st;
	char name[64];

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	if (cm == NULL) {
		return 0;
	}
	st = committer_stats(cm);
#define X(member, stat, help) \
	rte_tel_data_add_dict_u64(d, #member, atomic_load(&st->member));
	LW_STORE_COUNTER_TABLE(X)
#undef X
#define X(member, stat, tel, bucket, help) \
	for (unsigned i = 0; i < COMMITTER_HIST_BUCKETS; i++) { \
		if (i + 1 < COMMITTER_HIST_BUCKETS) { \
			snprintf(name, sizeof(name), "%s_%s_%llu", tel, bucket, \
				 COMMITTER_BOUND_##member(i)); \
		} else { \
			snprintf(name, sizeof(name), "%s_inf", tel); \
		} \
		rte_tel_data_add_dict_u64(d, name, atomic_load(&st->member[i])); \
	}
	LW_STORE_HIST_TABLE(X)
#undef X
	return 0;
}

void cp_telemetry_detach(void)
{
	atomic_store(&tel_rt, NULL);
	atomic_store(&tel_cm, NULL);
}

int cp_telemetry_register(const struct dp_runtime *rt, const struct committer *cm)
{
	atomic_store(&tel_rt, rt);
	atomic_store(&tel_cm, cm);
	if (rte_telemetry_register_cmd("/leasewire/stats", on_stats,
				       "leasewire requests, replies and drops, all workers") != 0 ||
	    rte_telemetry_register_cmd("/leasewire/drops", on_drops,
				       "leasewire drops by reason, all workers") != 0 ||
	    rte_telemetry_register_cmd("/leasewire/worker", on_worker,
				       "one leasewire worker's counters. Parameter: worker id") != 0 ||
	    rte_telemetry_register_cmd("/leasewire/store", on_store,
				       "leasewire store committer: counters, commit latency and "
				       "batch size histograms") != 0) {
		return -1;
	}
	return 0;
}
