/*
 * fuzz_worker: raw Ethernet frames through the worker's receive path, dp_worker_handle_burst()
 * (dataplane/worker.c): the DISCOVER warm pass (peek_discover_key(), which reads the raw frame
 * before any parser has checked it), frame parsing with VLAN tags, ARP and ICMP echo answers,
 * conflict-detection probes and the answers that match them, bursts longer than DP_BURST, and
 * the DHCP engine behind them. fuzz_dhcp4 covers the codecs alone; this covers the glue.
 *
 * DPDK for real, as tests/unit/test_worker.c: an EAL without hugepages, a net_ring loopback
 * port (what the worker transmits comes back on the port's RX queue, where the harness reads
 * it), the in-memory commit sink (common/commit.h: an ACK is durable when posted), one worker
 * driven by hand. The EAL, pool, table and worker are made once and live across inputs, as
 * they do in the daemon (the engine's state carries over; the replay test runs the corpus in
 * name order, so it replays identically).
 *
 * The input is a list of frames: {u8 ctl, u16 length (big endian), bytes}. ctl bit 0 ends the
 * burst after this frame, bit 1 asks for the probe clock to jump past every probe's timeout
 * after the burst. Bits 2-3 and 4-5 are the port's verdict on the frame's IPv4 and L4
 * checksums, its RTE_MBUF_F_RX_IP_CKSUM_* and _L4_CKSUM_* flags (0 UNKNOWN, 1 BAD, 2 GOOD,
 * 3 NONE), whatever the frame's sums really are: the worker must trust GOOD and NONE as a
 * port would have checked. Bits 6-7 of a burst's first frame are the TX checksum offloads the
 * port takes during the burst (dp_port_state.tx_csum: enum dp_tx_csum, 0 none, 1 UDP, 2 IPv4
 * header, 3 both), as a net_vhost peer's (re)connection changes them: replies parked, held
 * for a probe or delayed in one burst leave in another. At most MAX_FRAMES frames; a burst
 * of at most 2 x DP_BURST.
 *
 * Beyond memory safety (ASan, UBSan in the libFuzzer build), checked after every burst, and
 * a failure aborts:
 *  - every frame the worker transmits is well formed: at least an Ethernet header; an IPv4
 *    packet has a valid header checksum and a total length within the frame; a UDP datagram
 *    a valid checksum (or none) and a length within the packet; a DHCP reply (UDP from port
 *    67) parses; an ICMP message a valid checksum;
 *  - a frame left to the port's checksum offload is one a port completes into the above: its
 *    ol_flags are 0 (every sum in the frame) or RTE_MBUF_F_TX_IPV4 with _TX_UDP_CKSUM and/or
 *    _TX_IP_CKSUM on a UDP/IPv4 frame, l2_len the Ethernet header and tags, l3_len the IPv4
 *    header, the UDP field the pseudo-header's sum (the seed), the IPv4 one 0; the harness
 *    completes those sums as the port would and checks the frame as any other;
 *  - every frame given to the worker is accounted for once the probes have timed out and the
 *    worker has flushed: the mbuf pool holds what it held before the input (a frame leaked or
 *    freed twice shows here, the latter also to ASan).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "byteorder.h"
#include "commit.h"
#include "config.h"
#include "dhcp4_wire.h"
#include "worker.h"
#include "../unit/worker_fix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES	96
#define FRAME_MAX	1518
#define N_MBUFS		1023

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_worker: check failed: %s (line %d)\n", #cond, \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Two interfaces on the port (untagged and VLAN 7), a relayed scope, conflict detection by
 * ARP on the untagged scope and by ICMP on the relayed one (probes answerable by frames). */
static const char *cfg_json =
	"{\"server\": {\"workers\": 1, \"mbufs\": 1023},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"},"
	"                    {\"vlan\": 7, \"address\": \"198.18.7.1/24\"}]}],"
	" \"scopes\": ["
	"  {\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.199\"], \"lease-time\": 600,"
	"   \"conflict-detection-attempts\": 1, \"conflict-detection-timeout\": 10,"
	"   \"reservations\": [{\"hw-address\": \"02:00:00:00:00:01\","
	"                       \"ip-address\": \"198.18.0.50\"}]},"
	"  {\"name\": \"tagged\", \"subnet\": \"198.18.7.0/24\","
	"   \"pools\": [\"198.18.7.100 - 198.18.7.199\"], \"lease-time\": 300},"
	"  {\"name\": \"far\", \"subnet\": \"198.18.5.0/24\","
	"   \"pools\": [\"198.18.5.10 - 198.18.5.40\"], \"lease-time\": 300,"
	"   \"conflict-detection-attempts\": 2, \"conflict-detection-timeout\": 10}"
	" ]}";

static struct dp_runtime rt;
static struct dp_commit_mem sink;
static bool ready;
static unsigned long n_sent;	/* frames checked by check_sent(): FUZZ_WORKER_VERBOSE */
static unsigned long n_offload;	/* of which left to the port's checksum offload */

static void drain_sent(void);

