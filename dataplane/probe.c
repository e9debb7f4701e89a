/*
 * probe.c: conflict detection (contract and probe formats in probe.h).
 *
 * Design.
 *
 * Who probes. The engine decides a DISCOVER as always (engine.c): it picks the address and
 * writes the OFFERED hold, and sets dp_decision.probe when the scope asks for probes and the
 * address is new to the client (no record of it, or another client's record: a repeated
 * DISCOVER within the hold, the client's own previous address, a reservation are never
 * probed; the client itself may still answer for its old address). The hold keeps every
 * other client off the address while it is probed.
 *
 * Where the DISCOVER waits. The worker (worker.c) keeps the DISCOVER's mbuf, untouched, in a
 * slot of its probe table (DP_PROBE_MAX slots, a fixed array inside struct dp_worker: no
 * allocation), builds the probe into a fresh mbuf and sends it. The table is scanned from
 * the poll loop, by TSC (dp_worker_probe_poll, once per iteration and only while slots are
 * in use), as the park is: no timer wheel, no system call. A slot whose deadline has passed
 * sends its next probe, or, after the last one, is freed and the DISCOVER handled again from
 * its mbuf as if it had just arrived: the engine finds the client's OFFERED hold (step 2 of
 * engine.c's order), the address is not new to the client any more, and the OFFER goes out.
 * Anything that changed meanwhile (a new snapshot, an operator's change to the address) is
 * decided afresh, and a different address is probed in turn.
 *
 * Answers. ARP packets and ICMP echo replies are looked at on the RX path while any worker
 * has a probe in flight (dp_probe_answer_parse(); the frame parser itself is unchanged: it
 * still refuses ARP replies and echo replies, which are then counted as before unless they
 * answer a probe). An answer for an address in our own table is handled at once. With several
 * workers, an answer for an address another worker probes (its published @c pub array, read
 * with relaxed loads) goes to that worker's steering ring, like a DHCP frame whose client it
 * owns; a stale read only sends it to a worker that finds nothing and counts it ignored. An
 * ARP request that answers a probe is still answered when it is for our address.
 *
 * A conflict. The slot is freed; the held DISCOVER is parsed again; the engine abandons the
 * address exactly as a DECLINE does (dp_engine_conflict: ABANDONED for the scope's
 * decline-hold, filed under the client that was about to get it, posted to the store and to a
 * failover partner, so it is durable, shown by lease list and freed by the reclaim when the
 * hold ends); an event goes to the control thread (dp_conflict_events, a bounded
 * single-producer queue; lost events are counted, the conflict is counted either way); and
 * the DISCOVER is handled again, which gives the client the next candidate, probed in turn.
 * At most DP_PROBE_CANDIDATES addresses are probed for one DISCOVER: when they all answer the
 * DISCOVER is dropped (conflict_candidates), not answered unprobed; the addresses stay
 * abandoned and the client's retransmission starts over with the next ones. Dropping is the
 * safe side: an OFFER of an address in use leads to a DECLINE (at best) or to two hosts on one
 * address.
 *
 * Bounds. A copy of a DISCOVER whose address is being probed (retransmit, redundant relays)
 * is dropped (probe_pending): the first copy is answered. A probe outlives its client's hold
 * when the client takes another server's offer or the hold ends; when the engine then holds
 * the address for another client, that client's DISCOVER takes the probe of the address over
 * (the old one is dropped, probe_stale): one slot per address, so an answer reaches the live
 * one. When the table is full, or there
 * is no mbuf for the probe, the OFFER goes out unprobed and is counted (probes_skipped), as
 * a scope without conflict detection would answer: a worker's probe table bounds the mbufs
 * held (DP_PROBE_MAX) and never turns a busy pool into a silent one.
 *
 * Live changes. A probe copies what it needs (attempts left, timeout, how) when it starts;
 * a new snapshot applies to the probes started after it. Pending probes outlive snapshots
 * (their DISCOVER is decided again with the snapshot in force when they end).
 */
#include <string.h>

#include "byteorder.h"
#include "probe.h"

#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_ARP	0x0806
#define ETHERTYPE_VLAN	0x8100
#define ARP_LEN		28
#define ICMP_LEN	16	/* header + 8 bytes of data */

_Static_assert(DP_PROBE_MAX <= 0xffff, "slot indexes fit an ICMP sequence");

