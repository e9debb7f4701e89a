/*
 * The DHCP engine as a table of RFC 2131 cases: each step sends one request from one client
 * at one time and states the answer it must get (type, address, or the counter that explains
 * the silence). Requests are raw bytes (reqbuild.h) parsed by the real codec; replies are
 * built by the real builder and parsed back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "engine.h"
#include "reqbuild.h"

#define SRV IP4(198, 18, 0, 1)
#define OTHER_SRV IP4(198, 18, 0, 254)
#define RELAY IP4(198, 18, 5, 1)
#define T0 1700000000ULL

static const char *cfg_json =
	"{\"server\": {\"workers\": 1},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
	" \"scopes\": ["
	"  {\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.104\"],"
	"   \"lease-time\": 600, \"min-lease-time\": 120, \"max-lease-time\": 3600,"
	"   \"offer-hold\": 30, \"decline-hold\": 900, \"bootp\": true,"
	"   \"reservations\": [{\"hw-address\": \"02:00:00:00:00:99\","
	"                       \"ip-address\": \"198.18.0.50\", \"hostname\": \"printer\"}],"
	"   \"options\": {\"routers\": [\"198.18.0.1\"], \"domain-name-servers\": [\"198.18.0.53\"],"
	"                 \"domain-name\": \"lab.test\", \"custom\": [{\"code\": 43,"
	"                 \"type\": \"hex\", \"value\": \"ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab\"}]}},"
	"  {\"name\": \"far\", \"subnet\": \"198.18.5.0/24\","
	"   \"pools\": [\"198.18.5.10 - 198.18.5.20\"], \"lease-time\": 600}"
	" ]}";

/* A sink that can be told to refuse (fault injection). */
struct test_sink {
	struct dp_commit_mem mem;
	bool refuse;
	struct dp_change last;
	unsigned posted;
};

static int sink_post(void *ctx, const struct dp_change *c)
{
	struct test_sink *s = ctx;

	if (s->refuse) {
		return -ENOBUFS;
	}
	s->last = *c;
	s->posted++;
	return dp_commit_mem_ops.post(&s->mem, c);
}

static uint64_t sink_durable(void *ctx, uint32_t w)
{
	struct test_sink *s = ctx;

	return dp_commit_mem_ops.durable(&s->mem, w);
}

static bool sink_room(void *ctx, uint32_t w)
{
	struct test_sink *s = ctx;

	(void)w;
	return !s->refuse;
}

static const struct dp_commit_ops sink_ops = {
	.post = sink_post, .durable = sink_durable, .posted = sink_durable, .room = sink_room,
};

struct env {
	struct dp_config *cfg;
	struct bt_table *table;
	struct dp_pools *pools;
	struct dp_counters ctr;
	struct dp_engine e;
	struct test_sink sink;
	/* last exchange */
	struct dhcp4_msg req, rep;
	struct dp_frame frame;
	struct dp_decision d;
	bool answered;
	uint8_t out[2048];
	size_t out_len;
	struct dp_frame out_frame;
};

static int setup(void **state)
{
	struct env *v = calloc(1, sizeof(*v));
	char err[256];

	assert_non_null(v);
	v->cfg = cp_config_parse(cfg_json, err, sizeof(err));
	if (v->cfg == NULL) {
		fail_msg("config: %s", err);
	}
	urcu_qsbr_register_thread();
	v->table = bt_table_new(dp_config_capacity(v->cfg));
	v->pools = dp_pools_new(v->cfg, 1);
	assert_non_null(v->table);
	assert_non_null(v->pools);
	assert_int_equal(bt_writer_init(&v->e.writer, v->table, 0, 256), 0);
	v->e.id = 0;
	v->e.n_workers = 1;
	v->e.table = v->table;
	v->e.pools = v->pools;
	v->e.ctr = &v->ctr;
	v->e.commit.ops = &sink_ops;
	v->e.commit.ctx = &v->sink;
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	struct env *v = *state;

	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(v->table);
	bt_writer_deinit(&v->e.writer);
	dp_pools_free(v->pools);
	dp_config_free(v->cfg);
	urcu_qsbr_unregister_thread();
	free(v);
	return 0;
}

/*
 * Parse a reply frame as its receiver would. The server's parser accepts only port 67, so a
 * reply to a client (port 68) comes back as DP_FE_UDP_PORT with the headers filled in; the
 * UDP checksum is then verified here.
 */
