/*
 * port: bring up the DPDK ports named in the configuration.
 *
 * A port is a PCI device bound to a DPDK driver (probed by the EAL at start) or a virtual
 * device created here from its devargs ("net_af_packet0,iface=veth0"). Every port gets one RX
 * and one TX queue per worker: worker i polls RX queue i and transmits on TX queue i of every
 * port, so no queue is ever shared.
 *
 * Control thread only, before the workers start and after they stop.
 */
#pragma once

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "dp_config.h"
#include "frame.h"
#include "lw_attr.h"

struct dp_port_state {
	uint16_t port_id;		/**< DPDK ethdev id */
	struct rte_ether_addr mac;
	char driver[32];
	int started;
	/** enum dp_tx_csum bits: the checksums this port computes on transmit (the TX
	 *  offloads it advertised, enabled at set-up). The worker leaves those of a DHCP
	 *  reply to it (worker.c tx_csum_offload()); 0: every checksum is computed in
	 *  software, as on net_ring and net_af_packet. */
	uint8_t tx_csum;
};

/**
 * Create (vdev) or find (PCI) every configured port, configure @p n_queues queue pairs and
 * start it.
 * @param[out] ps   one entry per cfg->ports[i].
 * @param err,errlen  a message naming the port and the reason on failure.
 * @return 0 or a negative errno.
 */
_mustcheck_
int dp_ports_start(const struct dp_config *cfg, uint16_t n_queues, struct rte_mempool *mp,
		   struct dp_port_state *ps, char *err, size_t errlen);

/** Stop and close every started port (and remove vdevs). Safe on a partial start. */
void dp_ports_stop(const struct dp_config *cfg, struct dp_port_state *ps);