/* At exit (atexit, so after libFuzzer's last input): everything init_once() made, as the
 * daemon frees it, so that LeakSanitizer's exit check sees no leak. The worker lives in
 * DPDK's heap, which LeakSanitizer does not scan: what it points to would look leaked. */
static void teardown(void)
{
	drain_sent();
	wf_runtime_stop(&rt);
	wf_runtime_release(&rt);
}

static void init_once(void)
{
	char *eal[] = {"fuzz_worker", "--no-huge", "-m", "128", "--no-shconf", "--no-pci",
		       "--log-level=*:error", "--lcores=0@0", NULL};
	char err[512];
	struct dp_config *cfg;
	int rc;

	CHECK(rte_eal_init(8, eal) >= 0);
	urcu_qsbr_register_thread();
	cfg = cp_config_parse(cfg_json, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "fuzz_worker: config: %s\n", err);
		abort();
	}
	rt.n_ports = 1;
	rt.tsc_hz = rte_get_tsc_hz();
	rt.tsc_base = rte_rdtsc();
	rt.unix_base = 1700000000;
	rt.commit.ops = &dp_commit_mem_ops;
	rt.commit.ctx = &sink;
	rt.crdp = urcu_qsbr_create_call_rcu_data(URCU_CALL_RCU_RT, -1);
	urcu_qsbr_set_thread_call_rcu_data(rt.crdp);
	rt.mp = rte_pktmbuf_pool_create("fz_mbufs", N_MBUFS, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	CHECK(rt.mp != NULL);
	rt.table = bt_table_new(dp_config_capacity(cfg));
	CHECK(rt.table != NULL);
	CHECK(dp_runtime_publish(&rt, cfg, dp_pools_new(cfg, 1), &rc) == NULL && rc == 0);
	CHECK(dp_workers_init(&rt, 1) == 0);
	if (dp_ports_start(rt.snap->cfg, 1, rt.mp, rt.ports, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_worker: ports: %s\n", err);
		abort();
	}
	ready = true;
	CHECK(atexit(teardown) == 0);
}

/* The one's complement sum of @p len bytes at @p p, folded to 16 bits, added to @p sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2) {
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

/* What a port with TX checksum offload does to @p m (ol_flags @p ol) before it goes out:
 * checks that the flags and lengths say what the frame holds, then computes the sums. */
static void complete_offload(uint8_t *p, size_t len, const struct rte_mbuf *m, uint64_t ol)
{
	size_t off = 12;
	uint8_t *ip, *u;
	uint16_t ulen;
	uint32_t sum;

	n_offload++;
	CHECK((ol & ~(RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM)) ==
	      0);
	CHECK(ol & RTE_MBUF_F_TX_IPV4);
	CHECK(ol & (RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM));
	while (off + 2 <= len && (lw_get16(p + off) == 0x8100 || lw_get16(p + off) == 0x88a8)) {
		off += 4;
	}
	/* Only a DHCP reply (UDP/IPv4, 20-byte header) is left to the port. */
	CHECK(off + 2 + 20 + 8 <= len && lw_get16(p + off) == 0x0800);
	CHECK(m->l2_len == off + 2 && m->l3_len == 20);
	ip = p + m->l2_len;
	CHECK(ip[0] == 0x45 && ip[9] == 17);
	u = ip + m->l3_len;
	ulen = lw_get16(u + 4);
	CHECK(ulen >= 8 && u + ulen <= p + len);
	if (ol & RTE_MBUF_F_TX_IP_CKSUM) {
		CHECK(lw_get16(ip + 10) == 0);
		lw_put16(ip + 10, (uint16_t)~csum_add(0, ip, 20));
	}
	if (ol & RTE_MBUF_F_TX_UDP_CKSUM) {
		uint8_t pseudo[12];

		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = 17;
		lw_put16(pseudo + 10, ulen);
		/* The seed: the pseudo-header's sum, folded, not complemented. */
		CHECK(lw_get16(u + 6) == csum_add(0, pseudo, sizeof(pseudo)));
		sum = (uint16_t)~csum_add(0, u, ulen);
		lw_put16(u + 6, sum != 0 ? (uint16_t)sum : 0xffff);
	}
}

/* A frame the worker transmitted: well formed as the header says (see the top comment). */
static void check_sent(const uint8_t *p, size_t len)
{
	size_t off = 12, ihl, tot;
	const uint8_t *ip, *l4;
	uint32_t sum;

	n_sent++;
	CHECK(len >= 14 && len <= RTE_MBUF_DEFAULT_DATAROOM);
	while (off + 2 <= len && p[off] == 0x81 && p[off + 1] == 0x00) {
		off += 4;
	}
	CHECK(off + 2 <= len);
	if (p[off] != 0x08 || p[off + 1] != 0x00) {
		return;		/* ARP: fuzz_dhcp4 checks the builder */
	}
	ip = p + off + 2;
	CHECK(ip + 20 <= p + len);
	ihl = (ip[0] & 15u) * 4u;
	tot = lw_get16(ip + 2);
	CHECK(ip[0] >> 4 == 4 && ihl >= 20 && tot >= ihl && ip + tot <= p + len);
	CHECK(csum_add(0, ip, ihl) == 0xffff);
	l4 = ip + ihl;
	if (ip[9] == 1) {
		CHECK(csum_add(0, l4, tot - ihl) == 0xffff);
		return;
	}
	if (ip[9] != 17) {
		return;
	}
	CHECK(tot - ihl >= 8 && lw_get16(l4 + 4) == tot - ihl);
	if (lw_get16(l4 + 6) != 0) {
		uint8_t pseudo[12];

		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = 17;
		lw_put16(pseudo + 10, (uint16_t)(tot - ihl));
		sum = csum_add(0, pseudo, sizeof(pseudo));
		CHECK(csum_add(sum, l4, tot - ihl) == 0xffff);
	}
	if (lw_get16(l4) == 67) {
		struct dhcp4_msg msg;

		CHECK(dhcp4_parse(&msg, l4 + 8, tot - ihl - 8) == DHCP4_OK);
	}
}

/* Read back what the worker sent (net_ring loops it to the RX queue) and free it. */
static void drain_sent(void)
{
	struct rte_mbuf *pk[32];
	uint16_t n;

	for (int round = 0; round < 64; round++) {
		n = rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 32);
		for (uint16_t i = 0; i < n; i++) {
			uint8_t *p = rte_pktmbuf_mtod(pk[i], uint8_t *);

			CHECK(pk[i]->nb_segs == 1);
			/* net_ring hands back the mbuf as sent: its TX flags included. */
			if (pk[i]->ol_flags != 0) {
				complete_offload(p, pk[i]->data_len, pk[i], pk[i]->ol_flags);
			}
			check_sent(p, pk[i]->data_len);
			rte_pktmbuf_free(pk[i]);
		}
		if (n == 0) {
			return;
		}
	}
}

