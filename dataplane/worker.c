#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "worker.h"

#define IDLE_LOOPS_BEFORE_SLEEP 64
#define CMD_PER_LOOP 32

#define NS 1000000000ULL
#define STEP_NS (2 * NS)	/* more than this between ticks is a step, not drift */

/* ns since tsc_base: a multiply, no division on the hot path. */
static inline uint64_t tsc_ns(const struct dp_runtime *rt, uint64_t tsc)
{
	return (uint64_t)(((unsigned __int128)(tsc - rt->tsc_base) * rt->ns_mult) >> 32);
}

uint64_t dp_runtime_now(const struct dp_runtime *rt)
{
	/* Acquire: pairs with dp_runtime_clock_tick(), so a clock that has taken a forward
	 * step is never read with the grace from before it (dp_runtime_reclaim_now). */
	int64_t off = atomic_load_explicit(&rt->wall_off_ns, memory_order_acquire);

	return (uint64_t)((int64_t)tsc_ns(rt, rte_rdtsc()) + off) / NS;
}

uint64_t dp_runtime_reclaim_now(const struct dp_runtime *rt, uint64_t now)
{
	uint64_t grace = atomic_load_explicit(&rt->grace_s, memory_order_relaxed);

	if (grace == 0 || now >= atomic_load_explicit(&rt->grace_until, memory_order_relaxed)) {
		return now;
	}
	return now > grace ? now - grace : 0;
}

uint64_t dp_worker_now(struct dp_worker *w)
{
	const struct dp_runtime *rt = w->rt;
	int64_t off = atomic_load_explicit(&rt->wall_off_ns, memory_order_acquire);
	uint64_t t = tsc_ns(rt, rte_rdtsc()), wall = (uint64_t)((int64_t)t + off);

	if (wall >= w->clk_ns) {
		w->clk_ns = wall;
	} else {
		/* Ahead of the wall clock (it stepped back): go on at half speed until it has
		 * caught up; never stand still, never go back (worker.h). */
		w->clk_ns += (t - w->clk_t) / 2;
	}
	w->clk_t = t;
	w->wall_s = wall / NS;
	return w->clk_ns / NS;
}

uint64_t dp_worker_ended_by(const struct dp_worker *w, uint64_t now)
{
	return dp_runtime_reclaim_now(w->rt, now < w->wall_s ? now : w->wall_s);
}

/* The longest lease of a policy in @p p[0..n) (0: none sets one). */
static uint32_t policies_lease(const struct dp_policy *p, uint32_t n)
{
	uint32_t l = 0;

	for (uint32_t i = 0; i < n; i++) {
		l = p[i].lease_time > l ? p[i].lease_time : l;
	}
	return l;
}

/* The longest lease a client of @p cfg may be given: a scope's max-lease-time (or its
 * lease-time), or a policy's lease-time, which nothing bounds by its scope's (the clamp is
 * only for a client's option 51: engine.c lease_times()). */
static uint32_t longest_lease(const struct dp_config *cfg)
{
	uint32_t max_lease = policies_lease(cfg->policies, cfg->n_policies);

	for (uint32_t i = 0; i < cfg->n_scopes; i++) {
		const struct dp_scope *s = &cfg->scopes[i];
		uint32_t l = s->max_lease_time > s->lease_time ? s->max_lease_time :
			     s->lease_time;
		uint32_t pl = policies_lease(s->policies, s->n_policies);

		l = pl > l ? pl : l;
		max_lease = l > max_lease ? l : max_lease;
	}
	return max_lease;
}

