#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_bus_vdev.h>
#include <rte_eth_vhost.h>
#include <rte_ethdev.h>
#include <rte_vhost.h>

#include "port.h"

#define RX_DESC 1024
#define TX_DESC 1024

static bool is_vdev(const char *device)
{
	return strncmp(device, "net_", 4) == 0 || strncmp(device, "eth_", 4) == 0;
}

/* "net_af_packet0,iface=x" -> name "net_af_packet0", args "iface=x". */
static void split_devargs(const char *device, char *name, size_t len, const char **args)
{
	const char *comma = strchr(device, ',');
	size_t n = comma ? (size_t)(comma - device) : strlen(device);

	if (n >= len) {
		n = len - 1;
	}
	memcpy(name, device, n);
	name[n] = '\0';
	*args = comma ? comma + 1 : "";
}

static int find_port(const struct dp_port *p, uint16_t *id, char *err, size_t errlen)
{
	char name[RTE_DEV_NAME_MAX_LEN];
	const char *args;
	int rc;

	split_devargs(p->device, name, sizeof(name), &args);
	if (is_vdev(p->device)) {
		rc = rte_vdev_init(name, args);
		if (rc != 0) {
			snprintf(err, errlen, "ports.%s: cannot create device \"%s\": %s", p->name,
				 p->device, rte_strerror(-rc));
			return rc < 0 ? rc : -EINVAL;
		}
	}
	rc = rte_eth_dev_get_port_by_name(name, id);
	if (rc != 0) {
		snprintf(err, errlen, "ports.%s: no DPDK port \"%s\" (is the device bound to "
			 "vfio-pci and allowed by the EAL arguments?)", p->name, name);
		return -ENODEV;
	}
	return 0;
}

/* Serialises the writers of dp_port_state.tx_csum (port.h): the control thread after the
 * start and the LSC callback on the vhost-user events thread. Each reads the peer's state
 * under it, so whichever stores last has read the state after the last change. */
static pthread_mutex_t tx_csum_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Set @p st->tx_csum from the peer of the net_vhost port: tx_csum_cap while the link is up
 * with a peer that negotiated VIRTIO_NET_F_GUEST_CSUM, else 0. On a started port the PMD
 * sets the link state and the queues' vid before it raises the event (rte_eth_vhost.c
 * new_device(), destroy_device()), and the vhost library frees a peer's device only after
 * the event's callbacks have returned (one of which waits for tx_csum_lock), so the vid read
 * here names a live device or none (rte_vhost_get_negotiated_features() then fails: 0).
 * Before the start the queues do not know the vid yet (queue_setup()): what is read then may
 * be wrong, and setup() reads again once the port has started, before any worker runs.
 */
static void vhost_tx_csum_update(struct dp_port_state *st)
{
	struct rte_eth_link link;
	uint64_t features = 0;
	uint8_t tx = 0;
	int vid;

	pthread_mutex_lock(&tx_csum_lock);
	if (rte_eth_link_get_nowait(st->port_id, &link) == 0 &&
	    link.link_status == RTE_ETH_LINK_UP) {
		vid = rte_eth_vhost_get_vid_from_port_id(st->port_id);
		if (vid >= 0 && rte_vhost_get_negotiated_features(vid, &features) == 0 &&
		    (features & (1ull << VIRTIO_NET_F_GUEST_CSUM))) {
			tx = st->tx_csum_cap;
		}
	}
	atomic_store_explicit(&st->tx_csum, tx, memory_order_relaxed);
	pthread_mutex_unlock(&tx_csum_lock);
}

/* RTE_ETH_EVENT_INTR_LSC of a net_vhost port: a peer connected or went away. On the
 * vhost-user events thread (rte_eth_vhost.c new_device(), destroy_device()). */
static int vhost_lsc(uint16_t port_id, enum rte_eth_event_type event, void *arg, void *ret)
{
	(void)port_id;
	(void)event;
	(void)ret;
	vhost_tx_csum_update(arg);
	return 0;
}