static void parse_reply(struct env *v)
{
	struct dp_frame *f = &v->out_frame;
	int rc = dp_frame_parse(v->out, v->out_len, f);

	if (rc == DP_FE_UDP_PORT && f->dport == 68) {
		const uint8_t *u = v->out + f->l4_off;
		uint16_t ulen = (uint16_t)(u[4] << 8 | u[5]);
		uint32_t sum = dp_csum_partial(u, ulen, 0);

		sum += (f->ip_src >> 16) + (f->ip_src & 0xffff) + (f->ip_dst >> 16) +
		       (f->ip_dst & 0xffff) + 17 + ulen;
		assert_int_equal(dp_csum_finish(sum), 0);
		f->payload_off = (uint16_t)(f->l4_off + 8);
		f->payload_len = (uint16_t)(ulen - 8);
		rc = DP_FRAME_DHCP;
	}
	assert_int_equal(rc, DP_FRAME_DHCP);
}

/* Send one request; the reply (if any) is built into v->out and parsed into v->rep. */
static bool send_req(struct env *v, struct reqbuf *r, uint32_t ip_dst, uint64_t now)
{
	struct dp_ingress in = {
		.cfg = v->cfg, .frame = &v->frame, .msg = &v->req, .iface = 0, .now = now,
	};
	static const uint8_t mac[6] = {0x02, 0xaa, 0, 0, 0, 1};

	memset(&v->frame, 0, sizeof(v->frame));
	memcpy(v->frame.src_mac, r->b + 28, 6);
	v->frame.ip_dst = ip_dst;
	v->frame.dport = 67;
	assert_int_equal(dhcp4_parse(&v->req, r->b, r->len), DHCP4_OK);
	v->answered = dp_engine_handle(&v->e, &in, &v->d);
	urcu_qsbr_quiescent_state();
	if (!v->answered) {
		return false;
	}
	v->out_len = dp_reply_build(v->out, sizeof(v->out), &v->frame, &v->req, &v->d, mac,
				    &v->ctr);
	assert_true(v->out_len > 0);
	parse_reply(v);
	assert_int_equal(dhcp4_parse(&v->rep, v->out + v->out_frame.payload_off,
				     v->out_frame.payload_len), DHCP4_OK);
	assert_int_equal(v->rep.op, DHCP4_BOOTREPLY);
	assert_memory_equal(&v->rep.xid, &v->req.xid, 4);
	return true;
}

static void discover(struct reqbuf *r, uint16_t mac, uint32_t xid)
{
	rb_begin(r, mac, xid);
	rb_type(r, DHCP4_DISCOVER);
	rb_end(r);
}

static void request_selecting(struct reqbuf *r, uint16_t mac, uint32_t sid, uint32_t addr)
{
	rb_begin(r, mac, 7);
	rb_type(r, DHCP4_REQUEST);
	rb_opt_u32(r, DHCP4_OPT_SERVER_ID, sid);
	rb_opt_u32(r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(r);
}

static void request_init_reboot(struct reqbuf *r, uint16_t mac, uint32_t addr)
{
	rb_begin(r, mac, 8);
	rb_type(r, DHCP4_REQUEST);
	rb_opt_u32(r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(r);
}

static void request_renew(struct reqbuf *r, uint16_t mac, uint32_t ciaddr)
{
	rb_begin(r, mac, 9);
	rb_ciaddr(r, ciaddr);
	rb_type(r, DHCP4_REQUEST);
	rb_end(r);
}

/* DORA for one client; returns the address. */
static uint32_t dora(struct env *v, uint16_t mac, uint64_t now)
{
	struct reqbuf r;
	uint32_t a;

	discover(&r, mac, mac);
	assert_true(send_req(v, &r, UINT32_MAX, now));
	assert_int_equal(v->rep.type, DHCP4_OFFER);
	a = v->rep.yiaddr;
	request_selecting(&r, mac, SRV, a);
	assert_true(send_req(v, &r, UINT32_MAX, now));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->rep.yiaddr, a);
	assert_true(v->d.commit);
	return a;
}

static const struct bt_binding *binding(struct env *v, uint32_t a)
{
	return bt_lookup_addr(v->table, a);
}

/* --- the cases ---------------------------------------------------------------------- */

static void discover_offer_is_held(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a, mask, lease, sid, t1, t2;

	discover(&r, 1, 100);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->rep.type, DHCP4_OFFER);
	a = v->rep.yiaddr;
	assert_true(a >= IP4(198, 18, 0, 100) && a <= IP4(198, 18, 0, 104));
	assert_false(v->d.commit);		/* an OFFER commits nothing */
	assert_int_equal(v->sink.posted, 0);
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_SUBNET_MASK, &mask));
	assert_int_equal(mask, 0xffffff00);
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_SERVER_ID, &sid));
	assert_int_equal(sid, SRV);
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_LEASE_TIME, &lease));
	assert_int_equal(lease, 600);
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_T1, &t1));
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_T2, &t2));
	assert_int_equal(t1, 300);
	assert_int_equal(t2, 525);
	assert_int_equal(binding(v, a)->state, BT_OFFERED);
	/* No PRL: every configured option is sent. */
	assert_true(dhcp4_has(&v->rep, DHCP4_OPT_ROUTER));
	assert_true(dhcp4_has(&v->rep, DHCP4_OPT_DNS));
	assert_true(dhcp4_has(&v->rep, DHCP4_OPT_DOMAIN_NAME));

	/* The same client asks again: same address. Another client: another address. */
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 5));
	assert_int_equal(v->rep.yiaddr, a);
	discover(&r, 2, 101);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 5));
	assert_int_not_equal(v->rep.yiaddr, a);
}