int64_t dp_runtime_clock_tick(struct dp_runtime *rt)
{
	/* A lease an operator, the partner or an older configuration set may be longer than
	 * any the configuration now gives (review18): the grace covers both. */
	uint64_t max_lease = longest_lease(rt->snap->cfg),
		 set = atomic_load_explicit(&rt->longest_set_s, memory_order_relaxed);
	struct timespec ts;
	uint64_t tsc, wall, until;
	int64_t off, old, step;


	clock_gettime(CLOCK_REALTIME, &ts);
	tsc = rte_rdtsc();
	wall = (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
	off = (int64_t)(wall - tsc_ns(rt, tsc));
	old = atomic_load_explicit(&rt->wall_off_ns, memory_order_relaxed);
	step = off - old;
	if (step > -(int64_t)STEP_NS && step < (int64_t)STEP_NS) {
		step = 0;
	}
	until = atomic_load_explicit(&rt->grace_until, memory_order_relaxed);
	if (until != 0 && (uint64_t)ts.tv_sec >= until) {
		atomic_store_explicit(&rt->grace_s, 0, memory_order_relaxed);
		atomic_store_explicit(&rt->grace_until, 0, memory_order_relaxed);
	}
	max_lease = set > max_lease ? set : max_lease;
	if (step > 0) {
		/* Leases granted before it end (step) seconds early in wall terms. The grace
		 * is in place before the clock that needs it is published (below). */
		atomic_store_explicit(&rt->grace_until, (uint64_t)ts.tv_sec + max_lease,
				      memory_order_relaxed);
		atomic_store_explicit(&rt->grace_s, atomic_load(&rt->grace_s) +
				      ((uint64_t)step + NS - 1) / NS, memory_order_relaxed);
	}
	/* Release: a worker that reads this offset (acquire) reads the grace above too. */
	atomic_store_explicit(&rt->wall_off_ns, off, memory_order_release);
	return step / (int64_t)NS;
}

/* --- transmit ----------------------------------------------------------------------- */

static void tx_flush_port(struct dp_worker *w, uint16_t pi)
{
	uint16_t n = w->n_txb[pi], sent;

	if (n == 0) {
		return;
	}
	sent = rte_eth_tx_burst(w->rt->ports[pi].port_id, (uint16_t)w->id, w->txb[pi], n);
	w->ctr.tx += sent;
	if (unlikely(sent < n)) {
		w->ctr.drop[DP_DROP_TX_FULL] += n - sent;
		rte_pktmbuf_free_bulk(w->txb[pi] + sent, n - sent);
	}
	w->n_txb[pi] = 0;
}

/* mbuf->port holds the config port index (set on receive, see port_index()). */
static void tx_queue(struct dp_worker *w, struct rte_mbuf *m)
{
	uint16_t pi = m->port;

	if (w->n_txb[pi] == DP_BURST) {
		tx_flush_port(w, pi);
	}
	w->txb[pi][w->n_txb[pi]++] = m;
}

/* Is parked reply @p p still the answer (release_parked)? */
static bool parked_still_ours(struct dp_worker *w, const struct dp_parked *p, uint64_t durable)
{
	const struct bt_binding *b = bt_lookup_addr(w->rt->table, p->addr);

	return b != NULL && b->owner == w->id && b->state == BT_ACTIVE &&
	       b->key_hash == p->key_hash && b->seq <= durable;
}

/*
 * Send the parked replies whose change is durable, in order. A reply goes out only if the
 * address is still an active binding of the same client, and that binding as it is now is
 * durable too: while a store outage held the reply back, the binding may have been
 * reclaimed, freed or given to someone else. (A later change of the same client, such as a
 * renewal in the same burst, does not stop it once durable.) Also hands over freed
 * addresses whose change is durable (dp_engine_handoff).
 *
 * One durable group can release hundreds of ACKs in one turn, more than the port's TX ring
 * takes: they go straight to the port in bursts, and when the ring refuses, what it did not
 * take stays parked (in order) for the next turn instead of being dropped as tx_full, which
 * the client would only see as a retransmission a second later.
 */
static void release_parked(struct dp_worker *w)
{
	uint64_t durable;

	if (w->park_count == 0 && w->eng.ho_count == 0) {
		return;
	}
	durable = w->rt->commit.ops->durable(w->rt->commit.ctx, w->id);
	dp_engine_handoff(&w->eng, durable);
	while (w->park_count > 0) {
		struct rte_mbuf *burst[DP_BURST];
		uint16_t n = 0, pi = 0, sent;

		/* A run of releasable replies for one port, from the head. */
		while (n < DP_BURST && n < w->park_count) {
			struct dp_parked *p = &w->park[(w->park_head + n) % DP_PARK_MAX];

			if (p->seq > durable || (n > 0 && p->m->port != pi)) {
				break;
			}
			if (!parked_still_ours(w, p, durable)) {
				if (n > 0) {
					break;	/* sent first; met again at the head */
				}
				w->ctr.drop[DP_DROP_STALE_PARKED]++;
				rte_pktmbuf_free(p->m);
				w->park_head = (w->park_head + 1) % DP_PARK_MAX;
				w->park_count--;
				continue;
			}
			pi = p->m->port;
			burst[n++] = p->m;
		}
		if (n == 0) {
			return;
		}
		/* Replies answered before these (an OFFER in the same burst as the client's
		 * REQUEST) leave first: the wire keeps the order of the answers. */
		tx_flush_port(w, pi);
		sent = rte_eth_tx_burst(w->rt->ports[pi].port_id, (uint16_t)w->id, burst, n);
		w->ctr.tx += sent;
		w->park_head = (w->park_head + sent) % DP_PARK_MAX;
		w->park_count -= sent;
		if (sent < n) {
			return;		/* the ring is full: the rest next turn */
		}
	}
}

/* Send the delayed OFFERs that are due. The queue is small and unordered (each scope has its
 * own delay), so every entry is looked at; only while the queue holds any. */
static void release_delayed(struct dp_worker *w)
{
	uint64_t now;
	uint32_t k = 0;

	if (w->delay_count == 0) {
		return;
	}
	now = rte_rdtsc();
	for (uint32_t i = 0; i < w->delay_count; i++) {
		if ((int64_t)(now - w->delay[i].due) >= 0) {
			tx_queue(w, w->delay[i].m);
		} else {
			w->delay[k++] = w->delay[i];
		}
	}
	w->delay_count = k;
}

void dp_worker_flush(struct dp_worker *w)
{
	release_parked(w);
	release_delayed(w);
	for (uint32_t pi = 0; pi < w->rt->n_ports; pi++) {
		tx_flush_port(w, (uint16_t)pi);
	}
}

/* --- receive ------------------------------------------------------------------------ */

static void drop(struct dp_worker *w, struct rte_mbuf *m, enum dp_drop why)
{
	w->ctr.drop[why]++;
	rte_pktmbuf_free(m);
}

static void set_len(struct rte_mbuf *m, size_t len)
{
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->ol_flags = 0;
}

/*
 * Leave the checksums of the DHCP reply @p m (built in place, its tags the request's:
 * w->frame.nvlan) to the port it goes out on, where the port computes them: the flags,
 * l2_len (tags included: the port finds the IPv4 header behind them) and l3_len that
 * RTE_MBUF_F_TX_UDP_CKSUM / _IP_CKSUM need (rte_mbuf_core.h), for the pseudo-header seed
 * the reply build wrote in the UDP checksum field. w->frame.tx_csum is what the build was
 * told (dp_udp_dst.tx_csum), read once from the port (dp_port_state.tx_csum, which a
 * net_vhost peer's reconnection may change at any time): the flags must say what the build
 * did, not what the port says now. On a port without them (net_ring, net_af_packet) and on
 * net_vhost without a GUEST_CSUM peer nothing changes: the sums the build wrote go out.
 */
static inline void tx_csum_offload(const struct dp_worker *w, struct rte_mbuf *m)
{
	unsigned tx = w->frame.tx_csum;

	if (tx == 0) {
		return;
	}
	m->l2_len = DP_ETHER_HDR_LEN + (uint64_t)w->frame.nvlan * DP_VLAN_HDR_LEN;
	m->l3_len = DP_IPV4_HDR_LEN;
	m->ol_flags = RTE_MBUF_F_TX_IPV4 |
		      (tx & DP_TX_CSUM_UDP ? RTE_MBUF_F_TX_UDP_CKSUM : 0) |
		      (tx & DP_TX_CSUM_IP ? RTE_MBUF_F_TX_IP_CKSUM : 0);
}

/* Option 53 = DHCPDISCOVER as the first option after the magic cookie. */
static const uint8_t discover_first[3] = {DHCP4_OPT_MSG_TYPE, 1, DHCP4_DISCOVER};

static bool probe_start(struct dp_worker *w, struct rte_mbuf *m, const struct dp_decision *d,
			uint8_t tried);

/* @p tried: 0 for a frame just received; for a DISCOVER decided again after a probe
 * (probe.c), the addresses probed for it so far. */
static void handle_dhcp(struct dp_worker *w, const struct dp_config *cfg, struct rte_mbuf *m,
			int iface, bool steered, uint8_t tried)
{
	uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);
	struct dp_decision d;
	struct dp_ingress in = {
		.cfg = cfg, .frame = &w->frame, .msg = &w->msg, .iface = iface,
		.now = w->rx_now != 0 ? w->rx_now : dp_worker_now(w), .again = tried != 0,
		.key_hint = tried == 0 ? w->warm_key : NULL,
		.addr_hint = tried == 0 ? w->warm_addr : NULL,
	};
	size_t len;
	int rc, i;

	/* Other clients' leases are judged as the reclaims judge them (worker.h). */
	in.ended_by = dp_worker_ended_by(w, in.now);
	if (unlikely(w->overload) && tried == 0 && w->frame.payload_len > 242 &&
	    memcmp(data + w->frame.payload_off + 240, discover_first, 3) == 0 &&
	    (++w->discover_seq & 3) != 0) {
		/* Behind: a new client can wait (it retransmits), a renewing one must not. One
		 * DISCOVER in four still goes through, so that a backlog of nothing but
		 * DISCOVERs (a site booting at once) is served, only more slowly. Looked at
		 * before the parse, which is most of a dropped frame's cost: a DISCOVER whose
		 * first option is not 53 is merely not dropped early. */
		drop(w, m, DP_DROP_OVERLOAD);
		return;
	}
	rc = dhcp4_parse(&w->msg, data + w->frame.payload_off, w->frame.payload_len);
	if (rc != DHCP4_OK) {
		drop(w, m, dp_drop_from_err(rc));
		return;
	}
	if (w->rt->n_workers > 1 && !steered) {
		struct dp_client_key key;
		uint32_t owner;

		if (dp_engine_client_key(cfg, &w->msg, iface, &key) != 0) {
			drop(w, m, DP_DROP_KEY_TOO_LONG);
			return;
		}
		owner = bt_key_owner(w->rt->table, &key, w->rt->n_workers);
		if (owner != w->id) {
			struct rte_ring *r = w->rt->workers[owner].steer;

			if (w->msg.type == DHCP4_DISCOVER && cfg->flood.overload_bursts != 0 &&
			    rte_ring_count(r) > DP_STEER_RING / 2) {
				/* The owner is behind: keep its ring for requests. */
				drop(w, m, DP_DROP_OVERLOAD);
			} else if (rte_ring_mp_enqueue(r, m) != 0) {
				drop(w, m, DP_DROP_STEER_FULL);
			} else {
				w->ctr.steered++;
			}
			return;
		}
	}
	if (w->park_count >= w->park_max &&
	    (w->msg.type == DHCP4_REQUEST || w->msg.type == DHCP4_BOOTP)) {
		/* Its reply could not be parked. Refuse it before the engine changes the binding
		 * and posts a change nobody would be answered for: under overload such changes
		 * took most of the committer's time (doc/durable-path.md). The client retries. */
		drop(w, m, DP_DROP_PARK_FULL);
		return;
	}
	if (!dp_engine_handle(&w->eng, &in, &d)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(d.probe || w->probes.n != 0) && d.reply == DHCP4_OFFER) {
		if (!d.probe && dp_probe_find(&w->probes, d.yiaddr) >= 0) {
			/* A copy of a DISCOVER whose address is being probed: the first copy
			 * is answered when the probe ends. */
			drop(w, m, DP_DROP_PROBE_PENDING);
			return;
		}
		if (d.probe && tried >= DP_PROBE_CANDIDATES) {
			drop(w, m, DP_DROP_CONFLICT_CANDIDATES);
			return;
		}
		if (d.probe && (i = dp_probe_find(&w->probes, d.yiaddr)) >= 0) {
			/* The engine has just held the address for this client, so the client
			 * of the slot probing it holds it no more (it took another server's
			 * offer, or its hold ended). An answer is this client's: the stale
			 * slot, found first, took it and dropped it, and the address a host had
			 * claimed was offered when this client's probe timed out. */
			struct rte_mbuf *stale = w->probes.slot[i].m;

			dp_probe_release(&w->probes, i);
			drop(w, stale, DP_DROP_PROBE_STALE);
		}
		if (d.probe && probe_start(w, m, &d, tried)) {
			return;		/* held until the probe ends (dp_worker_probe_poll) */
		}
		if (d.probe) {
			w->ctr.probes_skipped++;	/* table full, or no mbuf: unprobed */
		}
	}
	/* Every field of the request now lives in w->msg and w->frame: build in place. The
	 * reply leaves by the port the request came in on. */
	w->frame.tx_csum = atomic_load_explicit(&w->rt->ports[m->port].tx_csum,
						memory_order_relaxed);
	len = dp_reply_build_cached(data, m->buf_len - m->data_off, &w->frame, &w->msg, &d,
				    w->rt->ports[m->port].mac.addr_bytes, &w->ctr, &w->rcache);
	if (len == 0) {
		drop(w, m, DP_DROP_REPLY_SPACE);
		return;
	}
	set_len(m, len);
	tx_csum_offload(w, m);
	if (!d.commit && d.reply == DHCP4_OFFER && d.scope != NULL &&
	    d.scope->offer_delay_ms != 0) {
		if (w->delay_count == DP_DELAY_MAX) {
			drop(w, m, DP_DROP_DELAY_FULL);
			return;
		}
		w->delay[w->delay_count++] = (struct dp_delayed){
			.m = m, .due = rte_rdtsc() + w->rt->tsc_hz / 1000 * d.scope->offer_delay_ms,
		};
		w->ctr.tx_dhcp[DHCP4_OFFER]++;
		return;
	}
	w->ctr.tx_dhcp[d.reply == DHCP4_BOOTP ? 0 : d.reply]++;
	if (!d.commit) {
		tx_queue(w, m);
		return;
	}
	if (w->park_count >= w->park_max) {
		/* Only a message type not checked above lands here: its change is posted; the
		 * client will retry and get its reply then. Never answer before the binding is
		 * durable. */
		drop(w, m, DP_DROP_PARK_FULL);
		return;
	}
	w->park[(w->park_head + w->park_count) % DP_PARK_MAX] =
		(struct dp_parked){.m = m, .seq = d.seq, .addr = d.yiaddr, .key_hash = d.key_hash};
	w->park_count++;
	w->ctr.parked++;
}

