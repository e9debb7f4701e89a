/*
 * dora_profile: one worker's whole per-packet path for full DORAs of a large client
 * population, in process and without DPDK, for callgrind (issue 13 item 4).
 *
 *   leasewire-dora-profile [CLIENTS [ROUNDS]]        default 200000 1
 *
 * Each client (chaddr 02:4c:<i>) sends a DISCOVER and then a SELECTING REQUEST for the
 * offered address, as Ethernet frames; each frame goes through what the worker does with it:
 * dp_frame_parse, the interface lookup, dhcp4_parse, dp_engine_handle (in-memory commit sink,
 * so nothing waits) and dp_reply_build. One /12 scope, one worker, the tables sized for the
 * population. A later round renews every client (REQUEST RENEWING, ciaddr set).
 *
 * Instruction counts: run under callgrind with collection only inside one exchange,
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=dora_one \
 *       leasewire-dora-profile 200000
 * and divide the total Ir by CLIENTS (dora_one is one DISCOVER + REQUEST). Without valgrind it
 * prints the wall time per DORA (not a figure to trust on a shared machine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byteorder.h"
#include "config.h"
#include "engine.h"
#include "frame.h"
#include "pool.h"

#define SRV 0x0a000001u		/* 10.0.0.1 */

static const char *cfg_json =
	"{\"server\": {\"workers\": 1},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"10.0.0.1/12\"}]}],"
	" \"scopes\": [{\"name\": \"bench\", \"subnet\": \"10.0.0.0/12\","
	"   \"pools\": [\"10.0.1.0 - 10.15.255.254\"], \"lease-time\": 3600,"
	"   \"options\": {\"routers\": [\"10.0.0.1\"], \"domain-name-servers\": [\"10.0.0.1\"],"
	"                 \"domain-name\": \"bench.leasewire.test\"}}]}";

struct env {
	struct dp_config *cfg;
	struct dp_engine e;
	struct dp_commit_mem mem;
	struct dp_counters ctr;
	struct dp_rcache rcache;
	struct dp_frame frame;
	struct dhcp4_msg msg;
	struct dp_decision d;
	uint8_t in[512], out[2048];
	size_t in_len;
	uint64_t now;
	uint64_t answered, replies_len;
};

static const uint8_t srv_mac[6] = {0x02, 0x70, 0, 0, 0, 1};