static int setup(const struct dp_port *p, struct dp_port_state *st, uint16_t nq,
		 struct rte_mempool *mp, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrx = RX_DESC, ntx = TX_DESC;
	int rc, socket;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(st->port_id, &info);
	if (rc != 0) {
		goto fail;
	}
	snprintf(st->driver, sizeof(st->driver), "%s", info.driver_name);
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		snprintf(err, errlen, "ports.%s: %s has %u RX / %u TX queues, %u workers need %u "
			 "of each (for af_packet add qpairs=%u to the device)", p->name,
			 info.driver_name, info.max_rx_queues, info.max_tx_queues, nq, nq, nq);
		return -EINVAL;
	}
	if (nq > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_IP)) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
	}
	/* Where the port can verify the IPv4 and UDP checksums of what it receives, let it:
	 * the worker then skips its own sum of a frame the port marks GOOD (worker.c
	 * rx_verified()). Other frames are summed in software as ever. */
	conf.rxmode.offloads = info.rx_offload_capa &
			       (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	/* Likewise on transmit: a port that can compute the UDP (and IPv4 header) checksum of
	 * a reply gets it to do, and the worker only seeds the pseudo-header
	 * (dp_frame_udp_csum_offload()). On net_vhost only while its peer negotiated
	 * VIRTIO_NET_F_GUEST_CSUM (vhost_tx_csum_update()): the partial sum then goes to the
	 * guest in the virtio-net header, for nothing. Without it the PMD completes the sum in
	 * software itself (rte_eth_vhost.c vhost_dev_tx_sw_csum(): it parses the headers and
	 * sums the whole datagram), which cost the worker far more than its own sum (net_vhost
	 * went from 1.6 % to 14.9 % of its samples, doc/performance.md "Checksum offloads").
	 * The offload is enabled on the port all the same: what the peer negotiates is known
	 * only once it connects, and again at each reconnection. */
	conf.txmode.offloads = info.tx_offload_capa &
			       (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
	st->tx_csum_cap = (uint8_t)((conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM ?
				     DP_TX_CSUM_UDP : 0u) |
				    (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM ?
				     DP_TX_CSUM_IP : 0u));
	st->vhost = strcmp(info.driver_name, "net_vhost") == 0;
	atomic_store_explicit(&st->tx_csum, st->vhost ? 0 : st->tx_csum_cap,
			      memory_order_relaxed);
	if (st->vhost) {
		/* Before configure: net_vhost starts its vhost-user socket there, and a peer
		 * may connect at once. */
		rc = rte_eth_dev_callback_register(st->port_id, RTE_ETH_EVENT_INTR_LSC, vhost_lsc,
						   st);
		if (rc != 0) {
			goto fail;
		}
		st->lsc_cb = 1;
	}
	rc = rte_eth_dev_configure(st->port_id, nq, nq, &conf);
	if (rc != 0) {
		goto fail;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(st->port_id, &nrx, &ntx);
	if (rc != 0) {
		goto fail;
	}
	socket = rte_eth_dev_socket_id(st->port_id);
	for (uint16_t q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(st->port_id, q, nrx, socket, NULL, mp);
		if (rc != 0) {
			goto fail;
		}
		rc = rte_eth_tx_queue_setup(st->port_id, q, ntx, socket, NULL);
		if (rc != 0) {
			goto fail;
		}
	}
	rc = rte_eth_dev_start(st->port_id);
	if (rc != 0) {
		goto fail;
	}
	st->started = 1;
	if (st->vhost) {
		/* A peer that connected before the start was not yet on the queues, where
		 * rte_eth_vhost_get_vid_from_port_id() looks: read it again. */
		vhost_tx_csum_update(st);
	}
	/* Clients broadcast, relays unicast to our MAC: promiscuous mode costs nothing here and
	 * some virtual devices refuse it, which is harmless. */
	(void)rte_eth_promiscuous_enable(st->port_id);
	return rte_eth_macaddr_get(st->port_id, &st->mac);
fail:
	snprintf(err, errlen, "ports.%s: cannot set up %s: %s", p->name, p->device,
		 rte_strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -EIO;
}

int dp_ports_start(const struct dp_config *cfg, uint16_t n_queues, struct rte_mempool *mp,
		   struct dp_port_state *ps, char *err, size_t errlen)
{
	int rc;

	memset(ps, 0, sizeof(*ps) * cfg->n_ports);
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		ps[i].port_id = UINT16_MAX;
		rc = find_port(&cfg->ports[i], &ps[i].port_id, err, errlen);
		if (rc == 0) {
			rc = setup(&cfg->ports[i], &ps[i], n_queues, mp, err, errlen);
		}
		if (rc != 0) {
			dp_ports_stop(cfg, ps);
			return rc;
		}
	}
	return 0;
}

/* Remove vhost_lsc() from @p st's port. A callback running now makes the call fail with
 * -EAGAIN: wait for it, 1 ms at a time, up to 5 s (it takes a mutex held only briefly).
 * After that it is left registered: st outlives the port (dp_runtime). */
static void lsc_unregister(struct dp_port_state *st)
{
	const struct timespec ms = {.tv_nsec = 1000000};

	for (int i = 0; i < 5000; i++) {
		if (rte_eth_dev_callback_unregister(st->port_id, RTE_ETH_EVENT_INTR_LSC, vhost_lsc,
						    st) != -EAGAIN) {
			break;
		}
		(void)nanosleep(&ms, NULL);
	}
	st->lsc_cb = 0;
}

void dp_ports_stop(const struct dp_config *cfg, struct dp_port_state *ps)
{
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		char name[RTE_DEV_NAME_MAX_LEN];
		const char *args;

		if (ps[i].port_id == UINT16_MAX) {
			continue;
		}
		if (ps[i].lsc_cb) {
			lsc_unregister(&ps[i]);
		}
		if (ps[i].started) {
			(void)rte_eth_dev_stop(ps[i].port_id);
			ps[i].started = 0;
		}
		(void)rte_eth_dev_close(ps[i].port_id);
		if (is_vdev(cfg->ports[i].device)) {
			split_devargs(cfg->ports[i].device, name, sizeof(name), &args);
			(void)rte_vdev_uninit(name);
		}
		ps[i].port_id = UINT16_MAX;
	}
}