static void handle_parsed(struct dp_worker *w, const struct dp_config *cfg, struct rte_mbuf *m,
			  int kind, bool steered)
{
	uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);
	const uint8_t *mac = w->rt->ports[m->port].mac.addr_bytes;
	struct dp_frame *f = &w->frame;
	int iface;

	if (kind < 0) {
		drop(w, m, dp_drop_from_err(kind));
		return;
	}
	iface = dp_config_iface_find(cfg, m->port, dp_frame_vlan(f));
	switch (kind) {
	case DP_FRAME_DHCP:
		handle_dhcp(w, cfg, m, iface, steered, 0);
		return;
	case DP_FRAME_ARP:
		if (iface < 0 || f->arp_tpa != cfg->ifaces[iface].addr) {
			drop(w, m, DP_DROP_NOT_FOR_US);
			return;
		}
		set_len(m, dp_frame_arp_reply(data, f, mac, cfg->ifaces[iface].addr));
		w->ctr.arp_replies++;
		tx_queue(w, m);
		return;
	case DP_FRAME_ICMP_ECHO:
		if (iface < 0 || f->ip_dst != cfg->ifaces[iface].addr) {
			drop(w, m, DP_DROP_NOT_FOR_US);
			return;
		}
		set_len(m, dp_frame_icmp_echo_reply(data, f, mac));
		w->ctr.icmp_replies++;
		tx_queue(w, m);
		return;
	default:
		drop(w, m, DP_DROP_ETHERTYPE);
		return;
	}
}

/* --- conflict detection (design in probe.c) ------------------------------------------- */