static uint16_t ip_csum(const uint8_t *h, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* A 342-byte broadcast (or, with @p ciaddr, unicast to us) DHCP request from client @p id. */
static void frame(struct env *v, uint32_t id, uint8_t type, uint32_t req_ip, uint32_t ciaddr)
{
	uint8_t *f = v->in, *ip = f + 14, *udp = ip + 20, *b = udp + 8, *o;

	memset(f, 0, 342);
	if (ciaddr != 0) {
		memcpy(f, srv_mac, 6);
	} else {
		memset(f, 0xff, 6);
	}
	f[6] = 0x02;
	f[7] = 0x4c;
	lw_put32(f + 8, id);
	f[12] = 0x08;
	ip[0] = 0x45;
	lw_put16(ip + 2, 342 - 14);
	ip[8] = 64;
	ip[9] = 17;
	lw_put32(ip + 12, ciaddr);
	lw_put32(ip + 16, ciaddr != 0 ? SRV : 0xffffffffu);
	lw_put16(ip + 10, ip_csum(ip, 20));
	lw_put16(udp, 68);
	lw_put16(udp + 2, 67);
	lw_put16(udp + 4, 342 - 34);
	b[0] = 1;
	b[1] = 1;
	b[2] = 6;
	lw_put32(b + 4, id * 2 + type);
	lw_put32(b + 12, ciaddr);
	if (ciaddr == 0) {
		lw_put16(b + 10, 0x8000);
	}
	memcpy(b + 28, f + 6, 6);
	lw_put32(b + 236, 0x63825363);
	o = b + 240;
	*o++ = 53;
	*o++ = 1;
	*o++ = type;
	if (req_ip != 0) {
		*o++ = 54;
		*o++ = 4;
		lw_put32(o, SRV);
		o += 4;
		*o++ = 50;
		*o++ = 4;
		lw_put32(o, req_ip);
		o += 4;
	}
	*o++ = 55;
	*o++ = 4;
	*o++ = 1;
	*o++ = 3;
	*o++ = 6;
	*o++ = 15;
	*o = 255;
	v->in_len = 342;
}

/* What the worker does with one frame (worker.c handle_frame + handle_dhcp, one worker). */
static __attribute__((noinline)) bool handle(struct env *v)
{
	struct dp_ingress in = {
		.cfg = v->cfg, .frame = &v->frame, .msg = &v->msg, .now = v->now,
	};
	size_t len;

	if (dp_frame_parse(v->in, v->in_len, &v->frame) != DP_FRAME_DHCP) {
		return false;
	}
	in.iface = dp_config_iface_find(v->cfg, 0, dp_frame_vlan(&v->frame));
	if (dhcp4_parse(&v->msg, v->in + v->frame.payload_off, v->frame.payload_len) !=
	    DHCP4_OK || !dp_engine_handle(&v->e, &in, &v->d)) {
		return false;
	}
	len = dp_reply_build_cached(v->out, sizeof(v->out), &v->frame, &v->msg, &v->d, srv_mac,
				    &v->ctr, &v->rcache);
	v->answered++;
	v->replies_len += len;
	return len != 0;
}

/* One full DORA of client @p id (callgrind collects inside this function only). */
static __attribute__((noinline)) uint32_t dora_one(struct env *v, uint32_t id)
{
	uint32_t a;

	frame(v, id, DHCP4_DISCOVER, 0, 0);
	if (!handle(v)) {
		return 0;
	}
	a = v->d.yiaddr;
	frame(v, id, DHCP4_REQUEST, a, 0);
	return handle(v) && v->d.reply == DHCP4_ACK ? a : 0;
}

static __attribute__((noinline)) bool renew_one(struct env *v, uint32_t id, uint32_t a)
{
	frame(v, id, DHCP4_REQUEST, 0, a);
	return handle(v) && v->d.reply == DHCP4_ACK;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 200000;
	uint32_t rounds = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1;
	static struct env v;
	struct bt_table *t;
	struct timespec t0, t1;
	uint32_t *addr = calloc(n ? n : 1, sizeof(*addr));
	char err[256];
	uint64_t ok = 0;
	int rc = 1;

	v.cfg = cp_config_parse(cfg_json, err, sizeof(err));
	if (v.cfg == NULL || addr == NULL) {
		fprintf(stderr, "config: %s\n", v.cfg == NULL ? err : "out of memory");
		goto out;
	}
	urcu_qsbr_register_thread();
	t = bt_table_new(dp_config_capacity(v.cfg));
	v.e.pools = dp_pools_new(v.cfg, 1);
	if (t == NULL || v.e.pools == NULL ||
	    bt_writer_init(&v.e.writer, t, 0, n * 2 + 65536) != 0) {
		fprintf(stderr, "out of memory\n");
		goto out_tables;
	}
	bt_table_reserve(t, (uint64_t)n * 2);
	v.e.id = 0;
	v.e.n_workers = 1;
	v.e.table = t;
	v.e.ctr = &v.ctr;
	v.e.commit.ops = &dp_commit_mem_ops;
	v.e.commit.ctx = &v.mem;
	v.now = 1800000000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < n; i++) {
		addr[i] = dora_one(&v, i);
		ok += addr[i] != 0;
		if ((i & 1023) == 0) {
			urcu_qsbr_quiescent_state();
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%u clients: %llu DORAs completed, %.0f ns per DORA (wall)\n", n,
	       (unsigned long long)ok,
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n);
	for (uint32_t r = 1; r < rounds; r++) {
		ok = 0;
		v.now += 1800;
		for (uint32_t i = 0; i < n; i++) {
			ok += addr[i] != 0 && renew_one(&v, i, addr[i]);
			if ((i & 1023) == 0) {
				urcu_qsbr_quiescent_state();
			}
		}
		printf("round %u: %llu renewals ACKed\n", r, (unsigned long long)ok);
	}
	rc = ok == n ? 0 : 1;
out_tables:
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(t);
	bt_writer_deinit(&v.e.writer);
	dp_pools_free(v.e.pools);
	urcu_qsbr_unregister_thread();
out:
	dp_config_free(v.cfg);
	free(addr);
	return rc;
}