static void selecting_ack_commits(void **state)
{
	struct env *v = *state;
	uint32_t a = dora(v, 1, T0);
	const struct bt_binding *b = binding(v, a);

	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	assert_int_equal(b->ends, T0 + 600);
	assert_int_equal(v->sink.posted, 1);
	assert_int_equal(v->sink.last.addr, a);
	assert_int_equal(v->sink.last.state, BT_ACTIVE);
	assert_int_equal(v->sink.last.seq, v->d.seq);
	assert_int_equal(v->ctr.rx_dhcp[DHCP4_REQUEST], 1);
}

static void selecting_other_server_withdraws_offer(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a;

	discover(&r, 1, 1);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	a = v->rep.yiaddr;
	request_selecting(&r, 1, OTHER_SRV, IP4(198, 18, 0, 77));
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 1));
	assert_int_equal(v->ctr.drop[DP_DROP_OTHER_SERVER], 1);
	assert_null(binding(v, a));		/* the held address is free again */
	assert_int_equal(v->sink.posted, 0);
}

static void taken_address_gets_nak(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a = dora(v, 1, T0), msglen = 0;
	uint16_t n;

	request_init_reboot(&r, 2, a);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 10));
	assert_int_equal(v->rep.type, DHCP4_NAK);
	assert_int_equal(v->rep.yiaddr, 0);
	assert_false(dhcp4_has(&v->rep, DHCP4_OPT_LEASE_TIME));
	assert_non_null(dhcp4_opt(&v->rep, DHCP4_OPT_MESSAGE, &n));
	(void)msglen;
	assert_int_equal(v->out_frame.ip_dst, UINT32_MAX);	/* NAK is broadcast */
	/* Selecting the other client's address is refused too. */
	request_selecting(&r, 2, SRV, a);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 10));
	assert_int_equal(v->rep.type, DHCP4_NAK);
	assert_int_equal(binding(v, a)->key.data[6], 1);	/* still client 1's */
}

static void init_reboot_cases(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a = dora(v, 1, T0);

	/* Own address: ACK with a fresh lease. */
	request_init_reboot(&r, 1, a);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 100));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(binding(v, a)->ends, T0 + 100 + 600);
	/* Wrong network: NAK. */
	request_init_reboot(&r, 1, IP4(198, 19, 1, 1));
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 100));
	assert_int_equal(v->rep.type, DHCP4_NAK);
	/* Unknown client, free address on the right network: stay silent (RFC 2131 4.3.2). */
	request_init_reboot(&r, 3, IP4(198, 18, 0, 103));
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 100));
	assert_int_equal(v->ctr.drop[DP_DROP_UNKNOWN_CLIENT], 1);
}