/* Send the next probe of @p p. @return false when there is no mbuf for it. */
static bool probe_send(struct dp_worker *w, const struct dp_probe *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->rt->mp);
	const uint8_t *mac = w->rt->ports[p->port].mac.addr_bytes;
	size_t len;

	if (m == NULL) {
		return false;
	}
	if (p->how == DP_PROBE_ARP) {
		len = dp_probe_build_arp(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
					 mac, p->nvlan, p->vlan_tpid, p->vlan_tci, p->addr);
	} else {
		len = dp_probe_build_icmp(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
					  p->dst_mac, mac, p->nvlan, p->vlan_tpid, p->vlan_tci,
					  p->src_ip, p->addr, p->seq);
	}
	if (len == 0) {
		rte_pktmbuf_free(m);
		return false;
	}
	set_len(m, len);
	m->port = p->port;
	tx_queue(w, m);
	w->ctr.probes_sent++;
	return true;
}

/* Hold the DISCOVER @p m (parsed in w->frame) and probe d->yiaddr for it: ARP on the link of
 * a direct client, ICMP echo through the relay of a relayed one. @return false (nothing
 * held) when the table is full or the probe cannot be sent. */
static bool probe_start(struct dp_worker *w, struct rte_mbuf *m, const struct dp_decision *d,
			uint8_t tried)
{
	const struct dp_frame *f = &w->frame;
	int i = dp_probe_alloc(&w->probes, d->yiaddr);
	struct dp_probe *p;

	if (i < 0) {
		return false;
	}
	p = &w->probes.slot[i];
	p->m = m;
	p->port = m->port;
	p->how = w->msg.giaddr != 0 ? DP_PROBE_ICMP : DP_PROBE_ARP;
	p->src_ip = d->server_id;
	p->seq = ++w->probes.gen;
	p->candidates = (uint8_t)(tried + 1);
	p->tries_left = (uint8_t)(d->scope->conflict_attempts - 1);
	p->timeout = w->rt->tsc_hz * d->scope->conflict_timeout_ms / 1000;
	p->nvlan = f->nvlan;
	memcpy(p->vlan_tpid, f->vlan_tpid, sizeof(p->vlan_tpid));
	memcpy(p->vlan_tci, f->vlan_tci, sizeof(p->vlan_tci));
	memcpy(p->dst_mac, f->src_mac, DP_ETHER_ADDR_LEN);
	if (!probe_send(w, p)) {
		dp_probe_release(&w->probes, i);
		return false;
	}
	p->deadline = rte_rdtsc() + p->timeout;
	return true;
}

/*
 * The checksums the port verified for @p m (enum dp_rx_verified): a GOOD verdict, and for
 * UDP also NONE, skip the software sum. NONE is DPDK's "the L4 checksum is not correct in
 * the packet data, but the integrity of the L4 data is verified" (rte_mbuf_core.h,
 * RTE_MBUF_F_RX_L4_CKSUM_MASK): what vhost and virtio report for a frame whose sender on
 * the same host left the checksum to be done (VIRTIO_NET_HDR_F_NEEDS_CSUM), whose field then
 * holds only the pseudo-header's part. UNKNOWN (a port without the offload, af_packet, vhost
 * without a partial checksum) and BAD leave the frame to dp_frame_parse_rx(), which sums it
 * and drops a bad one as ever, so the drop reason and its counter stay the parser's.
 */
static inline unsigned rx_verified(const struct rte_mbuf *m)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	return ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD ?
			DP_RX_IP_CSUM_GOOD : 0u) |
	       (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? DP_RX_UDP_CSUM_GOOD : 0u) |
	       (l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE ? DP_RX_UDP_CSUM_NONE : 0u);
}

/* Parse the held DISCOVER @p m again into w->frame; @return its interface, or -2 when it
 * does not parse (it did when it arrived: never). */
static int probe_reparse(struct dp_worker *w, const struct dp_config *cfg, struct rte_mbuf *m)
{
	if (dp_frame_parse_rx(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, rx_verified(m),
			      &w->frame) != DP_FRAME_DHCP) {
		return -2;
	}
	return dp_config_iface_find(cfg, m->port, dp_frame_vlan(&w->frame));
}

/* The probe of slot @p i was answered (@p a): abandon the address, log, count, and decide the
 * DISCOVER again: its client gets the next candidate, probed in turn. */
static __attribute__((cold, noinline)) void probe_conflict(struct dp_worker *w,
							   const struct dp_config *cfg, int i,
							   const struct dp_probe_answer *a)
{
	struct dp_probe *p = &w->probes.slot[i];
	struct rte_mbuf *m = p->m;
	uint8_t tried = p->candidates;
	const struct dp_scope *s = dp_config_scope_of(cfg, p->addr);
	struct dp_conflict_event ev = {.addr = p->addr, .how = a->how};
	struct dp_ingress in = {.cfg = cfg, .frame = &w->frame, .msg = &w->msg};
	uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);

	dp_probe_release(&w->probes, i);
	w->ctr.conflicts++;
	memcpy(ev.mac, a->mac, DP_ETHER_ADDR_LEN);
	snprintf(ev.scope, sizeof(ev.scope), "%s", s != NULL ? s->name : "");
	if (!dp_conflict_event_push(&w->conflicts, &ev)) {
		w->ctr.conflict_events_lost++;
	}
	in.iface = probe_reparse(w, cfg, m);
	if (in.iface == -2 || dhcp4_parse(&w->msg, data + w->frame.payload_off,
					  w->frame.payload_len) != DHCP4_OK) {
		rte_pktmbuf_free(m);
		return;
	}
	/* The burst's time when the answer came in one (the DISCOVER decided again below
	 * is judged by it too), else the clock's. */
	in.now = w->rx_now != 0 ? w->rx_now : dp_worker_now(w);
	in.ended_by = dp_worker_ended_by(w, in.now);
	if (!dp_engine_conflict(&w->eng, &in, ev.addr)) {
		/* The hold is not the client's any more (an operator's change, a new snapshot)
		 * or the write failed (counted): asking again could offer the address
		 * unprobed. The client retransmits. */
		rte_pktmbuf_free(m);
		return;
	}
	if (tried >= DP_PROBE_CANDIDATES) {
		drop(w, m, DP_DROP_CONFLICT_CANDIDATES);
		return;
	}
	handle_dhcp(w, cfg, m, in.iface, true, tried);
}

