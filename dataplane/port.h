/*
 * port: bring up the DPDK ports named in the configuration.
 *
 * A port is a PCI device bound to a DPDK driver (probed by the EAL at start) or a virtual
 * device created here from its devargs ("net_af_packet0,iface=veth0"). Every port gets one RX
 * and one TX queue per worker: worker i polls RX queue i and transmits on TX queue i of every
 * port, so no queue is ever shared.
 *
 * Control thread only, before the workers start and after they stop; but for one field,
 * dp_port_state.tx_csum, which follows a vhost port's peer while the workers run (below).
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
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
	/** enum dp_tx_csum bits: the TX checksum offloads the port advertised, all enabled at
	 *  set-up (net_vhost's UDP included). Written before the workers start. */
	uint8_t tx_csum_cap;
	/** Set when the port is a net_vhost (tx_csum then follows its peer). */
	bool vhost;
	/** The LSC callback that keeps tx_csum in step is registered (port.c). */
	int lsc_cb;
	/**
	 * enum dp_tx_csum bits: the checksums the worker leaves to the port now (worker.c
	 * tx_csum_offload()); 0: every checksum is computed in software, as on net_ring and
	 * net_af_packet. tx_csum_cap on every port but net_vhost, where it is tx_csum_cap
	 * while a peer is connected that negotiated VIRTIO_NET_F_GUEST_CSUM, and 0 otherwise:
	 * without it the PMD would complete each sum in software itself
	 * (vhost_dev_tx_sw_csum()), which costs the worker more than its own sum
	 * (doc/performance.md "Checksum offloads").
	 *
	 * Writers: the control thread at set-up (before the workers run) and once after the
	 * port has started; then net_vhost's RTE_ETH_EVENT_INTR_LSC callback, on the vhost-user
	 * events thread, at each connection and disconnection. Each writer reads the peer's
	 * state and stores under one mutex (port.c), so the last store follows the last
	 * change. Readers: the workers, with a relaxed atomic load, once per reply; the value
	 * read decides both the reply's build (dp_frame.tx_csum) and its ol_flags, so a reply is
	 * always either summed in full or seeded with its offload flags. The flag carries no
	 * other data, hence relaxed. Any value is correct, whatever the peer negotiated by the
	 * time the mbuf reaches the PMD: a seeded reply to a peer without GUEST_CSUM is
	 * completed by the PMD in software (slower, right), a summed one without ol_flags goes
	 * out as it is. A stale value costs time only: for as long as a burst in flight, and
	 * after a connection until the callback has run (the PMD enables the queues before it
	 * raises the event: the first replies to a GUEST_CSUM peer may carry full sums).
	 */
	_Atomic uint8_t tx_csum;
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

/**
 * Stop and close every started port (and remove vdevs). Safe on a partial start. Unregisters
 * the net_vhost event callback first (waiting for a running one to return).
 */
void dp_ports_stop(const struct dp_config *cfg, struct dp_port_state *ps);