static void renew_and_rebind(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a = dora(v, 1, T0);

	request_renew(&r, 1, a);
	assert_true(send_req(v, &r, SRV, T0 + 300));		/* RENEWING: unicast to us */
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->rep.ciaddr, a);
	assert_int_equal(v->out_frame.ip_dst, a);		/* answered to ciaddr */
	assert_int_equal(binding(v, a)->ends, T0 + 300 + 600);

	request_renew(&r, 1, a);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 530));	/* REBINDING: broadcast */
	assert_int_equal(v->rep.type, DHCP4_ACK);

	/* Unknown client renewing with us: NAK; rebinding: silence. */
	request_renew(&r, 4, IP4(198, 18, 0, 103));
	assert_true(send_req(v, &r, SRV, T0 + 530));
	assert_int_equal(v->rep.type, DHCP4_NAK);
	request_renew(&r, 4, IP4(198, 18, 0, 103));
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 530));
	assert_int_equal(v->ctr.drop[DP_DROP_UNKNOWN_CLIENT], 1);
}

static void release_then_return_gets_same_address(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a = dora(v, 1, T0);

	rb_begin(&r, 1, 11);
	rb_ciaddr(&r, a);
	rb_type(&r, DHCP4_RELEASE);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_end(&r);
	assert_false(send_req(v, &r, SRV, T0 + 10));
	assert_int_equal(binding(v, a)->state, BT_RELEASED);
	assert_int_equal(v->sink.last.state, BT_RELEASED);
	/* A release from a client that does not hold the address changes nothing. */
	rb_begin(&r, 2, 12);
	rb_ciaddr(&r, a);
	rb_type(&r, DHCP4_RELEASE);
	rb_end(&r);
	assert_false(send_req(v, &r, SRV, T0 + 11));
	assert_int_equal(v->ctr.drop[DP_DROP_NOT_BOUND], 1);

	assert_int_equal(dora(v, 1, T0 + 20), a);
}

static void decline_abandons_address(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a = dora(v, 1, T0), b;

	rb_begin(&r, 1, 13);
	rb_type(&r, DHCP4_DECLINE);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 1));
	assert_int_equal(binding(v, a)->state, BT_ABANDONED);
	assert_int_equal(binding(v, a)->ends, T0 + 1 + 900);
	assert_int_equal(v->sink.last.state, BT_ABANDONED);

	/* The client gets another address; nobody gets the declined one while it is held. */
	b = dora(v, 1, T0 + 2);
	assert_int_not_equal(b, a);
	for (uint16_t c = 2; c <= 4; c++) {	/* the 3 addresses left */
		assert_int_not_equal(dora(v, c, T0 + 3), a);
	}
	discover(&r, 6, 66);
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 4));
	assert_int_equal(v->ctr.drop[DP_DROP_POOL_EXHAUSTED], 1);
	/* After the hold, reclamation frees it. */
	assert_false(dp_engine_reclaim(&v->e, v->cfg, a, T0 + 500));
	assert_true(dp_engine_reclaim(&v->e, v->cfg, a, T0 + 901));
	assert_null(binding(v, a));
	assert_int_equal(v->sink.last.state, BT_FREE);
	discover(&r, 6, 67);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 902));
	assert_int_equal(v->rep.yiaddr, a);
}

static void exhaustion_and_expiry(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t first = dora(v, 1, T0);

	for (uint16_t c = 2; c <= 5; c++) {
		(void)dora(v, c, T0);
	}
	discover(&r, 9, 99);
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 1));
	assert_int_equal(v->ctr.drop[DP_DROP_POOL_EXHAUSTED], 1);

	/* Leases end at T0+600: reclaimed as EXPIRED, client affinity kept. */
	assert_false(dp_engine_reclaim(&v->e, v->cfg, first, T0 + 599));
	for (uint32_t a = IP4(198, 18, 0, 100); a <= IP4(198, 18, 0, 104); a++) {
		assert_true(dp_engine_reclaim(&v->e, v->cfg, a, T0 + 601));
		assert_int_equal(binding(v, a)->state, BT_EXPIRED);
	}
	assert_int_equal(v->ctr.leases_reclaimed, 5);
	/* The old client comes back and gets its address again. */
	assert_int_equal(dora(v, 1, T0 + 700), first);
	/* A new client takes one of the expired ones. */
	discover(&r, 9, 100);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 700));
	assert_int_not_equal(v->rep.yiaddr, first);
}

static void offer_hold_expires(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t offered[5];

	for (uint16_t c = 1; c <= 5; c++) {
		discover(&r, c, c);
		assert_true(send_req(v, &r, UINT32_MAX, T0));
		offered[c - 1] = v->rep.yiaddr;
	}
	discover(&r, 6, 6);
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 10));
	for (int i = 0; i < 5; i++) {
		assert_true(dp_engine_reclaim(&v->e, v->cfg, offered[i], T0 + 31));
	}
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 31));
	assert_int_equal(v->rep.type, DHCP4_OFFER);
}