static unsigned probe_poll(struct dp_worker *w, const struct dp_config *cfg, uint64_t tsc)
{
	unsigned n = 0;

	for (int i = 0; i < DP_PROBE_MAX && w->probes.n != 0; i++) {
		struct dp_probe *p = &w->probes.slot[i];
		struct rte_mbuf *m;
		uint8_t tried;
		int iface;

		if (p->addr == 0 || (int64_t)(tsc - p->deadline) < 0) {
			continue;
		}
		n++;
		if (p->tries_left > 0 && probe_send(w, p)) {
			p->tries_left--;
			p->deadline = tsc + p->timeout;
			continue;
		}
		/* Unanswered: decide the DISCOVER again; it finds its hold and is offered. */
		m = p->m;
		tried = p->candidates;
		dp_probe_release(&w->probes, i);
		iface = probe_reparse(w, cfg, m);
		if (iface == -2) {
			rte_pktmbuf_free(m);
			continue;
		}
		handle_dhcp(w, cfg, m, iface, true, tried);
	}
	return n;
}

/* Does some worker probe? Reads the other workers' published counts (relaxed). */
static bool probing(const struct dp_worker *w)
{
	const struct dp_runtime *rt = w->rt;

	if (w->probes.n != 0) {
		return true;
	}
	for (uint32_t o = 0; o < rt->n_workers && rt->n_workers > 1; o++) {
		if (atomic_load_explicit(&rt->workers[o].probes.n_pub, memory_order_relaxed)) {
			return true;
		}
	}
	return false;
}

#define PROBE_NONE	(-1)	/* not an answer to a probe of ours: handled as before */
#define PROBE_STEERED	(-2)	/* another worker probes the sender: handed to it */

/*
 * Is frame @p m (parsed as @p kind into w->frame) the answer to a probe? @return the slot of
 * ours it answers (*a filled), PROBE_STEERED (consumed), or PROBE_NONE.
 */
static int probe_answer(struct dp_worker *w, struct rte_mbuf *m, int kind, bool steered,
			struct dp_probe_answer *a)
{
	struct dp_runtime *rt = w->rt;
	const struct dp_probe *p;
	int i;

	if (!dp_probe_answer_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, kind,
				   &w->frame, a)) {
		return PROBE_NONE;
	}
	i = dp_probe_find(&w->probes, a->addr);
	if (i >= 0) {
		p = &w->probes.slot[i];
		if (a->how != p->how ||
		    (a->how == DP_PROBE_ICMP && (a->ident != DP_PROBE_IDENT || a->seq != p->seq ||
						 a->dst != p->src_ip)) ||
		    (a->how == DP_PROBE_ARP &&
		     memcmp(a->mac, rt->ports[m->port].mac.addr_bytes, DP_ETHER_ADDR_LEN) == 0)) {
			w->ctr.probe_replies_ignored++;
			return PROBE_NONE;
		}
		return i;
	}
	if (steered) {
		w->ctr.probe_replies_ignored++;	/* its probe ended meanwhile */
		return PROBE_NONE;
	}
	for (uint32_t o = 0; o < rt->n_workers && rt->n_workers > 1; o++) {
		if (o != w->id && dp_probe_published(&rt->workers[o].probes, a->addr)) {
			if (rte_ring_mp_enqueue(rt->workers[o].steer, m) != 0) {
				drop(w, m, DP_DROP_STEER_FULL);
			} else {
				w->ctr.steered++;
			}
			return PROBE_STEERED;
		}
	}
	return PROBE_NONE;
}

static void handle_frame(struct dp_worker *w, const struct dp_config *cfg, struct rte_mbuf *m,
			 bool steered)
{
	struct dp_probe_answer a;
	int kind, i;

	if (m->nb_segs != 1) {
		drop(w, m, DP_DROP_FRAME_TRUNCATED);	/* DHCP never needs a chained mbuf */
		return;
	}
	kind = dp_frame_parse_rx(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, rx_verified(m),
				 &w->frame);
	if (likely(kind != DP_FRAME_ARP && kind != DP_FE_ARP && kind != DP_FE_ICMP_OTHER) ||
	    !probing(w)) {
		handle_parsed(w, cfg, m, kind, steered);
		return;
	}
	i = probe_answer(w, m, kind, steered, &a);
	if (i == PROBE_STEERED) {
		return;
	}
	/* The frame itself is handled as ever (an ARP request for us is answered), then the
	 * conflict, which reuses the worker's parse scratch. A reply that answers our probe
	 * is counted as a conflict, not as a frame the parser refuses. */
	if (i >= 0 && kind < 0) {
		rte_pktmbuf_free(m);
	} else {
		handle_parsed(w, cfg, m, kind, steered);
	}
	if (i >= 0) {
		probe_conflict(w, cfg, i, &a);
	}
}

/* Free the DISCOVERs held by probes (the worker stops). */
static void probe_free_all(struct dp_worker *w)
{
	for (int i = 0; i < DP_PROBE_MAX && w->probes.n != 0; i++) {
		if (w->probes.slot[i].addr != 0) {
			rte_pktmbuf_free(w->probes.slot[i].m);
			dp_probe_release(&w->probes, i);
		}
	}
}

/* The snapshot in force for this loop iteration: the engine allocates from its pools. Taken
 * once per iteration, so that configuration and pools always come from the same snapshot. */
static const struct dp_config *snapshot(struct dp_worker *w)
{
	const struct dp_snapshot *snap = rcu_dereference(w->rt->snap);

	w->eng.pools = snap->pools;
	return snap->cfg;
}

unsigned dp_worker_probe_poll(struct dp_worker *w, uint64_t tsc)
{
	return w->probes.n != 0 ? probe_poll(w, snapshot(w), tsc) : 0;
}

/*
 * What warm_burst() looks up for the request in @p m, guessed from the raw frame: for a
 * DISCOVER its client key (option 61 in the options field, else htype and chaddr: what
 * dp_client_key_of() takes from the parsed message, without overloaded fields or
 * reservations); for a REQUEST its address (option 50, else ciaddr: what on_request() looks
 * up). Ethernet, VLAN tags, IPv4, UDP to port 67; every read within the frame. A wrong guess
 * only warms lines for nothing: the engine decides from its own parse, and checks a hint.
 * @return DHCP4_DISCOVER (*k set), DHCP4_REQUEST (*addr set, not 0), or 0.
 */
