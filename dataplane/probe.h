/*
 * probe: conflict detection before an address is offered (issue 14 item 4; Windows'
 * "conflict detection attempts", ISC's ping-check).
 *
 * A scope with conflict-detection-attempts N > 0 has each address probed before it is first
 * offered to a client; the DISCOVER waits, without blocking the worker, in the worker's probe
 * table. This header holds what is pure C (no DPDK type, no allocation, any thread unless
 * said): the table, the probe frame builders, the recognition of answers and the queue of
 * conflict events to the control thread. worker.c drives them (the design is there too, at
 * "Conflict detection").
 *
 * How an address is probed:
 *   - A client that came without a relay (giaddr 0) shares the link with the server: an ARP
 *     probe as RFC 5227 §2.1.1 describes it (broadcast request, sender hardware address
 *     ours, sender IP 0, target IP the candidate) on the DISCOVER's port and VLAN. Sender
 *     IP 0 because the server claims nothing: no host's ARP cache changes, and a host that
 *     owns the candidate answers such a probe (Linux, Windows and RFC 5227 hosts do) with a
 *     reply unicast to our MAC. Any ARP packet whose sender IP is the candidate, reply or
 *     request (the host ARPs for someone meanwhile, or announces itself), is a conflict.
 *   - A relayed client: an ICMP echo request from the server's address on the ingress
 *     interface to the candidate, sent to the Ethernet address the DISCOVER came from (the
 *     relay, a router on the client's subnet), VLAN tags as received. An echo reply from the
 *     candidate, to that source, with our identifier (DP_PROBE_IDENT) and the probe's
 *     sequence number is a conflict. Silence proves little (a host may drop ICMP), as with
 *     every ping-check.
 * N probes are sent, one per conflict-detection-timeout; the address is offered when the
 * last has timed out unanswered.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define DP_PROBE_MAX		256	/**< pending probes per worker (DISCOVERs held) */
#define DP_PROBE_CANDIDATES	4	/**< addresses probed for one DISCOVER at most */
#define DP_PROBE_IDENT		0x4c57	/**< ICMP identifier of our echo requests ("LW") */
#define DP_PROBE_EVENTS		64	/**< conflict events queued per worker */
#define DP_PROBE_SCOPE_MAX	64	/**< = DP_NAME_MAX (dp_config.h), with the NUL */

/** How a probe is sent and answered. */
enum dp_probe_how {
	DP_PROBE_ARP = 1,
	DP_PROBE_ICMP = 2,
};

/** One pending probe: a held DISCOVER and the address probed for it. Owner worker only. */
struct dp_probe {
	void *m;			/**< the DISCOVER (struct rte_mbuf *), owned by the slot */
	uint64_t deadline;		/**< TSC: when the probe in flight has timed out */
	uint64_t timeout;		/**< TSC cycles per probe (conflict-detection-timeout) */
	uint32_t addr;			/**< the candidate, host order; 0 = free slot */
	uint32_t src_ip;		/**< ICMP: our address on the ingress interface */
	uint16_t port;			/**< config port index to send on */
	uint16_t seq;			/**< ICMP sequence of the probes of this slot */
	uint8_t how;			/**< enum dp_probe_how */
	uint8_t tries_left;		/**< probes still to send after the one in flight */
	uint8_t candidates;		/**< addresses probed for this DISCOVER, this one included */
	uint8_t nvlan;
	uint16_t vlan_tpid[DP_MAX_VLAN];
	uint16_t vlan_tci[DP_MAX_VLAN];
	uint8_t dst_mac[DP_ETHER_ADDR_LEN];	/**< ICMP: the relay's MAC */
};

/**
 * A worker's probe table: fixed size, no allocation. The owner worker is the only writer.
 * Other workers read @c pub and @c n_pub (relaxed atomics) only to find which worker a
 * received answer belongs to, and steer it there; a stale read costs a frame steered to a
 * worker that no longer waits for it (counted as ignored there), nothing else.
 */
struct dp_probe_table {
	struct dp_probe slot[DP_PROBE_MAX];
	_Atomic uint32_t pub[DP_PROBE_MAX];	/**< slot[i].addr, for the other workers */
	_Atomic uint32_t n_pub;			/**< slots in use, for the other workers */
	uint32_t n;				/**< slots in use */
	uint16_t gen;				/**< ICMP sequences: next value */
};