const char *dp_probe_how_str(uint8_t how)
{
	return how == DP_PROBE_ARP ? "arp" : how == DP_PROBE_ICMP ? "icmp" : "unknown";
}

int dp_probe_find(const struct dp_probe_table *t, uint32_t addr)
{
	if (t->n == 0 || addr == 0) {
		return -1;
	}
	for (int i = 0; i < DP_PROBE_MAX; i++) {
		if (t->slot[i].addr == addr) {
			return i;
		}
	}
	return -1;
}

bool dp_probe_published(const struct dp_probe_table *t, uint32_t addr)
{
	if (atomic_load_explicit(&t->n_pub, memory_order_relaxed) == 0) {
		return false;
	}
	for (int i = 0; i < DP_PROBE_MAX; i++) {
		if (atomic_load_explicit(&t->pub[i], memory_order_relaxed) == addr) {
			return true;
		}
	}
	return false;
}

int dp_probe_alloc(struct dp_probe_table *t, uint32_t addr)
{
	if (t->n >= DP_PROBE_MAX || addr == 0) {
		return -1;
	}
	for (int i = 0; i < DP_PROBE_MAX; i++) {
		if (t->slot[i].addr == 0) {
			memset(&t->slot[i], 0, sizeof(t->slot[i]));
			t->slot[i].addr = addr;
			t->n++;
			atomic_store_explicit(&t->pub[i], addr, memory_order_relaxed);
			atomic_store_explicit(&t->n_pub, t->n, memory_order_relaxed);
			return i;
		}
	}
	return -1;	/* not reached: n counts the used slots */
}

void dp_probe_release(struct dp_probe_table *t, int i)
{
	if (i < 0 || i >= DP_PROBE_MAX || t->slot[i].addr == 0) {
		return;
	}
	t->slot[i].addr = 0;
	t->slot[i].m = NULL;
	t->n--;
	atomic_store_explicit(&t->pub[i], 0, memory_order_relaxed);
	atomic_store_explicit(&t->n_pub, t->n, memory_order_relaxed);
}

/* Ethernet header and VLAN tags; @return the offset of the L3 header. */
static size_t eth_put(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint8_t nvlan,
		      const uint16_t *tpid, const uint16_t *tci, uint16_t type)
{
	size_t off = 12;

	memcpy(buf, dst, DP_ETHER_ADDR_LEN);
	memcpy(buf + DP_ETHER_ADDR_LEN, src, DP_ETHER_ADDR_LEN);
	for (unsigned i = 0; i < nvlan; i++) {
		lw_put16(buf + off, tpid[i] ? tpid[i] : ETHERTYPE_VLAN);
		lw_put16(buf + off + 2, tci[i]);
		off += DP_VLAN_HDR_LEN;
	}
	lw_put16(buf + off, type);
	return off + 2;
}

size_t dp_probe_build_arp(uint8_t *buf, size_t cap, const uint8_t src_mac[6], uint8_t nvlan,
			  const uint16_t *tpid, const uint16_t *tci, uint32_t target)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	size_t l3;
	uint8_t *a;

	if (nvlan > DP_MAX_VLAN ||
	    cap < (size_t)(DP_ETHER_HDR_LEN + nvlan * DP_VLAN_HDR_LEN + ARP_LEN)) {
		return 0;
	}
	l3 = eth_put(buf, bcast, src_mac, nvlan, tpid, tci, ETHERTYPE_ARP);
	a = buf + l3;
	lw_put16(a, 1);				/* Ethernet */
	lw_put16(a + 2, ETHERTYPE_IPV4);
	a[4] = DP_ETHER_ADDR_LEN;
	a[5] = 4;
	lw_put16(a + 6, 1);			/* request */
	memcpy(a + 8, src_mac, DP_ETHER_ADDR_LEN);
	lw_put32(a + 14, 0);			/* RFC 5227: sender IP 0 */
	memset(a + 18, 0, DP_ETHER_ADDR_LEN);
	lw_put32(a + 24, target);
	return l3 + ARP_LEN;
}