static uint8_t peek_request(const struct rte_mbuf *m, struct dp_client_key *k, uint32_t *addr)
{
	static const uint8_t cookie[4] = {99, 130, 83, 99};
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *), *d, *o, *end, *id = NULL;
	uint32_t len = m->data_len, off = 12, ihl;
	uint8_t id_len = 0, type = 0;

	if (m->nb_segs != 1) {
		return 0;
	}
	while (off + 2 <= len && ((p[off] == 0x81 && p[off + 1] == 0x00) ||
				  (p[off] == 0x88 && p[off + 1] == 0xa8))) {
		off += 4;
	}
	if (off + 2 + 20 > len || p[off] != 0x08 || p[off + 1] != 0x00) {
		return 0;
	}
	off += 2;
	ihl = (p[off] & 15u) * 4u;
	if (ihl < 20 || p[off + 9] != 17 || off + ihl + 8 + DHCP4_HDR_LEN > len) {
		return 0;
	}
	off += ihl;
	if (p[off + 2] != 0 || p[off + 3] != 67) {
		return 0;
	}
	d = p + off + 8;
	if (d[0] != DHCP4_BOOTREQUEST || d[2] > DHCP4_CHADDR_LEN ||
	    memcmp(d + 236, cookie, 4) != 0) {
		return 0;
	}
	*addr = lw_get32(d + 12);	/* ciaddr */
	end = p + len;
	for (o = d + DHCP4_HDR_LEN; o < end && *o != 255;) {
		if (*o == 0) {
			o++;
			continue;
		}
		if (o + 2 > end || o + 2 + o[1] > end) {
			break;
		}
		if (o[0] == DHCP4_OPT_MSG_TYPE && o[1] == 1) {
			type = o[2];
		} else if (o[0] == DHCP4_OPT_CLIENT_ID) {
			id = o + 2;
			id_len = o[1];
		} else if (o[0] == DHCP4_OPT_REQUESTED_IP && o[1] == 4) {
			*addr = lw_get32(o + 2);
		}
		o += 2 + o[1];
	}
	if (type == DHCP4_REQUEST) {
		return *addr != 0 ? DHCP4_REQUEST : 0;
	}
	if (type != DHCP4_DISCOVER) {
		return 0;
	}
	if (id != NULL) {
		if (id_len == 0 || id_len > DP_KEY_MAX) {
			return 0;
		}
		k->type = DP_KEY_CLIENT_ID;
		k->len = id_len;
		memcpy(k->data, id, id_len);
		return DHCP4_DISCOVER;
	}
	k->type = DP_KEY_HWADDR;
	k->len = (uint8_t)(1 + d[2]);
	k->data[0] = d[1];
	memcpy(k->data + 1, d + 28, d[2]);
	return DHCP4_DISCOVER;
}

/* A frame's hints from warm_burst() (dp_ingress.key_hint, addr_hint). */
struct warm_hint {
	const struct bt_binding *key, *addr;
};

/*
 * Warm the cache for the burst's DISCOVERs and REQUESTs before they are handled one by one
 * (STYLE.md: bulk lookup with a prefetch pipeline). A DISCOVER is a client's first packet in
 * a long while: its lookups miss in by_key, then in by_addr, each miss waiting for the one
 * before; a REQUEST's by_addr lookup follows its OFFER hundreds of frames later. Here each
 * step of those lookups runs over the whole burst before the next (bt_warm_key_bucket(),
 * bt_warm_addr_bucket()), so the burst's misses overlap. Nothing is decided here and nothing
 * changes. The records found are kept in @p hint (frame by frame, NULL for the others) for
 * the engine's own lookups (dp_ingress.key_hint, addr_hint), which so walk nothing twice; the
 * loop reports its quiescent state only after the whole burst, so they stay valid while it is
 * handled, and the engine checks that each is still the key's or address's record (a burst
 * may hold two frames of one client). The first DP_BURST frames only (the arrays):
 * dp_worker_handle_burst() takes any n, the rest are handled unwarmed.
 * @return the frames @p hint covers.
 */
static uint16_t warm_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n,
			   struct warm_hint *hint)
{
	struct bt_table *t = w->rt->table;
	struct dp_client_key key[DP_BURST];
	uint64_t hash[DP_BURST];
	uint32_t addr[DP_BURST];
	uint16_t at[DP_BURST], k = 0, i;
	uint8_t type[DP_BURST];

	for (i = 0; i < n && i < DP_BURST; i++) {
		hint[i].key = hint[i].addr = NULL;
		type[k] = peek_request(pkts[i], &key[k], &addr[k]);
		if (type[k] == DHCP4_DISCOVER) {
			hash[k] = bt_key_hash(t, &key[k]);
			bt_warm_key_bucket(t, hash[k]);
			at[k++] = i;
		} else if (type[k] == DHCP4_REQUEST) {
			bt_warm_addr_bucket(t, addr[k]);
			at[k++] = i;
		}
	}
	if (k < 2) {
		return 0;	/* nothing to overlap with */
	}
	for (uint16_t j = 0; j < k; j++) {
		if (type[j] == DHCP4_DISCOVER) {
			bt_warm_key_chain(t, hash[j]);
		} else {
			bt_warm_addr_chain(t, addr[j]);
		}
	}
	for (uint16_t j = 0; j < k; j++) {
		if (type[j] == DHCP4_DISCOVER) {
			hint[at[j]].key = bt_warm_key_found(t, &key[j], hash[j]);
		} else {
			hint[at[j]].addr = bt_warm_addr_found(t, addr[j]);
		}
	}
	return i;
}

static void handle_burst(struct dp_worker *w, const struct dp_config *cfg, struct rte_mbuf **pkts,
			 uint16_t n)
{
	struct warm_hint hint[DP_BURST];
	uint16_t warm = warm_burst(w, pkts, n, hint);

	w->rx_now = n != 0 ? dp_worker_now(w) : 0;
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n) {
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		}
		w->ctr.rx++;
		w->warm_key = i < warm ? hint[i].key : NULL;
		w->warm_addr = i < warm ? hint[i].addr : NULL;
		handle_frame(w, cfg, pkts[i], false);
	}
	w->warm_key = w->warm_addr = NULL;
	w->rx_now = 0;
}

void dp_worker_handle_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	handle_burst(w, snapshot(w), pkts, n);
}

static uint16_t poll_steered(struct dp_worker *w, const struct dp_config *cfg)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned left = 0;
	unsigned n = rte_ring_sc_dequeue_burst(w->steer, (void **)pkts, DP_BURST, &left);

	w->overload = cfg->flood.overload_bursts != 0 && left > DP_STEER_RING / 2;
	w->rx_now = n != 0 ? dp_worker_now(w) : 0;
	for (unsigned i = 0; i < n; i++) {
		handle_frame(w, cfg, pkts[i], true);
	}
	w->rx_now = 0;
	return (uint16_t)n;
}

/*
 * Command ring entries are one word: a struct dp_lease_op pointer (even), or an encoded
 * command (odd): addr << 32 | scope << 8 | type << 1 | 1.
 */