/** A frame that may answer a probe (dp_probe_answer_parse()). */
struct dp_probe_answer {
	uint8_t how;			/**< enum dp_probe_how */
	uint32_t addr;			/**< who answered: ARP sender IP / ICMP source */
	uint32_t dst;			/**< ICMP: the reply's destination */
	uint16_t ident, seq;		/**< ICMP */
	uint8_t mac[DP_ETHER_ADDR_LEN];	/**< ARP sender hardware address / Ethernet source */
};

/** A conflict, for the control thread's log (event=address-conflict). */
struct dp_conflict_event {
	uint32_t addr;
	uint8_t how;			/**< enum dp_probe_how */
	uint8_t mac[DP_ETHER_ADDR_LEN];	/**< what answered */
	char scope[DP_PROBE_SCOPE_MAX];
};

/**
 * Single-producer (the worker), single-consumer (the control thread) queue of conflict
 * events. Bounded: a full queue loses the event (the caller counts it).
 */
struct dp_conflict_events {
	struct dp_conflict_event ev[DP_PROBE_EVENTS];
	_Atomic uint32_t head;		/**< next to pop; written by the consumer */
	_Atomic uint32_t tail;		/**< next to push; written by the producer */
};

/** Name of an enum dp_probe_how ("arp", "icmp"), for logs. */
const char *dp_probe_how_str(uint8_t how);

/** The slot probing @p addr, or -1. Owner worker. */
int dp_probe_find(const struct dp_probe_table *t, uint32_t addr);

/** Is @p addr being probed by the owner of @p t? Any thread (relaxed reads). */
bool dp_probe_published(const struct dp_probe_table *t, uint32_t addr);

/**
 * Take a free slot for @p addr (non-zero) and publish it. The caller fills the rest.
 * @return the slot index, or -1 when the table is full. Owner worker.
 */
int dp_probe_alloc(struct dp_probe_table *t, uint32_t addr);

/** Free slot @p i (unpublish). Its mbuf must have been taken by the caller. Owner worker. */
void dp_probe_release(struct dp_probe_table *t, int i);

/**
 * Write an ARP probe for @p target (RFC 5227 §2.1.1: sender IP 0) into @p buf: broadcast,
 * VLAN tags as given (a tpid of 0 is 0x8100).
 * @return the frame length (without padding: the NIC pads to 60), or 0 when it does not fit.
 */
size_t dp_probe_build_arp(uint8_t *buf, size_t cap, const uint8_t src_mac[6], uint8_t nvlan,
			  const uint16_t *tpid, const uint16_t *tci, uint32_t target);

/**
 * Write an ICMP echo request from @p src to @p dst with identifier DP_PROBE_IDENT and
 * sequence @p seq (8 bytes of data, "leasewir") into @p buf.
 * @return the frame length, or 0 when it does not fit.
 */
size_t dp_probe_build_icmp(uint8_t *buf, size_t cap, const uint8_t dst_mac[6],
			   const uint8_t src_mac[6], uint8_t nvlan, const uint16_t *tpid,
			   const uint16_t *tci, uint32_t src, uint32_t dst, uint16_t seq);

/**
 * Could this frame answer a probe? @p kind is what dp_frame_parse() returned for
 * @p buf/@p len with @p f: an ARP request (DP_FRAME_ARP) gives its sender; a frame the
 * parser refused as DP_FE_ARP is looked at again as an ARP reply (Ethernet/IPv4, op 2), one
 * refused as DP_FE_ICMP_OTHER (well-formed ICMP, not an echo request) as an ICMP echo reply
 * (type 0, code 0, checksum right). Nothing else answers. Pure, any thread.
 * @return true and *a filled, or false.
 */
bool dp_probe_answer_parse(const uint8_t *buf, size_t len, int kind, const struct dp_frame *f,
			   struct dp_probe_answer *a);

/** Queue @p ev. Producer (the worker). @return false when the queue is full (lost). */
bool dp_conflict_event_push(struct dp_conflict_events *q, const struct dp_conflict_event *ev);

/** Take the oldest event into *ev. Consumer (the control thread). @return false if none. */
bool dp_conflict_event_pop(struct dp_conflict_events *q, struct dp_conflict_event *ev);