static void inform_gets_options_only(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint8_t prl[] = {DHCP4_OPT_DNS, DHCP4_OPT_ROUTER};
	uint16_t n;
	const uint8_t *p;

	rb_begin(&r, 1, 14);
	rb_ciaddr(&r, IP4(198, 18, 0, 7));
	rb_type(&r, DHCP4_INFORM);
	rb_opt(&r, DHCP4_OPT_PRL, prl, sizeof(prl));
	rb_end(&r);
	assert_true(send_req(v, &r, SRV, T0));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->rep.yiaddr, 0);
	assert_int_equal(v->rep.ciaddr, IP4(198, 18, 0, 7));
	assert_false(dhcp4_has(&v->rep, DHCP4_OPT_LEASE_TIME));
	assert_true(dhcp4_has(&v->rep, DHCP4_OPT_DNS));
	assert_true(dhcp4_has(&v->rep, DHCP4_OPT_ROUTER));
	assert_false(dhcp4_has(&v->rep, DHCP4_OPT_DOMAIN_NAME));	/* not asked for */
	assert_int_equal(v->out_frame.ip_dst, IP4(198, 18, 0, 7));
	assert_false(v->d.commit);
	/* PRL order is kept: DNS before router in the reply. */
	p = v->out + v->out_frame.payload_off + DHCP4_HDR_LEN;
	for (n = 0; p[n] != DHCP4_OPT_DNS && p[n] != DHCP4_OPT_ROUTER; n += 2 + p[n + 1]) {
	}
	assert_int_equal(p[n], DHCP4_OPT_DNS);
}

static void bootp_needs_reservation(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint16_t n;
	const uint8_t *hn;

	rb_begin(&r, 0x99, 15);
	rb_end(&r);	/* no option 53: BOOTP */
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->rep.type, DHCP4_BOOTP);
	assert_int_equal(v->rep.yiaddr, IP4(198, 18, 0, 50));
	assert_true(v->d.commit);
	assert_int_equal(binding(v, IP4(198, 18, 0, 50))->ends, BT_INFINITE);
	hn = dhcp4_opt(&v->rep, DHCP4_OPT_HOSTNAME, &n);
	assert_non_null(hn);
	assert_int_equal(n, 7);
	assert_memory_equal(hn, "printer", 7);

	/* A BOOTREPLY fits the 300-byte BOOTP message of RFC 951 clients: the 120-byte vendor
	 * option of the scope does not fit there and is left out (a DHCP client gets it). */
	assert_int_equal(v->out_frame.payload_len, DHCP4_MIN_REPLY_LEN);
	assert_false(dhcp4_has(&v->rep, 43));
	assert_int_equal(v->ctr.options_dropped, 1);

	rb_begin(&r, 0x42, 16);
	rb_end(&r);
	assert_false(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_BOOTP_NO_RESERVATION], 1);
}

static void reservation_wins_and_client_id_precedence(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint8_t id1[] = {0xff, 1, 2, 3}, id2[] = {0xff, 4, 5, 6};
	uint32_t a1, a2;

	/* Reserved MAC, even when it sends a client id. */
	rb_begin(&r, 0x99, 17);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_CLIENT_ID, id1, sizeof(id1));
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->rep.yiaddr, IP4(198, 18, 0, 50));

	/* One chaddr, two client ids: two clients. */
	rb_begin(&r, 7, 18);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_CLIENT_ID, id1, sizeof(id1));
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	a1 = v->rep.yiaddr;
	rb_begin(&r, 7, 19);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_CLIENT_ID, id2, sizeof(id2));
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	a2 = v->rep.yiaddr;
	assert_int_not_equal(a1, a2);
}