static void run_burst(struct dp_worker *w, struct rte_mbuf **m, uint16_t n, bool timeout)
{
	dp_worker_handle_burst(w, m, n);
	dp_worker_flush(w);
	drain_sent();
	/* Far past every probe's timeout, once per attempt a scope may make: each held
	 * DISCOVER is probed again, then offered or dropped. */
	for (unsigned k = 1; timeout && k <= 8 && w->probes.n != 0; k++) {
		dp_worker_probe_poll(w, rte_rdtsc() + k * rt.tsc_hz);
		dp_worker_flush(w);
		drain_sent();
	}
	urcu_qsbr_quiescent_state();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t rx_ip[4] = {
		RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN, RTE_MBUF_F_RX_IP_CKSUM_BAD,
		RTE_MBUF_F_RX_IP_CKSUM_GOOD, RTE_MBUF_F_RX_IP_CKSUM_NONE,
	};
	static const uint64_t rx_l4[4] = {
		RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, RTE_MBUF_F_RX_L4_CKSUM_BAD,
		RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_MBUF_F_RX_L4_CKSUM_NONE,
	};
	struct rte_mbuf *m[2 * DP_BURST];
	struct dp_worker *w;
	unsigned frames = 0, before;
	uint16_t n = 0;
	size_t pos = 0;

	if (!ready) {
		init_once();
	}
	w = &rt.workers[0];
	drain_sent();
	before = rte_mempool_avail_count(rt.mp);
	while (pos + 3 <= size && frames < MAX_FRAMES) {
		uint8_t ctl = data[pos];
		size_t len = lw_get16(data + pos + 1);
		struct rte_mbuf *b;

		pos += 3;
		if (len > size - pos) {
			len = size - pos;
		}
		if (len > FRAME_MAX) {
			len = FRAME_MAX;
		}
		b = rte_pktmbuf_alloc(rt.mp);
		CHECK(b != NULL);
		memcpy(rte_pktmbuf_mtod(b, uint8_t *), data + pos, len);
		b->data_len = (uint16_t)len;
		b->pkt_len = (uint32_t)len;
		b->port = 0;	/* config port index */
		b->ol_flags = rx_ip[ctl >> 2 & 3] | rx_l4[ctl >> 4 & 3];
		if (n == 0) {
			/* What the worker reads once per reply (port.h). */
			atomic_store_explicit(&rt.ports[0].tx_csum, (uint8_t)(ctl >> 6),
					      memory_order_relaxed);
		}
		pos += len;
		frames++;
		m[n++] = b;
		if ((ctl & 1) || n == 2 * DP_BURST) {
			run_burst(w, m, n, ctl & 2);
			n = 0;
		}
	}
	if (n != 0) {
		run_burst(w, m, n, false);
	}
	/* Every probe timed out: nothing of this input is held any more. */
	run_burst(w, m, 0, true);
	CHECK(w->probes.n == 0);
	CHECK(rte_mempool_avail_count(rt.mp) == before);
	if (getenv("FUZZ_WORKER_VERBOSE") != NULL) {
		fprintf(stderr, "fuzz_worker: %u frames in, %lu sent so far (%lu offloaded), rx "
			"%llu\n", frames, n_sent, n_offload, (unsigned long long)w->ctr.rx);
	}
	return 0;
}