static unsigned poll_commands(struct dp_worker *w, const struct dp_config *cfg)
{
	void *cmds[CMD_PER_LOOP];
	unsigned n = rte_ring_sc_dequeue_burst(w->cmd, cmds, CMD_PER_LOOP, NULL);
	uint64_t now = n ? dp_worker_now(w) : 0;
	/* Reclaims judge lease ends by the wall clock, after its forward steps (worker.h). */
	uint64_t ended_by = n ? dp_worker_ended_by(w, now) : 0;

	for (unsigned i = 0; i < n; i++) {
		uintptr_t c = (uintptr_t)cmds[i];
		uint32_t addr = (uint32_t)(c >> 32), scope = (uint32_t)(c >> 8) & 0xffffff;

		if ((c & 1) == 0) {
			dp_engine_apply_op(&w->eng, cfg, (struct dp_lease_op *)cmds[i], now);
		} else if (((c >> 1) & 0x7f) == DP_CMD_RECLAIM) {
			(void)dp_engine_reclaim(&w->eng, cfg, addr, ended_by);
		} else if (((c >> 1) & 0x7f) == DP_CMD_REQUEUE) {
			dp_engine_requeue(&w->eng, scope, addr);
		} else if (((c >> 1) & 0x7f) == DP_CMD_RELEASE_ENDED) {
			dp_engine_release_ended(&w->eng, cfg, addr, ended_by);
		} else if (((c >> 1) & 0x7f) == DP_CMD_LEND) {
			dp_engine_lend(&w->eng, scope, addr, now);
		} else if (((c >> 1) & 0x7f) == DP_CMD_LENT) {
			dp_engine_borrowed(&w->eng, scope, addr);
		} else if (((c >> 1) & 0x7f) == DP_CMD_LEND_DONE) {
			dp_engine_lend_done(&w->eng, scope);
		} else if (((c >> 1) & 0x7f) == DP_CMD_END_MOVED) {
			dp_engine_end_moved(&w->eng, cfg, addr, now);
		} else if (((c >> 1) & 0x7f) == DP_CMD_UNCOUNT) {
			dp_engine_uncount(&w->eng, scope, addr);
		}
	}
	return n;
}

int dp_worker_command(struct dp_worker *w, enum dp_cmd_type type, uint32_t scope, uint32_t addr)
{
	uintptr_t c = ((uintptr_t)addr << 32) | ((uintptr_t)(scope & 0xffffff) << 8) |
		      ((uintptr_t)type << 1) | 1;

	return rte_ring_mp_enqueue(w->cmd, (void *)c) == 0 ? 0 : -ENOBUFS;
}

int dp_worker_op(struct dp_worker *w, struct dp_lease_op *op)
{
	return rte_ring_mp_enqueue(w->cmd, op) == 0 ? 0 : -ENOBUFS;
}

/* The engine needs another worker to act on an address (dp_tell_fn). */
static int tell(void *ctx, uint32_t worker, enum dp_cmd_type type, uint32_t scope, uint32_t addr)
{
	struct dp_runtime *rt = ctx;

	if (worker >= rt->n_workers) {
		return -EINVAL;
	}
	if (dp_worker_command(&rt->workers[worker], type, scope, addr) != 0) {
		/* The control thread's requeue scan finds it again (cp_requeue_lost). */
		atomic_fetch_add_explicit(&rt->requeue_lost, 1, memory_order_relaxed);
		return -ENOBUFS;
	}
	return 0;
}

struct dp_snapshot *dp_runtime_publish(struct dp_runtime *rt, struct dp_config *cfg,
				       struct dp_pools *pools, int *err)
{
	struct dp_snapshot *snap = malloc(sizeof(*snap));

	*err = 0;
	if (snap == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	snap->cfg = cfg;
	snap->pools = pools;
	/* Leases the old configuration gave may outlast any the new one gives (a reload that
	 * shortens lease times): the forward-step grace must still cover them (review19). The
	 * control thread publishes, so reading its own pointer needs no read-side section. */
	if (rt->snap != NULL) {
		dp_note_lease(&rt->longest_set_s, 0, longest_lease(rt->snap->cfg));
	}
	return rcu_xchg_pointer(&rt->snap, snap);
}

void dp_mbuf_need(const struct dp_config *cfg, struct dp_mbuf_need *n)
{
	uint64_t w = cfg->workers;

	memset(n, 0, sizeof(*n));
	for (uint32_t i = 0; i < cfg->n_scopes; i++) {
		if (cfg->scopes[i].conflict_attempts != 0 && n->probe_scope == NULL) {
			n->probe_scope = cfg->scopes[i].name;
		}
		if (cfg->scopes[i].offer_delay_ms != 0 && n->delay_scope == NULL) {
			n->delay_scope = cfg->scopes[i].name;
		}
	}
	n->parks = w * dp_park_max(cfg->mbufs, cfg->workers);
	/* RX_DESC + TX_DESC of port.c, and the burst being worked on. */
	n->rings = w * cfg->n_ports * (2048u + DP_BURST);
	n->caches = 256 * (w + 1);
	n->steer = w > 1 ? w * DP_STEER_RING : 0;
	n->probes = n->probe_scope != NULL ? w * 2 * DP_PROBE_MAX : 0;
	n->delay = n->delay_scope != NULL ? w * DP_DELAY_MAX : 0;
}

void dp_snapshot_free(struct dp_snapshot *s)
{
	if (s == NULL) {
		return;
	}
	dp_pools_free(s->pools);
	dp_config_free(s->cfg);
	free(s);
}

/* A worker busy with other work, or busy-polling an idle port, hands what it holds over
 * DP_RETIRE_FLUSH_US after it first saw it; a sleeping or stopping one at once: a quiet
 * worker never sits on retired records. */
void dp_worker_retire_flush(struct dp_worker *w, bool now_flush)
{
	struct bt_writer *wr = &w->eng.writer;
	uint64_t now;

	if (bt_writer_held(wr) == 0) {
		w->held_since = 0;
		return;
	}
	now = rte_rdtsc();
	if (w->held_since == 0) {
		w->held_since = now;
	}
	if (now_flush || now - w->held_since >= w->rt->tsc_hz / 1000000 * DP_RETIRE_FLUSH_US) {
		/* All descriptors out: try again at the next loop, with a fresh deadline. */
		w->held_since = bt_writer_flush(wr) != 0 ? now : 0;
	}
}

static void idle_sleep(uint32_t us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};