static void relayed_request_and_option82(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint8_t o82[] = {1, 4, 'e', 't', 'h', '0', 2, 2, 0xab, 0xcd};
	const uint8_t *echo;
	uint16_t n;

	rb_begin(&r, 1, 20);
	rb_giaddr(&r, RELAY);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_RELAY_AGENT, o82, sizeof(o82));
	rb_end(&r);
	assert_true(send_req(v, &r, SRV, T0));
	assert_int_equal(v->rep.type, DHCP4_OFFER);
	assert_true(v->rep.yiaddr >= IP4(198, 18, 5, 10) && v->rep.yiaddr <= IP4(198, 18, 5, 20));
	assert_int_equal(v->out_frame.ip_dst, RELAY);
	assert_int_equal(v->out_frame.dport, 67);
	assert_int_equal(v->rep.giaddr, RELAY);
	echo = dhcp4_opt(&v->rep, DHCP4_OPT_RELAY_AGENT, &n);
	assert_non_null(echo);
	assert_int_equal(n, sizeof(o82));
	assert_memory_equal(echo, o82, sizeof(o82));

	/* A NAK through the relay carries the broadcast bit. */
	rb_begin(&r, 1, 21);
	rb_giaddr(&r, RELAY);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, IP4(198, 18, 0, 100));
	rb_end(&r);
	assert_true(send_req(v, &r, SRV, T0));
	assert_int_equal(v->rep.type, DHCP4_NAK);
	assert_true(v->rep.flags & DHCP4_FLAG_BROADCAST);
	assert_int_equal(v->out_frame.ip_dst, RELAY);
}

/* An option 82 longer than 255 bytes (RFC 3396 split by the relay) is echoed whole. */
static void long_option82_echoed_whole(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint8_t a[200], b[100];
	const uint8_t *echo;
	uint16_t n;

	memset(a, 0xa5, sizeof(a));
	memset(b, 0x5a, sizeof(b));
	rb_begin(&r, 1, 28);
	rb_giaddr(&r, RELAY);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_RELAY_AGENT, a, sizeof(a));
	rb_opt(&r, DHCP4_OPT_RELAY_AGENT, b, sizeof(b));
	rb_end(&r);
	assert_true(send_req(v, &r, SRV, T0));
	echo = dhcp4_opt(&v->rep, DHCP4_OPT_RELAY_AGENT, &n);
	assert_non_null(echo);
	assert_int_equal(n, 300);
	assert_memory_equal(echo, a, 200);
	assert_memory_equal(echo + 200, b, 100);
}

static void reply_destination_rules(void **state)
{
	struct env *v = *state;
	struct reqbuf r;

	discover(&r, 1, 22);		/* no broadcast flag: unicast to chaddr / yiaddr */
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->out_frame.ip_dst, v->rep.yiaddr);
	assert_int_equal(v->out_frame.dst_mac[5], 1);
	assert_int_equal(v->out_frame.dport, 68);
	rb_begin(&r, 2, 23);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->out_frame.ip_dst, UINT32_MAX);
	assert_int_equal(v->out_frame.dst_mac[0], 0xff);
}

static void lease_time_is_clamped(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t lease;

	rb_begin(&r, 1, 24);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_LEASE_TIME, 999999);
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_LEASE_TIME, &lease));
	assert_int_equal(lease, 3600);
	rb_begin(&r, 1, 25);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_LEASE_TIME, 5);
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_LEASE_TIME, &lease));
	assert_int_equal(lease, 120);
}

static void refused_commit_sends_nothing(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a;

	discover(&r, 1, 26);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	a = v->rep.yiaddr;
	v->sink.refuse = true;
	request_selecting(&r, 1, SRV, a);
	assert_false(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_COMMIT_FULL], 1);
	assert_int_equal(binding(v, a)->state, BT_OFFERED);	/* nothing published */
	v->sink.refuse = false;
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->rep.type, DHCP4_ACK);
}

static void server_messages_are_dropped(void **state)
{
	struct env *v = *state;
	struct reqbuf r;

	rb_begin(&r, 1, 27);
	rb_type(&r, DHCP4_OFFER);
	rb_end(&r);
	assert_false(send_req(v, &r, UINT32_MAX, T0));
	r.b[0] = DHCP4_BOOTREPLY;
	assert_false(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_BOOTREPLY], 2);
}

/* A relayed client renews straight to us at T1 (giaddr 0, ciaddr in the relayed scope). */
static void relayed_client_renews_directly(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint32_t a;

	rb_begin(&r, 1, 30);
	rb_giaddr(&r, RELAY);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	assert_true(send_req(v, &r, SRV, T0));
	a = v->rep.yiaddr;
	rb_begin(&r, 1, 31);
	rb_giaddr(&r, RELAY);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(send_req(v, &r, SRV, T0));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	request_renew(&r, 1, a);			/* unicast, no relay */
	assert_true(send_req(v, &r, SRV, T0 + 300));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->rep.yiaddr, a);
	assert_int_equal(v->out_frame.ip_dst, a);
}

