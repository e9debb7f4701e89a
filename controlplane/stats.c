#include <stdio.h>
#include <string.h>

#include "log.h"
#include "stats.h"
#include "worker.h"

_Static_assert(sizeof(struct dp_counters) % sizeof(uint64_t) == 0,
	       "struct dp_counters is an array of uint64_t counters");

void cp_stats_init(struct cp_stats *s, const struct dp_runtime *rt)
{
	s->rt = rt;
	memset(&s->baseline, 0, sizeof(s->baseline));
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

void cp_stats_log(const char *what, const struct dp_counters *c)
{
	char drops[1024];
	size_t off = 0;

	drops[0] = '\0';
	for (unsigned i = 0; i < DP_DROP_MAX && off < sizeof(drops); i++) {
		if (c->drop[i] != 0) {
			off += (size_t)snprintf(drops + off, sizeof(drops) - off, " drop_%s=%llu",
						dp_drop_str(i), (unsigned long long)c->drop[i]);
		}
	}
	cp_log(CP_LOG_INFO,
	       "%s rx=%llu tx=%llu discover=%llu offer=%llu request=%llu ack=%llu nak=%llu "
	       "decline=%llu release=%llu inform=%llu bootp=%llu arp=%llu icmp=%llu "
	       "reclaimed=%llu steered=%llu parked=%llu drops=%llu%s", what,
	       (unsigned long long)c->rx, (unsigned long long)c->tx,
	       (unsigned long long)c->rx_dhcp[DHCP4_DISCOVER],
	       (unsigned long long)c->tx_dhcp[DHCP4_OFFER],
	       (unsigned long long)c->rx_dhcp[DHCP4_REQUEST],
	       (unsigned long long)c->tx_dhcp[DHCP4_ACK],
	       (unsigned long long)c->tx_dhcp[DHCP4_NAK],
	       (unsigned long long)c->rx_dhcp[DHCP4_DECLINE],
	       (unsigned long long)c->rx_dhcp[DHCP4_RELEASE],
	       (unsigned long long)c->rx_dhcp[DHCP4_INFORM],
	       (unsigned long long)c->rx_dhcp[DHCP4_BOOTP],
	       (unsigned long long)c->arp_replies, (unsigned long long)c->icmp_replies,
	       (unsigned long long)c->leases_reclaimed, (unsigned long long)c->steered,
	       (unsigned long long)c->parked, (unsigned long long)dp_counters_drops(c), drops);
}