size_t dp_probe_build_icmp(uint8_t *buf, size_t cap, const uint8_t dst_mac[6],
			   const uint8_t src_mac[6], uint8_t nvlan, const uint16_t *tpid,
			   const uint16_t *tci, uint32_t src, uint32_t dst, uint16_t seq)
{
	size_t l3;
	uint8_t *ip, *icmp;

	if (nvlan > DP_MAX_VLAN ||
	    cap < (size_t)(DP_ETHER_HDR_LEN + nvlan * DP_VLAN_HDR_LEN + DP_IPV4_HDR_LEN +
			   ICMP_LEN)) {
		return 0;
	}
	l3 = eth_put(buf, dst_mac, src_mac, nvlan, tpid, tci, ETHERTYPE_IPV4);
	ip = buf + l3;
	ip[0] = 0x45;
	ip[1] = 0;
	lw_put16(ip + 2, DP_IPV4_HDR_LEN + ICMP_LEN);
	lw_put16(ip + 4, seq);
	lw_put16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = 1;				/* ICMP */
	lw_put16(ip + 10, 0);
	lw_put32(ip + 12, src);
	lw_put32(ip + 16, dst);
	lw_put16(ip + 10, dp_csum_finish(dp_csum_partial(ip, DP_IPV4_HDR_LEN, 0)));
	icmp = ip + DP_IPV4_HDR_LEN;
	icmp[0] = 8;				/* echo request */
	icmp[1] = 0;
	lw_put16(icmp + 2, 0);
	lw_put16(icmp + 4, DP_PROBE_IDENT);
	lw_put16(icmp + 6, seq);
	memcpy(icmp + 8, "leasewir", 8);
	lw_put16(icmp + 2, dp_csum_finish(dp_csum_partial(icmp, ICMP_LEN, 0)));
	return l3 + DP_IPV4_HDR_LEN + ICMP_LEN;
}

bool dp_probe_answer_parse(const uint8_t *buf, size_t len, int kind, const struct dp_frame *f,
			   struct dp_probe_answer *a)
{
	const uint8_t *p;

	memset(a, 0, sizeof(*a));
	if (kind == DP_FRAME_ARP) {
		/* A request: the parser has checked it and filled the sender. */
		a->how = DP_PROBE_ARP;
		a->addr = f->arp_spa;
		memcpy(a->mac, f->arp_sha, DP_ETHER_ADDR_LEN);
		return a->addr != 0;
	}
	if (kind == DP_FE_ARP) {
		/* The parser has checked the length (l3_off + 28 <= len) before refusing it. */
		if (f->l3_off == 0 || (size_t)f->l3_off + ARP_LEN > len) {
			return false;
		}
		p = buf + f->l3_off;
		if (lw_get16(p) != 1 || lw_get16(p + 2) != ETHERTYPE_IPV4 ||
		    p[4] != DP_ETHER_ADDR_LEN || p[5] != 4 || lw_get16(p + 6) != 2) {
			return false;
		}
		a->how = DP_PROBE_ARP;
		memcpy(a->mac, p + 8, DP_ETHER_ADDR_LEN);
		a->addr = lw_get32(p + 14);
		return a->addr != 0;
	}
	if (kind == DP_FE_ICMP_OTHER) {
		/* The parser has checked the IPv4 header and set l4_off/l4_len inside @p len. */
		if (f->l4_off == 0 || f->l4_len < 8 || (size_t)f->l4_off + f->l4_len > len) {
			return false;
		}
		p = buf + f->l4_off;
		if (p[0] != 0 || p[1] != 0 ||
		    dp_csum_finish(dp_csum_partial(p, f->l4_len, 0)) != 0) {
			return false;
		}
		a->how = DP_PROBE_ICMP;
		a->addr = f->ip_src;
		a->dst = f->ip_dst;
		a->ident = lw_get16(p + 4);
		a->seq = lw_get16(p + 6);
		memcpy(a->mac, f->src_mac, DP_ETHER_ADDR_LEN);
		return a->addr != 0;
	}
	return false;
}

bool dp_conflict_event_push(struct dp_conflict_events *q, const struct dp_conflict_event *ev)
{
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	if (tail - head >= DP_PROBE_EVENTS) {
		return false;
	}
	q->ev[tail % DP_PROBE_EVENTS] = *ev;
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return true;
}

bool dp_conflict_event_pop(struct dp_conflict_events *q, struct dp_conflict_event *ev)
{
	uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);

	if (head == tail) {
		return false;
	}
	*ev = q->ev[head % DP_PROBE_EVENTS];
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return true;
}
