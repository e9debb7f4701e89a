/*
 * lwb_gen: the client population and its poll loop, as lwbench.c (main: options, EAL, port,
 * reflect mode) drives it. Private to bench/leasewire-bench/; the pure parts are lwb_wire.h
 * and lwb_hist.h. Dependencies run one way: lwbench.c -> lwb_gen.c.
 *
 * Threads: everything runs on the EAL main lcore. The signal handler only sets lwb_quit.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "lw_attr.h"
#include "lwb_hist.h"
#include "lwb_wire.h"

/** Default idle back-off (lwbench.c --idle-polls, --idle-sleep-us; lwb_gen.c idle_wait()). */
#define LWB_IDLE_POLLS		64u
#define LWB_IDLE_SLEEP_US	0u

/** Command-line options (lwbench.c parses them; see its usage()). */
struct lwb_opts {
	bool reflect;			/**< --mode reflect, else the generator */
	uint16_t port;			/**< DPDK port id */
	uint32_t clients;		/**< population size */
	uint32_t first_client;		/**< index of the first client (disjoint sets) */
	int xid_base;			/**< --xid-base: every client's first xid sequence (its
					 *   top byte); -1 = taken from the clock at start */
	uint64_t sessions;		/**< sessions to start in total, 0 = until duration */
	double duration;		/**< seconds of starting sessions, 0 = until sessions */
	double rate;			/**< sessions started per second, 0 = flat out */
	uint32_t window;		/**< most sessions in flight at once */
	double timeout_ms;		/**< per transmission */
	uint32_t retries;		/**< retransmissions before an exchange counts as lost */
	uint32_t renews;		/**< renewals per session after its DORA */
	bool release;			/**< end each session with a RELEASE */
	uint32_t relay;			/**< giaddr, 0 = direct (broadcast) clients */
	bool opt82;			/**< relayed: add option 82 */
	bool client_id;			/**< send option 61 */
	bool broadcast;			/**< BOOTP broadcast flag on DISCOVER/REQUEST */
	uint32_t server_ip;		/**< relayed: the server; reflect: our address */
	bool check_csum;		/**< verify UDP checksums of replies */
	bool csum_offload;		/**< UDP checksums left to the port both ways
					 *   (--csum-offload; lwb_tx_csum_offload()) */
	bool answer_arp;		/**< answer every ARP request (kernel-socket servers) */
	double ceiling;			/**< DORA/s of a reflect run (fractions); 0 = none */
	bool json;			/**< final summary as one JSON object on stdout */
	const char *leases_out;		/**< write "index chaddr address state" lines here */
	const char *label;		/**< free text put in the JSON summary */
	uint32_t mbufs;
	bool quiet;			/**< no per-second lines */
	uint32_t idle_polls;		/**< empty polls in a row before an idle back-off;
					 *   0 = busy-poll for ever */
	uint32_t idle_sleep_us;		/**< the back-off: 0 = sched_yield, else a sleep */
};

/**
 * Ask the port to complete the UDP checksum of @p m, a frame lwb_build() or lwb_reflect()
 * wrote with csum_offload (untagged Ethernet, 20-byte IPv4 header, the field seeded with
 * the pseudo-header sum): the flags, l2_len and l3_len RTE_MBUF_F_TX_UDP_CKSUM needs.
 */
static inline void lwb_tx_csum_offload(struct rte_mbuf *m)
{
	m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
	m->l2_len = 14;
	m->l3_len = 20;
}

/** The port's verdict on a received frame's UDP checksum (enum lwb_rx_l4). */
static inline enum lwb_rx_l4 lwb_rx_l4(const struct rte_mbuf *m)
{
	switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
	case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
		return LWB_RX_L4_GOOD;
	case RTE_MBUF_F_RX_L4_CKSUM_BAD:
		return LWB_RX_L4_BAD;
	case RTE_MBUF_F_RX_L4_CKSUM_NONE:
		return LWB_RX_L4_NONE;
	default:
		return LWB_RX_L4_UNKNOWN;
	}
}

/** Where this run executed: printed beside every figure. */
struct lwb_place {
	unsigned lcore;
	int cpu;			/**< sched_getcpu() of the polling thread */
};

/** Stop request (defined in lwb_gen.c): 1 = stop starting sessions, 2 = stop now. The main's
 *  signal handler increments it; the poll loops read it. */
extern volatile sig_atomic_t lwb_quit;

/**
 * Run the generator on port @p o->port until its sessions or duration are done, then print
 * the summary (text, or JSON with o->json) on stdout. Per-second lines go to stdout, or to
 * stderr when o->json.
 * @param mp  the mbuf pool the frames are allocated from (owned by the caller).
 * @return 0, or -1 when the client array cannot be allocated (message printed).
 */
_mustcheck_
int lwb_gen_run(const struct lwb_opts *o, struct rte_mempool *mp);

/** The four percentiles the reports show, in µs, as a JSON object member list body. */
void lwb_print_lat_json(FILE *f, const char *name, const struct lwb_hist *h);