	urcu_qsbr_thread_offline();
	nanosleep(&ts, NULL);
	urcu_qsbr_thread_online();
}

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp_runtime *rt = w->rt;
	struct rte_mbuf *pkts[DP_BURST];
	uint32_t idle = 0;

	urcu_qsbr_register_thread();
	urcu_qsbr_set_thread_call_rcu_data(rt->crdp);
	atomic_fetch_add(&rt->running, 1);

	while (!atomic_load_explicit(&rt->stop, memory_order_relaxed)) {
		const struct dp_config *cfg = snapshot(w);
		uint32_t idle_us = cfg->idle_sleep_us;	/* cfg is not ours past the QS */
		unsigned work = 0;

		for (uint32_t pi = 0; pi < rt->n_ports; pi++) {
			uint16_t n = rte_eth_rx_burst(rt->ports[pi].port_id, (uint16_t)w->id,
						      pkts, DP_BURST);

			for (uint16_t i = 0; i < n; i++) {
				pkts[i]->port = (uint16_t)pi;
			}
			/* Up by a full burst, down by a partial one, within 0..2 x the
			 * threshold: a backlog that comes and goes stays an overload. */
			if (n == DP_BURST) {
				if (w->full_bursts < 2 * cfg->flood.overload_bursts) {
					w->full_bursts++;
				}
			} else if (n != 0 && w->full_bursts > 0) {
				w->full_bursts--;
			}
			w->overload = cfg->flood.overload_bursts != 0 &&
				      w->full_bursts >= cfg->flood.overload_bursts;
			handle_burst(w, cfg, pkts, n);
			work += n;
		}
		work += poll_steered(w, cfg);
		work += poll_commands(w, cfg);
		if (w->probes.n != 0) {
			work += probe_poll(w, cfg, rte_rdtsc());
		}
		dp_worker_flush(w);
		atomic_store_explicit(&w->loops, w->loops + 1, memory_order_relaxed);
		urcu_qsbr_quiescent_state();

		if (work == 0) {
			w->full_bursts = 0;
		}
		if (work != 0 || w->park_count != 0 || w->delay_count != 0) {
			idle = 0;
		} else if (++idle >= IDLE_LOOPS_BEFORE_SLEEP && idle_us != 0) {
			dp_worker_retire_flush(w, true);
			idle_sleep(idle_us);
			continue;
		}
		dp_worker_retire_flush(w, false);
	}
	probe_free_all(w);
	/* OFFERs still delayed at stop are not sent either: nothing holds for them. */
	for (; w->delay_count > 0; w->delay_count--) {
		rte_pktmbuf_free(w->delay[w->delay_count - 1].m);
	}
	/* Replies parked at stop are never sent: their changes may not be durable. */
	for (; w->park_count > 0; w->park_count--) {
		rte_pktmbuf_free(w->park[w->park_head].m);
		w->park_head = (w->park_head + 1) % DP_PARK_MAX;
	}
	dp_worker_flush(w);
	/* The daemon's urcu_qsbr_barrier() brings these home before the writers go. */
	dp_worker_retire_flush(w, true);
	urcu_qsbr_unregister_thread();
	atomic_fetch_sub(&rt->running, 1);
	return 0;
}

/* --- set-up ------------------------------------------------------------------------- */

int dp_worker_grow(struct dp_runtime *rt, uint32_t i)
{
	struct bt_writer *wr = &rt->workers[i].eng.writer;
	uint64_t room = rt->workers[i].max_records - RTE_MIN(wr->n_records,
							       rt->workers[i].max_records);

	if (room == 0) {
		return -ENOSPC;
	}
	return bt_writer_grow(wr, (uint32_t)RTE_MIN(room, DP_RECORD_CHUNK));
}

int dp_workers_grow(struct dp_runtime *rt)
{
	uint64_t records = 0;
	int rc = 0;

	for (uint32_t i = 0; i < rt->n_workers; i++) {
		const struct bt_writer *wr = &rt->workers[i].eng.writer;

		if (bt_writer_free(wr) < DP_RECORD_LOW &&
		    wr->n_records < rt->workers[i].max_records) {
			int r = dp_worker_grow(rt, i);

			rc = r == -ENOMEM ? r : rc;
		}
		records += wr->n_records;
	}
	bt_table_reserve(rt->table, records);
	return rc;
}

int dp_workers_init(struct dp_runtime *rt, uint32_t n_workers)
{
	uint64_t cap = rt->table->capacity;
	char name[RTE_RING_NAMESIZE];

	/* The clock (worker.h): until the control thread's first tick, the wall clock as it was
	 * at tsc_base. */
	rt->ns_mult = (uint64_t)(((unsigned __int128)NS << 32) / rt->tsc_hz);
	atomic_store(&rt->wall_off_ns, (int64_t)(rt->unix_base * NS));
	rt->n_workers = n_workers;
	rt->workers = rte_zmalloc("lw_workers", sizeof(*rt->workers) * n_workers,
				  RTE_CACHE_LINE_SIZE);
	if (rt->workers == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n_workers; i++) {
		struct dp_worker *w = &rt->workers[i];
		/* The worker's share of all addresses, plus records waiting out a grace
		 * period. At 1.5 M ACKs/s and the RT call_rcu thread's 10 ms poll, ~15 k
		 * records are in flight; 64 k of headroom rides out a starved call_rcu thread
		 * for a while (then requests are dropped as no_binding_record, never blocked).
		 * The share counts twice: a binding whose client information does not fit its
		 * slot takes a spill record too (bindings.h). A bound, not memory: records are
		 * allocated as they are used. */
		uint64_t headroom = cap / 2 < 65536 ? 65536 : cap / 2 > (1u << 20) ? 1u << 20 : cap / 2;
		uint64_t records = 2 * (cap / n_workers) + headroom;
		int rc;

		/* That many at most; the writer starts with two chunks and gets more as its
		 * stock runs low (dp_workers_grow), so memory follows the bindings in use. */
		w->max_records = RTE_MIN(records, UINT32_MAX);
		records = RTE_MIN(records, DP_RECORD_LOW);

		w->id = i;
		w->rt = rt;
		w->park_max = dp_park_max(rt->snap->cfg->mbufs, n_workers);
		snprintf(name, sizeof(name), "lw_steer%u", i);
		w->steer = rte_ring_create(name, DP_STEER_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "lw_cmd%u", i);
		w->cmd = rte_ring_create(name, DP_CMD_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
		if (w->steer == NULL || w->cmd == NULL) {
			return -ENOMEM;
		}
		rc = bt_writer_init(&w->eng.writer, rt->table, (uint8_t)i,
				    (uint32_t)RTE_MIN(records, UINT32_MAX));
		if (rc != 0) {
			return rc;
		}
		w->eng.id = i;
		w->eng.n_workers = n_workers;
		w->eng.table = rt->table;
		w->eng.pools = rt->snap->pools;
		w->eng.commit = rt->commit;
		w->eng.ctr = &w->ctr;
		w->eng.tell = tell;
		w->eng.tell_ctx = rt;
		w->eng.requeue_lost = &rt->requeue_lost;
		w->eng.longest_set = &rt->longest_set_s;
		w->eng.fo = rt->fo;	/* the control thread publishes the views there */
	}
	return 0;
}

void dp_workers_deinit(struct dp_runtime *rt)
{
	if (rt->workers == NULL) {
		return;
	}
	for (uint32_t i = 0; i < rt->n_workers; i++) {
		struct dp_worker *w = &rt->workers[i];
		struct rte_mbuf *m;

		while (w->steer != NULL && rte_ring_dequeue(w->steer, (void **)&m) == 0) {
			rte_pktmbuf_free(m);
		}
		probe_free_all(w);
		rte_ring_free(w->steer);
		rte_ring_free(w->cmd);
		bt_writer_deinit(&w->eng.writer);
	}
	rte_free(rt->workers);
	rt->workers = NULL;
}