/* A REBINDING broadcast reaches us through a relay as a unicast with giaddr set: a client we
 * do not know gets silence there, not a NAK (RFC 2131 4.3.2). */
static void relayed_rebinding_unknown_client_is_silent(void **state)
{
	struct env *v = *state;
	struct reqbuf r;

	rb_begin(&r, 9, 32);
	rb_ciaddr(&r, IP4(198, 18, 5, 15));
	rb_giaddr(&r, RELAY);
	rb_type(&r, DHCP4_REQUEST);
	rb_end(&r);
	assert_false(send_req(v, &r, SRV, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_UNKNOWN_CLIENT], 1);
}

/* A reserved client whose address another client holds gets no offer at all (an offer of
 * anything else would be NAKed at its REQUEST, forever). */
static void reserved_address_in_use_gets_no_offer(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	struct dp_lease_op op;

	memset(&op, 0, sizeof(op));
	op.kind = DP_OP_SET;
	op.addr = IP4(198, 18, 0, 50);
	op.key.type = DP_KEY_HWADDR;
	op.key.len = 7;
	op.key.data[0] = 1;
	op.key.data[6] = 0x77;
	op.state = BT_ACTIVE;
	op.start = T0;
	op.ends = T0 + 600;
	op.add = true;
	dp_engine_apply_op(&v->e, v->cfg, &op, T0);	/* an operator gave .50 to someone */
	assert_int_equal(op.result, 0);
	discover(&r, 0x99, 33);
	assert_false(send_req(v, &r, UINT32_MAX, T0 + 1));
	assert_int_equal(v->ctr.drop[DP_DROP_RESERVED_IN_USE], 1);
}

static void inform_without_ciaddr_is_dropped(void **state)
{
	struct env *v = *state;
	struct reqbuf r;

	rb_begin(&r, 1, 34);
	rb_type(&r, DHCP4_INFORM);
	rb_end(&r);
	assert_false(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_BAD_REQUEST], 1);
}

static void repeated_prl_code_sent_once(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint8_t prl[] = {DHCP4_OPT_ROUTER, DHCP4_OPT_ROUTER, DHCP4_OPT_DNS, DHCP4_OPT_ROUTER};
	const uint8_t *p;
	unsigned routers = 0;

	rb_begin(&r, 1, 35);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_PRL, prl, sizeof(prl));
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	p = v->out + v->out_frame.payload_off + DHCP4_HDR_LEN;
	for (size_t i = 0; p[i] != DHCP4_OPT_END; i += p[i] ? 2u + p[i + 1] : 1u) {
		routers += p[i] == DHCP4_OPT_ROUTER;
	}
	assert_int_equal(routers, 1);
}

/* A client matching a reservation by MAC while sending a client id is filed under the
 * reservation's key, so both forms of the client are one client (and one worker). */
static void reservation_key_files_the_client(void **state)
{
	struct env *v = *state;
	struct reqbuf r;
	uint8_t id[] = {0xff, 9, 9, 9};
	struct dp_client_key hw = {.type = DP_KEY_HWADDR, .len = 7, .data = {1, 2, 0, 0, 0, 0, 0x99}};

	rb_begin(&r, 0x99, 36);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_CLIENT_ID, id, sizeof(id));
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0));
	assert_int_equal(v->rep.yiaddr, IP4(198, 18, 0, 50));
	assert_true(bt_key_equal(&binding(v, IP4(198, 18, 0, 50))->key, &hw));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(discover_offer_is_held),
		T(selecting_ack_commits),
		T(selecting_other_server_withdraws_offer),
		T(taken_address_gets_nak),
		T(init_reboot_cases),
		T(renew_and_rebind),
		T(release_then_return_gets_same_address),
		T(decline_abandons_address),
		T(exhaustion_and_expiry),
		T(offer_hold_expires),
		T(inform_gets_options_only),
		T(bootp_needs_reservation),
		T(reservation_wins_and_client_id_precedence),
		T(relayed_request_and_option82),
		T(long_option82_echoed_whole),
		T(reply_destination_rules),
		T(lease_time_is_clamped),
		T(refused_commit_sends_nothing),
		T(server_messages_are_dropped),
		T(relayed_client_renews_directly),
		T(relayed_rebinding_unknown_client_is_silent),
		T(reserved_address_in_use_gets_no_offer),
		T(inform_without_ciaddr_is_dropped),
		T(repeated_prl_code_sent_once),
		T(reservation_key_files_the_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
