#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "telemetry.h"

/* Set while the workers exist; the telemetry thread may call us at any time. */
static const struct dp_runtime *_Atomic tel_rt;

static void sum(struct dp_counters *c)
{
	const struct dp_runtime *rt = atomic_load(&tel_rt);

	memset(c, 0, sizeof(*c));
	for (uint32_t i = 0; rt != NULL && i < rt->n_workers; i++) {
		dp_counters_add(c, &rt->workers[i].ctr);
	}
}

static void add_types(struct rte_tel_data *d, const struct dp_counters *c)
{
	static const char *const rx[DHCP4_TYPE_MAX] = {
		"bootp_received", "discover_received", NULL, "request_received",
		"decline_received", NULL, NULL, "release_received", "inform_received",
	};
	static const char *const tx[DHCP4_TYPE_MAX] = {
		"bootreply_sent", NULL, "offer_sent", NULL, NULL, "ack_sent", "nak_sent", NULL,
		NULL,
	};

	for (unsigned t = 0; t < DHCP4_TYPE_MAX; t++) {
		if (rx[t] != NULL) {
			rte_tel_data_add_dict_u64(d, rx[t], c->rx_dhcp[t]);
		}
		if (tx[t] != NULL) {
			rte_tel_data_add_dict_u64(d, tx[t], c->tx_dhcp[t]);
		}
	}
}

static int on_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters c;

	(void)cmd;
	(void)params;
	sum(&c);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx", c.rx);
	rte_tel_data_add_dict_u64(d, "tx", c.tx);
	add_types(d, &c);
	rte_tel_data_add_dict_u64(d, "arp_replies", c.arp_replies);
	rte_tel_data_add_dict_u64(d, "icmp_replies", c.icmp_replies);
	rte_tel_data_add_dict_u64(d, "steered", c.steered);
	rte_tel_data_add_dict_u64(d, "parked", c.parked);
	rte_tel_data_add_dict_u64(d, "leases_reclaimed", c.leases_reclaimed);
	rte_tel_data_add_dict_u64(d, "options_dropped", c.options_dropped);
	rte_tel_data_add_dict_u64(d, "handoff_overflow", c.handoff_overflow);
	rte_tel_data_add_dict_u64(d, "addresses_lent", c.lent);
	rte_tel_data_add_dict_u64(d, "addresses_borrowed", c.borrowed);
	rte_tel_data_add_dict_u64(d, "drops", dp_counters_drops(&c));
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
	rte_tel_data_add_dict_u64(d, "rx", c->rx);
	rte_tel_data_add_dict_u64(d, "tx", c->tx);
	add_types(d, c);
	rte_tel_data_add_dict_u64(d, "steered", c->steered);
	rte_tel_data_add_dict_u64(d, "parked", c->parked);
	rte_tel_data_add_dict_u64(d, "drops", dp_counters_drops(c));
	return 0;
}

void cp_telemetry_detach(void)
{
	atomic_store(&tel_rt, NULL);
}

int cp_telemetry_register(const struct dp_runtime *rt)
{
	atomic_store(&tel_rt, rt);
	if (rte_telemetry_register_cmd("/leasewire/stats", on_stats,
				       "leasewire requests, replies and drops, all workers") != 0 ||
	    rte_telemetry_register_cmd("/leasewire/drops", on_drops,
				       "leasewire drops by reason, all workers") != 0 ||
	    rte_telemetry_register_cmd("/leasewire/worker", on_worker,
				       "one leasewire worker's counters. Parameter: worker id") != 0) {
		return -1;
	}
	return 0;
}
