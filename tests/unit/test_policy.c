/*
 * Policies, the MAC filter and option inheritance (issue 14) with the real engine: each case
 * parses a configuration through the real parser, sends requests built as raw bytes
 * (reqbuild.h) through dp_engine_handle(), builds the reply with dp_reply_build() and parses
 * it back. The first table runs one DISCOVER per case and states which address range it is
 * offered from (or the drop counter), the lease and option 15; the other cases follow a
 * client over several requests. The last tables are the configurations the parser refuses,
 * with the path and reason it must give.
 *
 * Scope "lab": pool 198.18.0.100-119; policy ranges in the cases are 110-111 and 112-113, so
 * a client of no policy is offered .100 first (free lists start in address order) and a
 * client of the 110-111 policy .110.
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
#include "fmt.h"
#include "rcu_fix.h"
#include "reqbuild.h"

/* bt_info_get() of @p b into a buffer of the test's, valid until the next call. */
static const struct dp_client_info *info_of(const struct bt_binding *b)
{
	static struct dp_client_info out;

	bt_info_get(b, &out);
	return &out;
}


#define SRV IP4(198, 18, 0, 1)
#define T0 1700000000ULL
#define A(x) IP4(198, 18, 0, x)

#define TMPL \
	"{\"server\": {\"workers\": 1%s}," \
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\"," \
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}]," \
	" \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\"," \
	"   \"pools\": [\"198.18.0.100 - 198.18.0.119\"], \"lease-time\": 600," \
	"   \"reservations\": [{\"hw-address\": \"02:00:00:00:00:99\"," \
	"                       \"ip-address\": \"198.18.0.50\"%s}]," \
	"   \"options\": {%s}%s}]}"

/* What a case's configuration adds to the template (NULL = nothing). */
struct spec {
	const char *server;	/* server keys, after "workers" (starts with ",") */
	const char *res;	/* reservation keys (starts with ",") */
	const char *opts;	/* scope option keys; NULL = domain-name "scope.test" */
	const char *scope;	/* scope keys (starts with ","), e.g. policies */
};

struct env {
	struct dp_config *cfg;
	struct bt_table *table;
	struct dp_pools *pools;
	struct dp_counters ctr;
	struct dp_engine e;
	struct dp_commit_mem mem;
	struct dhcp4_msg req, rep;
	struct dp_frame frame;
	struct dp_decision d;
	uint8_t out[2048];
	size_t out_len;
	struct dp_frame out_frame;
};

static char *cfg_text(const struct spec *sp)
{
	static char buf[8192];
	int n = snprintf(buf, sizeof(buf), TMPL, sp->server ? sp->server : "",
			 sp->res ? sp->res : "",
			 sp->opts ? sp->opts : "\"domain-name\": \"scope.test\"",
			 sp->scope ? sp->scope : "");

	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

static struct env *env_new(const struct spec *sp)
{
	struct env *v = calloc(1, sizeof(*v));
	char err[256];

	assert_non_null(v);
	v->cfg = cp_config_parse(cfg_text(sp), err, sizeof(err));
	if (v->cfg == NULL) {
		fail_msg("config: %s", err);
	}
	v->table = bt_table_new(dp_config_capacity(v->cfg));
	v->pools = dp_pools_new(v->cfg, 1);
	assert_non_null(v->table);
	assert_non_null(v->pools);
	assert_int_equal(bt_writer_init(&v->e.writer, v->table, 0, 256), 0);
	v->e.n_workers = 1;
	v->e.table = v->table;
	v->e.pools = v->pools;
	v->e.ctr = &v->ctr;
	v->e.commit.ops = &dp_commit_mem_ops;
	v->e.commit.ctx = &v->mem;
	return v;
}

static void env_free(struct env *v)
{
	rcu_fix_barrier();
	bt_table_free(v->table);
	bt_writer_deinit(&v->e.writer);
	dp_pools_free(v->pools);
	dp_config_free(v->cfg);
	free(v);
}

static bool send_req(struct env *v, struct reqbuf *r, uint64_t now)
{
	struct dp_ingress in = {
		.cfg = v->cfg, .frame = &v->frame, .msg = &v->req, .iface = 0, .now = now,
	};
	static const uint8_t mac[6] = {0x02, 0xaa, 0, 0, 0, 1};
	int rc;

	memset(&v->frame, 0, sizeof(v->frame));
	memcpy(v->frame.src_mac, r->b + 28, 6);
	v->frame.ip_dst = UINT32_MAX;
	v->frame.dport = 67;
	assert_int_equal(dhcp4_parse(&v->req, r->b, r->len), DHCP4_OK);
	if (!dp_engine_handle(&v->e, &in, &v->d)) {
		urcu_qsbr_quiescent_state();
		return false;
	}
	v->out_len = dp_reply_build(v->out, sizeof(v->out), &v->frame, &v->req, &v->d, mac,
				    &v->ctr);
	urcu_qsbr_quiescent_state();
	assert_true(v->out_len > 0);
	rc = dp_frame_parse(v->out, v->out_len, &v->out_frame);
	if (rc == DP_FE_UDP_PORT && v->out_frame.dport == 68) {
		const uint8_t *u = v->out + v->out_frame.l4_off;
		const struct dp_frame *f = &v->out_frame;
		uint16_t ulen = (uint16_t)(u[4] << 8 | u[5]);
		uint32_t sum = dp_csum_partial(u, ulen, 0);

		/* The UDP checksum over every byte, against the builder's, which sums only the
		 * bytes it wrote (the file field only with a boot file: boot_file_by_arch). */
		sum += (f->ip_src >> 16) + (f->ip_src & 0xffff) + (f->ip_dst >> 16) +
		       (f->ip_dst & 0xffff) + 17 + ulen;
		assert_int_equal(dp_csum_finish(sum), 0);
		v->out_frame.payload_off = (uint16_t)(v->out_frame.l4_off + 8);
		v->out_frame.payload_len = (uint16_t)(((u[4] << 8) | u[5]) - 8);
		rc = DP_FRAME_DHCP;
	}
	assert_int_equal(rc, DP_FRAME_DHCP);
	assert_int_equal(dhcp4_parse(&v->rep, v->out + v->out_frame.payload_off,
				     v->out_frame.payload_len), DHCP4_OK);
	return true;
}

/* What a client sends besides its type (NULL / 0 = not sent). */
struct client {
	uint16_t mac;
	const char *vendor, *user, *fqdn;
	const char *host;		/* option 12 */
	bool fqdn_wire;			/* option 81, E flag: name in DNS wire form */
	const char *cid;		/* option 61 bytes, as text */
	const char *circuit, *remote;	/* option 82 sub-options 1 and 2, relayed */
	const uint8_t *prl;		/* option 55 */
	uint8_t n_prl;
	uint16_t arch;			/* option 93, when not 0xffff and set with has_arch */
	bool has_arch;
};

static void put_client(struct reqbuf *r, const struct client *c)
{
	if (c->host != NULL) {
		rb_opt(r, 12, c->host, (uint8_t)strlen(c->host));
	}
	if (c->vendor != NULL) {
		rb_opt(r, 60, c->vendor, (uint8_t)strlen(c->vendor));
	}
	if (c->user != NULL) {
		rb_opt(r, 77, c->user, (uint8_t)strlen(c->user));
	}
	if (c->cid != NULL) {
		rb_opt(r, 61, c->cid, (uint8_t)strlen(c->cid));
	}
	if (c->prl != NULL) {
		rb_opt(r, 55, c->prl, c->n_prl);
	}
	if (c->has_arch) {
		uint8_t a[2] = { (uint8_t)(c->arch >> 8), (uint8_t)c->arch };

		rb_opt(r, 93, a, 2);
	}
	if (c->fqdn != NULL) {
		uint8_t b[128] = { c->fqdn_wire ? 0x04 : 0x00, 0, 0 };
		size_t n = 3, len = strlen(c->fqdn);

		if (!c->fqdn_wire) {
			memcpy(b + 3, c->fqdn, len);
			n += len;
		} else {
			for (const char *s = c->fqdn; *s != '\0';) {
				size_t l = strcspn(s, ".");

				b[n++] = (uint8_t)l;
				memcpy(b + n, s, l);
				n += l;
				s += l;
				s += *s == '.';
			}
			b[n++] = 0;
		}
		rb_opt(r, 81, b, (uint8_t)n);
	}
	if (c->circuit != NULL || c->remote != NULL) {
		uint8_t b[128];
		size_t n = 0;

		if (c->circuit != NULL) {
			b[n++] = 1;
			b[n++] = (uint8_t)strlen(c->circuit);
			memcpy(b + n, c->circuit, strlen(c->circuit));
			n += strlen(c->circuit);
		}
		if (c->remote != NULL) {
			b[n++] = 2;
			b[n++] = (uint8_t)strlen(c->remote);
			memcpy(b + n, c->remote, strlen(c->remote));
			n += strlen(c->remote);
		}
		rb_giaddr(r, A(2));
		rb_opt(r, 82, b, (uint8_t)n);
	}
}

static void discover(struct reqbuf *r, const struct client *c)
{
	rb_begin(r, c->mac, c->mac);
	rb_type(r, DHCP4_DISCOVER);
	put_client(r, c);
	rb_end(r);
}

static void request(struct reqbuf *r, const struct client *c, uint32_t sid, uint32_t addr)
{
	rb_begin(r, c->mac, c->mac + 1000u);
	rb_type(r, DHCP4_REQUEST);
	if (sid != 0) {
		rb_opt_u32(r, DHCP4_OPT_SERVER_ID, sid);
	}
	rb_opt_u32(r, DHCP4_OPT_REQUESTED_IP, addr);
	put_client(r, c);
	rb_end(r);
}

/* Option 15 of the last reply as a string ("" when absent). */
static const char *domain_of(struct env *v)
{
	static char s[256];
	uint16_t n = 0;
	const uint8_t *d = dhcp4_opt(&v->rep, 15, &n);

	s[0] = '\0';
	if (d != NULL) {
		memcpy(s, d, n);
		s[n] = '\0';
	}
	return s;
}

/* --- one DISCOVER per case ------------------------------------------------------------- */

#define POL(x) ", \"policies\": [" x "]"
/* The policy of most cases: conditions @c, range 110-111, its own lease and domain. */
#define P1(c) POL("{\"name\": \"p1\", " c ", \"ranges\": [\"198.18.0.110 - 198.18.0.111\"]," \
		  " \"lease-time\": 900, \"options\": {\"domain-name\": \"p1.test\"}}")
#define COND(type, op, vals) "{\"type\": \"" type "\", \"operator\": \"" op "\", \"values\": [" \
	vals "]}"
#define CONDS(c) "\"conditions\": [" c "]"
#define CONDS2(a, b) "\"conditions\": [" a ", " b "]"

struct dcase {
	const char *name;
	struct spec sp;
	struct client c;
	uint32_t lo, hi;	/* offered from [lo, hi]; 0 = dropped, counted as drop */
	int drop;
	uint32_t lease;		/* 0 = not checked */
	const char *domain;	/* NULL = not checked */
};

#define IN_P1 A(110), A(110), 0, 900, "p1.test"
#define NO_POL A(100), A(100), 0, 600, "scope.test"

static const struct dcase dcases[] = {
	{ "vendor-class equals", { .scope = P1(CONDS(COND("vendor-class", "equals",
							  "\"MSFT 5.0\""))) },
	  { .mac = 1, .vendor = "MSFT 5.0" }, IN_P1 },
	{ "vendor-class equals, longer value", { .scope = P1(CONDS(COND("vendor-class", "equals",
									"\"MSFT 5.0\""))) },
	  { .mac = 1, .vendor = "MSFT 5.01" }, NO_POL },
	{ "vendor-class absent", { .scope = P1(CONDS(COND("vendor-class", "equals",
							  "\"MSFT 5.0\""))) },
	  { .mac = 1 }, NO_POL },
	{ "vendor-class one of several", { .scope = P1(CONDS(COND("vendor-class", "equals",
							  "\"a\", \"MSFT 5.0\""))) },
	  { .mac = 1, .vendor = "MSFT 5.0" }, IN_P1 },
	{ "vendor-class trailing wildcard", { .scope = P1(CONDS(COND("vendor-class", "equals",
								"\"PXEClient*\""))) },
	  { .mac = 1, .vendor = "PXEClient:Arch:00007:UNDI:003016" }, IN_P1 },
	{ "vendor-class wildcard, shorter", { .scope = P1(CONDS(COND("vendor-class", "equals",
								"\"PXEClient*\""))) },
	  { .mac = 1, .vendor = "PXE" }, NO_POL },
	{ "vendor-class is case-sensitive", { .scope = P1(CONDS(COND("vendor-class", "equals",
								"\"MSFT 5.0\""))) },
	  { .mac = 1, .vendor = "msft 5.0" }, NO_POL },
	{ "not-equals, other value", { .scope = P1(CONDS(COND("vendor-class", "not-equals",
							      "\"MSFT*\""))) },
	  { .mac = 1, .vendor = "android-dhcp-13" }, IN_P1 },
	{ "not-equals, the value", { .scope = P1(CONDS(COND("vendor-class", "not-equals",
							    "\"MSFT*\""))) },
	  { .mac = 1, .vendor = "MSFT 5.0" }, NO_POL },
	{ "not-equals, absent", { .scope = P1(CONDS(COND("vendor-class", "not-equals",
							 "\"MSFT*\""))) },
	  { .mac = 1 }, IN_P1 },
	{ "user-class", { .scope = P1(CONDS(COND("user-class", "equals", "\"eng\""))) },
	  { .mac = 1, .user = "eng" }, IN_P1 },
	{ "user-class other", { .scope = P1(CONDS(COND("user-class", "equals", "\"eng\""))) },
	  { .mac = 1, .user = "ops" }, NO_POL },
	{ "client-id hex", { .scope = P1(CONDS(COND("client-id", "equals", "\"41:42:43\""))) },
	  { .mac = 1, .cid = "ABC" }, IN_P1 },
	{ "client-id prefix", { .scope = P1(CONDS(COND("client-id", "equals", "\"4142*\""))) },
	  { .mac = 1, .cid = "ABCD" }, IN_P1 },
	{ "client-id other", { .scope = P1(CONDS(COND("client-id", "equals", "\"41:42:43\""))) },
	  { .mac = 1, .cid = "ABD" }, NO_POL },
	{ "mac exact", { .scope = P1(CONDS(COND("mac-address", "equals",
						"\"02:00:00:00:00:07\""))) },
	  { .mac = 7 }, IN_P1 },
	{ "mac exact, other", { .scope = P1(CONDS(COND("mac-address", "equals",
						       "\"02:00:00:00:00:07\""))) },
	  { .mac = 8 }, NO_POL },
	{ "mac prefix", { .scope = P1(CONDS(COND("mac-address", "equals",
						 "\"02-00-00-00-01*\""))) },
	  { .mac = 0x0142 }, IN_P1 },
	{ "mac prefix, other", { .scope = P1(CONDS(COND("mac-address", "equals",
							"\"02-00-00-00-01*\""))) },
	  { .mac = 0x0242 }, NO_POL },
	{ "mac byte wildcards", { .scope = P1(CONDS(COND("mac-address", "equals",
							 "\"02:*:*:*:*:42\""))) },
	  { .mac = 0x0342 }, IN_P1 },
	{ "mac byte wildcards, other", { .scope = P1(CONDS(COND("mac-address", "equals",
								"\"02:*:*:*:*:42\""))) },
	  { .mac = 0x0343 }, NO_POL },
	{ "circuit-id", { .scope = P1(CONDS(COND("circuit-id", "equals", "\"65:74:68:30\""))) },
	  { .mac = 1, .circuit = "eth0" }, IN_P1 },
	{ "circuit-id other", { .scope = P1(CONDS(COND("circuit-id", "equals",
						       "\"65:74:68:30\""))) },
	  { .mac = 1, .circuit = "eth1" }, NO_POL },
	{ "remote-id", { .scope = P1(CONDS(COND("remote-id", "equals", "\"7231\""))) },
	  { .mac = 1, .circuit = "eth1", .remote = "r1" }, IN_P1 },
	{ "remote-id absent", { .scope = P1(CONDS(COND("remote-id", "equals", "\"7231\""))) },
	  { .mac = 1, .circuit = "eth1" }, NO_POL },
	{ "fqdn, any case", { .scope = P1(CONDS(COND("fqdn", "equals",
						     "\"HOST1.Example.com\""))) },
	  { .mac = 1, .fqdn = "host1.example.com" }, IN_P1 },
	{ "fqdn in wire form", { .scope = P1(CONDS(COND("fqdn", "equals",
							"\"host1.example.com\""))) },
	  { .mac = 1, .fqdn = "host1.example.com", .fqdn_wire = true }, IN_P1 },
	{ "fqdn prefix", { .scope = P1(CONDS(COND("fqdn", "equals", "\"host*\""))) },
	  { .mac = 1, .fqdn = "host7.example.com", .fqdn_wire = true }, IN_P1 },
	{ "fqdn other", { .scope = P1(CONDS(COND("fqdn", "equals", "\"host1.example.com\""))) },
	  { .mac = 1, .fqdn = "host2.example.com" }, NO_POL },
	{ "client-arch", { .scope = P1(CONDS(COND("client-arch", "equals", "\"0\", \"7\""))) },
	  { .mac = 1, .arch = 7, .has_arch = true }, IN_P1 },
	{ "client-arch hex", { .scope = P1(CONDS(COND("client-arch", "equals", "\"0x0009\""))) },
	  { .mac = 1, .arch = 9, .has_arch = true }, IN_P1 },
	{ "client-arch other", { .scope = P1(CONDS(COND("client-arch", "equals", "\"7\""))) },
	  { .mac = 1, .arch = 6, .has_arch = true }, NO_POL },
	{ "and: both hold", { .scope = P1("\"condition\": \"and\", " CONDS2(
		COND("vendor-class", "equals", "\"A\""), COND("user-class", "equals", "\"B\""))) },
	  { .mac = 1, .vendor = "A", .user = "B" }, IN_P1 },
	{ "and: one holds", { .scope = P1("\"condition\": \"and\", " CONDS2(
		COND("vendor-class", "equals", "\"A\""), COND("user-class", "equals", "\"B\""))) },
	  { .mac = 1, .vendor = "A" }, NO_POL },
	{ "or: one holds", { .scope = P1("\"condition\": \"or\", " CONDS2(
		COND("vendor-class", "equals", "\"A\""), COND("user-class", "equals", "\"B\""))) },
	  { .mac = 1, .user = "B" }, IN_P1 },
	{ "or: none holds", { .scope = P1("\"condition\": \"or\", " CONDS2(
		COND("vendor-class", "equals", "\"A\""), COND("user-class", "equals", "\"B\""))) },
	  { .mac = 1, .vendor = "B", .user = "A" }, NO_POL },
	{ "processing order, not file order", { .scope = POL(
		"{\"name\": \"late\", \"processing-order\": 2,"
		" \"ranges\": [\"198.18.0.110-198.18.0.111\"]},"
		"{\"name\": \"early\", \"processing-order\": 1,"
		" \"ranges\": [\"198.18.0.112-198.18.0.113\"]}") },
	  { .mac = 1 }, A(112), A(112), 0, 600, "scope.test" },
	{ "disabled policy skipped", { .scope = POL(
		"{\"name\": \"off\", \"enabled\": false,"
		" \"ranges\": [\"198.18.0.112-198.18.0.113\"]},"
		"{\"name\": \"on\", \"ranges\": [\"198.18.0.110-198.18.0.111\"]}") },
	  { .mac = 1 }, A(110), A(110), 0, 600, "scope.test" },
	{ "policy without ranges: options and lease, common addresses", { .scope = POL(
		"{\"name\": \"r\", " CONDS(COND("vendor-class", "equals", "\"x\""))
		", \"ranges\": [\"198.18.0.110-198.18.0.111\"]},"
		"{\"name\": \"opts\", " CONDS(COND("vendor-class", "equals", "\"y\""))
		", \"lease-time\": 1200, \"options\": {\"domain-name\": \"y.test\"}}") },
	  { .mac = 1, .vendor = "y" }, A(100), A(100), 0, 1200, "y.test" },
	{ "deny", { .scope = POL("{\"name\": \"d\", " CONDS(COND("vendor-class", "equals",
							   "\"bad\"")) ", \"deny\": true}") },
	  { .mac = 1, .vendor = "bad" }, 0, 0, DP_DROP_POLICY_DENIED, 0, NULL },
	{ "deny, other client", { .scope = POL("{\"name\": \"d\", " CONDS(COND("vendor-class",
						"equals", "\"bad\"")) ", \"deny\": true}") },
	  { .mac = 1, .vendor = "good" }, NO_POL },
	{ "server policy", { .server = POL("{\"name\": \"s\", " CONDS(COND("vendor-class",
						"equals", "\"srv\"")) ", \"lease-time\": 1800,"
						" \"options\": {\"domain-name\": \"srv.test\"}}") },
	  { .mac = 1, .vendor = "srv" }, A(100), A(100), 0, 1800, "srv.test" },
	{ "scope policy before server policy", {
	  .server = POL("{\"name\": \"s\", \"lease-time\": 1800}"),
	  .scope = P1(CONDS(COND("vendor-class", "equals", "\"v\""))) },
	  { .mac = 1, .vendor = "v" }, IN_P1 },
	{ "server policy when no scope policy holds", {
	  .server = POL("{\"name\": \"s\", \"lease-time\": 1800}"),
	  .scope = P1(CONDS(COND("vendor-class", "equals", "\"v\""))) },
	  { .mac = 1, .vendor = "w" }, A(100), A(100), 0, 1800, "scope.test" },
	{ "server deny", { .server = POL("{\"name\": \"s\", \"deny\": true}") },
	  { .mac = 1 }, 0, 0, DP_DROP_POLICY_DENIED, 0, NULL },
};

static void discover_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *k = &dcases[i];
		struct env *v = env_new(&k->sp);
		struct reqbuf r;
		uint32_t lease = 0;
		bool got;

		discover(&r, &k->c);
		got = send_req(v, &r, T0);
		if (k->lo == 0) {
			if (got || v->ctr.drop[k->drop] != 1) {
				fail_msg("case \"%s\": expected drop %d", k->name, k->drop);
			}
			env_free(v);
			continue;
		}
		if (!got || v->rep.type != DHCP4_OFFER) {
			fail_msg("case \"%s\": no offer", k->name);
		}
		if (v->rep.yiaddr < k->lo || v->rep.yiaddr > k->hi) {
			fail_msg("case \"%s\": offered %s", k->name, lw_ip4_fmt(v->rep.yiaddr).s);
		}
		(void)dhcp4_opt_u32(&v->rep, DHCP4_OPT_LEASE_TIME, &lease);
		if (k->lease != 0 && lease != k->lease) {
			fail_msg("case \"%s\": lease %u", k->name, lease);
		}
		if (k->domain != NULL && strcmp(domain_of(v), k->domain) != 0) {
			fail_msg("case \"%s\": domain \"%s\"", k->name, domain_of(v));
		}
		env_free(v);
	}
}

/* --- cases over several requests ---------------------------------------------------- */

static const struct spec spec_exhaust = {
	.scope = P1(CONDS(COND("vendor-class", "equals", "\"v\""))),
};

/* The policy's two addresses go to its first two clients; the third gets nothing (counted)
 * though the scope has free addresses, and a client of no policy still gets one. */
static void policy_range_exhausted(void **state)
{
	struct env *v = env_new(&spec_exhaust);
	struct reqbuf r;
	uint32_t seen = 0;

	(void)state;
	for (uint16_t mac = 1; mac <= 2; mac++) {
		struct client c = { .mac = mac, .vendor = "v" };

		discover(&r, &c);
		assert_true(send_req(v, &r, T0));
		assert_true(v->rep.yiaddr == A(110) || v->rep.yiaddr == A(111));
		seen |= 1u << (v->rep.yiaddr - A(110));
		request(&r, &c, SRV, v->rep.yiaddr);
		assert_true(send_req(v, &r, T0));
		assert_int_equal(v->rep.type, DHCP4_ACK);
	}
	assert_int_equal(seen, 3);
	discover(&r, &(struct client){ .mac = 3, .vendor = "v" });
	assert_false(send_req(v, &r, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_POLICY_EXHAUSTED], 1);
	assert_int_equal(v->ctr.drop[DP_DROP_POOL_EXHAUSTED], 0);
	discover(&r, &(struct client){ .mac = 4 });
	assert_true(send_req(v, &r, T0));
	assert_true(v->rep.yiaddr >= A(100) && v->rep.yiaddr <= A(119) &&
		    v->rep.yiaddr != A(110) && v->rep.yiaddr != A(111));
	env_free(v);
}

/* Clients of no policy never get a policy's addresses, even when the rest is gone. */
static void common_pool_exhausted_spares_policy_range(void **state)
{
	struct env *v = env_new(&spec_exhaust);
	struct reqbuf r;

	(void)state;
	for (uint16_t mac = 1; mac <= 18; mac++) {
		discover(&r, &(struct client){ .mac = mac });
		assert_true(send_req(v, &r, T0));
		assert_false(v->rep.yiaddr == A(110) || v->rep.yiaddr == A(111));
	}
	discover(&r, &(struct client){ .mac = 19 });
	assert_false(send_req(v, &r, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_POOL_EXHAUSTED], 1);
	discover(&r, &(struct client){ .mac = 20, .vendor = "v" });
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.yiaddr, A(110));
	env_free(v);
}

/* A client that asks for an address of a policy it does not match is NAKed, as is one whose
 * policy has ranges asking for a common address; asking for one's own works. A DISCOVER
 * naming another policy's address (option 50) gets one of its own instead. */
static void request_outside_own_policy(void **state)
{
	struct env *v = env_new(&spec_exhaust);
	struct client plain = { .mac = 1 }, member = { .mac = 2, .vendor = "v" };
	struct reqbuf r;

	(void)state;
	request(&r, &plain, 0, A(110));		/* INIT-REBOOT */
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.type, DHCP4_NAK);
	request(&r, &member, 0, A(105));
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.type, DHCP4_NAK);

	rb_begin(&r, plain.mac, 77);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, A(111));
	rb_end(&r);
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.yiaddr, A(100));

	/* The member's lease, then the member stops matching (another vendor class): its
	 * renewal is NAKed and its next DISCOVER gets a common address. */
	discover(&r, &member);
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.yiaddr, A(110));
	request(&r, &member, SRV, A(110));
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	member.vendor = "other";
	request(&r, &member, 0, A(110));
	assert_true(send_req(v, &r, T0 + 10));
	assert_int_equal(v->rep.type, DHCP4_NAK);
	discover(&r, &member);
	assert_true(send_req(v, &r, T0 + 10));
	assert_true(v->rep.yiaddr > A(100) && v->rep.yiaddr <= A(119) &&
		    v->rep.yiaddr != A(110) && v->rep.yiaddr != A(111));
	env_free(v);
}

/* The ACK captures what the lease remembers of its client: host name (control bytes made
 * '?', cut at DP_INFO_HOST_MAX), vendor class, relay circuit, the policy that matched. A
 * unicast renewal without them keeps them; a client of no policy has none. */
static void lease_remembers_client(void **state)
{
	struct env *v = env_new(&spec_exhaust);
	struct client member = {
		.mac = 2, .vendor = "v", .circuit = "eth0/1",
		.host = "lab\x01pc-with-a-rather-long-host-name-cut",
	}, renew = { .mac = 2, .vendor = "v" }, plain = { .mac = 3, .host = "plain" };
	const struct dp_client_info *in;
	struct reqbuf r;

	(void)state;
	discover(&r, &member);
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.yiaddr, A(110));
	request(&r, &member, SRV, A(110));
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	in = info_of(bt_lookup_addr(v->table, A(110)));
	assert_int_equal(in->host_len, DP_INFO_HOST_MAX);
	assert_memory_equal(in->host, "lab?pc-with-a-rather-long-host-n", DP_INFO_HOST_MAX);
	assert_int_equal(in->vendor_len, 1);
	assert_memory_equal(in->vendor, "v", 1);
	assert_int_equal(in->circuit_len, 6);
	assert_memory_equal(in->circuit, "eth0/1", 6);
	assert_int_equal(in->policy_len, 2);
	assert_memory_equal(in->policy, "p1", 2);

	request(&r, &renew, 0, A(110));
	rb_ciaddr(&r, A(110));
	assert_true(send_req(v, &r, T0 + 300));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	in = info_of(bt_lookup_addr(v->table, A(110)));
	assert_int_equal(in->host_len, DP_INFO_HOST_MAX);
	assert_int_equal(in->circuit_len, 6);
	assert_int_equal(in->policy_len, 2);

	discover(&r, &plain);
	assert_true(send_req(v, &r, T0));
	request(&r, &plain, SRV, v->rep.yiaddr);
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	in = info_of(bt_lookup_addr(v->table, v->rep.yiaddr));
	assert_int_equal(in->host_len, 5);
	assert_memory_equal(in->host, "plain", 5);
	assert_int_equal(in->policy_len + in->vendor_len + in->circuit_len, 0);
	env_free(v);
}

/* A new exchange goes through an OFFER: what the DISCOVER said of the client (host name,
 * vendor class) is remembered by the ACK of a REQUEST that does not say it again, and what
 * the REQUEST does say wins. */
static void offer_keeps_discover_info(void **state)
{
	struct env *v = env_new(&spec_exhaust);
	struct client disc = { .mac = 4, .vendor = "zz-vendor", .host = "from-discover" },
		      req = { .mac = 4 }, req2 = { .mac = 5, .host = "req-name" },
		      disc2 = { .mac = 5, .vendor = "zz2", .host = "disc-name" };
	const struct dp_client_info *in;
	struct reqbuf r;
	uint32_t a;

	(void)state;
	discover(&r, &disc);
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.type, DHCP4_OFFER);
	a = v->rep.yiaddr;
	in = info_of(bt_lookup_addr(v->table, a));		/* the offer holds it */
	assert_int_equal(in->host_len, 13);
	request(&r, &req, SRV, a);
	assert_true(send_req(v, &r, T0 + 1));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	in = info_of(bt_lookup_addr(v->table, a));
	assert_int_equal(in->host_len, 13);
	assert_memory_equal(in->host, "from-discover", 13);
	assert_int_equal(in->vendor_len, 9);
	assert_memory_equal(in->vendor, "zz-vendor", 9);
	assert_int_equal(in->policy_len, 0);

	discover(&r, &disc2);
	assert_true(send_req(v, &r, T0));
	a = v->rep.yiaddr;
	request(&r, &req2, SRV, a);
	assert_true(send_req(v, &r, T0 + 1));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	in = info_of(bt_lookup_addr(v->table, a));
	assert_int_equal(in->host_len, 8);
	assert_memory_equal(in->host, "req-name", 8);
	assert_int_equal(in->vendor_len, 3);
	env_free(v);
}

/* A reservation names its client: a deny does not stop it; its policy's lease does apply. */
static void reservation_not_denied(void **state)
{
	static const struct spec sp = {
		.scope = POL("{\"name\": \"d\", \"deny\": true, \"lease-time\": 700}"),
	};
	struct env *v = env_new(&sp);
	struct reqbuf r;
	uint32_t lease = 0;

	(void)state;
	discover(&r, &(struct client){ .mac = 0x99 });
	assert_true(send_req(v, &r, T0));
	assert_int_equal(v->rep.yiaddr, A(50));
	assert_true(dhcp4_opt_u32(&v->rep, DHCP4_OPT_LEASE_TIME, &lease));
	assert_int_equal(lease, 700);
	discover(&r, &(struct client){ .mac = 0x98 });
	assert_false(send_req(v, &r, T0));
	assert_int_equal(v->ctr.drop[DP_DROP_POLICY_DENIED], 1);
	env_free(v);
}


/* --- configurations refused --------------------------------------------------------- */

struct bad {
	struct spec sp;
	const char *err;	/* the whole message: path and reason */
};

#define R1(r) "{\"name\": \"p\", \"ranges\": [" r "]}"

static const struct bad bads[] = {
	{ { .scope = POL("{\"name\": \"p\", " CONDS(COND("vendorclass", "equals", "\"x\"")) "}") },
	  
	  "scopes[0].policies[0].conditions[0].type: must be \"vendor-class\","
	  " \"user-class\", \"client-id\", \"mac-address\", \"circuit-id\", \"remote-id\","
	  " \"fqdn\" or \"client-arch\", got \"vendorclass\"" },
	{ { .scope = POL("{\"name\": \"p\", " CONDS("{\"type\": \"vendor-class\", \"operator\": "
						    "\"like\", \"values\": [\"x\"]}") "}") },
	  
	  "scopes[0].policies[0].conditions[0].operator: must be \"equals\" or"
	  " \"not-equals\", got \"like\"" },
	{ { .scope = POL("{\"name\": \"p\", " CONDS("{\"type\": \"vendor-class\", "
						    "\"values\": []}") "}") },
	  
	  "scopes[0].policies[0].conditions[0].values: must be a non-empty list of values,"
	  " got []" },
	{ { .scope = POL("{\"name\": \"p\", \"condition\": \"xor\"}") }, 
	  "scopes[0].policies[0].condition: must be \"and\" or \"or\", got \"xor\"" },
	{ { .scope = POL(R1("\"198.18.0.111 - 198.18.0.110\"")) }, 
	  "scopes[0].policies[0].ranges[0]: range 198.18.0.111-198.18.0.110 is reversed" },
	{ { .scope = POL(R1("\"198.18.1.5 - 198.18.1.6\"")) }, 
	  "scopes[0].policies[0].ranges[0]: range 198.18.1.5-198.18.1.6 is outside the"
	  " scope's subnet 198.18.0.0/24" },
	{ { .scope = POL(R1("\"198.18.0.90 - 198.18.0.100\"")) }, 
	  "scopes[0].policies[0].ranges[0]: range 198.18.0.90-198.18.0.100 is not inside a"
	  " single pool range of the scope" },
	{ { .scope = POL(R1("\"198.18.0.110 - 198.18.0.112\"") ","
			 "{\"name\": \"q\", \"ranges\": [\"198.18.0.112 - 198.18.0.113\"]}") },
	  
	  "scopes[0].policies[1].ranges[0]: range 198.18.0.112-198.18.0.113 overlaps"
	  " 198.18.0.110-198.18.0.112 of policy \"p\"" },
	{ { .scope = POL("{\"name\": \"p\", " CONDS(COND("mac-address", "equals",
							 "\"02:00:zz:*\"")) "}") },
	  
	  "scopes[0].policies[0].conditions[0].values[0]: \"02:00:zz:*\" is not a MAC"
	  " address pattern like \"00:1a:2b:*\" (two hex digits or * per byte, a trailing"
	  " * for the rest)" },
	{ { .scope = POL("{\"name\": \"p\", " CONDS(COND("mac-address", "equals",
							 "\"02:00:00\"")) "}") },
	  
	  "scopes[0].policies[0].conditions[0].values[0]: \"02:00:00\" is not a MAC"
	  " address pattern like \"00:1a:2b:*\" (two hex digits or * per byte, a trailing"
	  " * for the rest)" },
	{ { .scope = POL("{\"name\": \"p\", " CONDS(COND("client-id", "equals", "\"0x12\"")) "}") },
	  
	  "scopes[0].policies[0].conditions[0].values[0]: \"0x12\" is not hex bytes like"
	  " \"01:02:03\" or \"010203\", with an optional trailing *" },
	{ { .scope = POL("{\"name\": \"p\", " CONDS(COND("client-arch", "equals", "\"7x\"")) "}") },
	  
	  "scopes[0].policies[0].conditions[0].values[0]: \"7x\" is not a client"
	  " architecture type like \"7\" or \"0x0007\"" },
	{ { .scope = POL("{\"name\": \"p\", \"options\": {\"routers\": \"x\"}}") }, 
	  "scopes[0].policies[0].options.routers: must be a list of 1..256 IPv4 addresses,"
	  " got \"x\"" },
	{ { .scope = POL("{\"name\": \"p\"}, {\"name\": \"p\"}") }, 
	  "scopes[0].policies[1].name: policy \"p\" is already defined by policies[0]" },
	{ { .scope = POL("{\"name\": \"p\", \"processing-order\": 2}, {\"name\": \"q\"}") }, 
	  "scopes[0].policies[1].processing-order: processing order 2 is already policies[0]'s" },
	{ { .server = POL(R1("\"198.18.0.110 - 198.18.0.111\"")) }, 
	  "server.policies[0]: unknown key \"ranges\"" },
	{ { .server = ", \"mac-filter\": {\"deny\": [\"02:00:00:00:00\"]}" }, 
	  "server.mac-filter.deny[0]: \"02:00:00:00:00\" is not a MAC address pattern like"
	  " \"00:1a:2b:*\" (two hex digits or * per byte, a trailing * for the rest)" },
	{ { .opts = "\"classless-static-routes\": [\"198.18.5.1/24 198.18.0.1\"]" }, 
	  "scopes[0].options.classless-static-routes[0]: \"198.18.5.1/24 198.18.0.1\": the"
	  " destination has bits set beyond /24" },
	{ { .opts = "\"classless-static-routes\": [\"198.18.5.0/24\"]" }, 
	  "scopes[0].options.classless-static-routes[0]: \"198.18.5.0/24\" is not a route"
	  " like \"198.18.5.0/24 198.18.0.1\"" },
	{ { .opts = "\"domain-search\": [\"a..b\"]" }, 
	  "scopes[0].options.domain-search[0]: \"a..b\": labels are 1..63 characters" },
	{ { .opts = "\"domain-search\": \"a.b\"" }, 
	  "scopes[0].options.domain-search: must be a list of domain names, got \"a.b\"" },
	{ { .opts = "\"vendor-encapsulated-options\": [{\"code\": 1, \"type\": \"ipv6\","
		    " \"value\": \"x\"}]" }, 
	  "scopes[0].options.vendor-encapsulated-options[0].type: unknown type \"ipv6\"" },
	{ { .opts = "\"always-send\": [\"lease-time\"]" }, 
	  "scopes[0].options.always-send[0]: option 51 is written by the server: the lease"
	  " time comes from lease-time, min-lease-time and max-lease-time" },
	{ { .server = ", \"mac-filter\": {\"allow\": \"02:*\"}" }, 
	  "server.mac-filter.allow: must be a list of MAC address patterns, got \"02:*\"" },
};

static void bad_config(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char err[256] = "";
		struct dp_config *c = cp_config_parse(cfg_text(&bads[i].sp), err, sizeof(err));

		if (c != NULL) {
			dp_config_free(c);
			fail_msg("bads[%zu] accepted", i);
		}
		if (strcmp(err, bads[i].err) != 0) {
			fail_msg("bads[%zu]: \"%s\"", i, err);
		}
	}
}

/* --- the MAC filter ----------------------------------------------------------------- */

struct mcase {
	const char *filter;	/* server.mac-filter's keys */
	uint16_t mac;
	int drop;		/* 0: served */
};

static const struct mcase mcases[] = {
	{ "\"deny\": [\"02:00:00:00:00:07\"]", 7, DP_DROP_MAC_DENIED },
	{ "\"deny\": [\"02:00:00:00:00:07\"]", 8, 0 },
	{ "\"deny\": [\"02:00:00:00:01:*\"]", 0x0107, DP_DROP_MAC_DENIED },
	{ "\"deny\": [\"02-00-00-00-01-*\"]", 0x0207, 0 },
	{ "\"deny\": [\"02:*:*:*:*:07\"]", 0x0307, DP_DROP_MAC_DENIED },
	{ "\"deny\": [\"02*\"]", 0x0307, DP_DROP_MAC_DENIED },
	{ "\"allow\": [\"02:00:00:00:00:07\"]", 7, 0 },
	{ "\"allow\": [\"02:00:00:00:00:07\"]", 8, DP_DROP_MAC_NOT_ALLOWED },
	{ "\"allow\": [\"02:00:00:00:00:07\", \"02:00:00:00:02:*\"]", 0x0242, 0 },
	{ "\"allow\": [\"02:00:00:00:01:*\"], \"deny\": [\"02:00:00:00:01:07\"]", 0x0107,
	  DP_DROP_MAC_DENIED },	/* deny wins */
	{ "\"allow\": [\"02:00:00:00:01:*\"], \"deny\": [\"02:00:00:00:01:07\"]", 0x0108, 0 },
	{ "\"allow\": [], \"deny\": []", 7, 0 },
};

static void mac_filter_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		char server[256];
		struct spec sp = { .server = server };
		struct env *v;
		struct reqbuf r;
		bool got;

		snprintf(server, sizeof(server), ", \"mac-filter\": {%s}", mcases[i].filter);
		v = env_new(&sp);
		discover(&r, &(struct client){ .mac = mcases[i].mac });
		got = send_req(v, &r, T0);
		if (mcases[i].drop == 0 ? !got : got || v->ctr.drop[mcases[i].drop] != 1) {
			fail_msg("mcases[%zu]: %s", i, got ? "served" : "dropped");
		}
		env_free(v);
	}
}

/* --- options that inherit ------------------------------------------------------------ */

/*
 * Server: domain-name, routers, dns, ntp (42). Scope: routers, dns. Policy (no conditions,
 * so everyone's): dns. Reservation (client 0x99): domain-name. Each level overrides the one
 * before, with and without a parameter request list.
 */
static const struct spec spec_inherit = {
	.server = ", \"options\": {\"domain-name\": \"server.test\","
		  " \"routers\": [\"198.18.0.254\"], \"domain-name-servers\": [\"198.18.0.253\"],"
		  " \"custom\": [{\"code\": 42, \"type\": \"ipv4\", \"value\": \"198.18.0.252\"}]}",
	.opts = "\"routers\": [\"198.18.0.1\"], \"domain-name-servers\": [\"198.18.0.53\"]",
	.scope = POL("{\"name\": \"all\","
		     " \"options\": {\"domain-name-servers\": [\"198.18.0.54\"]}}"),
	.res = ", \"options\": {\"domain-name\": \"res.test\"}",
};

static uint32_t u32_opt(struct env *v, uint8_t code)
{
	uint32_t x = 0;

	assert_true(dhcp4_opt_u32(&v->rep, code, &x));
	return x;
}

static void options_inherit(void **state)
{
	static const uint8_t prl[] = { 1, 3, 6, 15, 42 };
	struct env *v = env_new(&spec_inherit);
	struct reqbuf r;

	(void)state;
	for (int with_prl = 0; with_prl < 2; with_prl++) {
		struct client plain = { .mac = 1, .prl = with_prl ? prl : NULL,
					.n_prl = sizeof(prl) };
		struct client reserved = plain;

		reserved.mac = 0x99;
		discover(&r, &plain);
		assert_true(send_req(v, &r, T0));
		assert_string_equal(domain_of(v), "server.test");	/* server only */
		assert_int_equal(u32_opt(v, 3), A(1));		/* scope over server */
		assert_int_equal(u32_opt(v, 6), A(54));		/* policy over scope */
		assert_int_equal(u32_opt(v, 42), A(252));		/* server only */
		discover(&r, &reserved);
		assert_true(send_req(v, &r, T0));
		assert_int_equal(v->rep.yiaddr, A(50));
		assert_string_equal(domain_of(v), "res.test");		/* reservation */
		assert_int_equal(u32_opt(v, 6), A(54));
	}
	/* A PRL without 42: not sent. */
	discover(&r, &(struct client){ .mac = 2, .prl = prl, .n_prl = 4 });
	assert_true(send_req(v, &r, T0));
	assert_false(dhcp4_has(&v->rep, 42));
	env_free(v);
}

/* always-send: a code the client did not ask for is sent when any level says so, with the
 * value of the most specific level that has one; written back with the configuration. */
static void always_send(void **state)
{
	static const uint8_t prl[] = { 1, 3 };
	static const struct spec sp = {
		.server = ", \"options\": {\"domain-name\": \"server.test\", \"custom\":"
			  " [{\"code\": 42, \"type\": \"ipv4\", \"value\": \"198.18.0.252\"}]}",
		.opts = "\"domain-name\": \"scope.test\", \"always-send\": [\"domain-name\"]",
		.scope = POL("{\"name\": \"all\", \"options\": {\"always-send\": [42]}}"),
	};
	struct env *v = env_new(&sp);
	struct reqbuf r;
	json_t *j;
	char *t;

	(void)state;
	discover(&r, &(struct client){ .mac = 1, .prl = prl, .n_prl = sizeof(prl) });
	assert_true(send_req(v, &r, T0));
	assert_string_equal(domain_of(v), "scope.test");
	assert_int_equal(u32_opt(v, 42), A(252));
	j = cp_config_to_json(v->cfg);
	t = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(t, "\"always-send\":[\"domain-name\"]"));
	assert_non_null(strstr(t, "\"always-send\":[\"ntp-servers\"]"));
	free(t);
	json_decref(j);
	env_free(v);
}

/* PXE by client architecture: the policy's boot file and next server, else the scope's. */
static void boot_file_by_arch(void **state)
{
	static const struct spec sp = {
		.scope = ", \"next-server\": \"198.18.0.4\", \"boot-file\": \"pxelinux.0\""
			 POL("{\"name\": \"uefi\", " CONDS(COND("client-arch", "equals",
								"\"7\", \"9\""))
			     ", \"boot-file\": \"ipxe.efi\", \"next-server\": \"198.18.0.5\"}"),
	};
	struct env *v = env_new(&sp);
	struct reqbuf r;

	(void)state;
	discover(&r, &(struct client){ .mac = 1, .arch = 7, .has_arch = true });
	assert_true(send_req(v, &r, T0));
	assert_string_equal((const char *)v->rep.file, "ipxe.efi");
	assert_int_equal(v->rep.siaddr, A(5));
	discover(&r, &(struct client){ .mac = 2, .arch = 0, .has_arch = true });
	assert_true(send_req(v, &r, T0));
	assert_string_equal((const char *)v->rep.file, "pxelinux.0");
	assert_int_equal(v->rep.siaddr, A(4));
	env_free(v);
}

/* --- typed option values -------------------------------------------------------------- */

/* 121 and 249 (RFC 3442), 119 (RFC 3397) and 43 with sub-options, byte for byte on the wire,
 * and the same bytes after the configuration is written back and parsed again. */
static void typed_options(void **state)
{
	static const uint8_t prl[] = { 121, 249, 119, 43 };
	static const uint8_t routes[] = { 24, 198, 18, 5, 198, 18, 0, 1,	/* /24 */
					  0, 198, 18, 0, 254,			/* default */
					  32, 198, 18, 9, 9, 198, 18, 0, 2 };	/* host */
	static const uint8_t search[] = { 3, 'l', 'a', 'b', 4, 't', 'e', 's', 't', 0,
					  1, 'x', 0 };
	static const uint8_t vendor[] = { 1, 4, 198, 18, 0, 7, 2, 3, 'a', 'b', 'c',
					  3, 2, 0xbe, 0xef };
	static const struct spec sp = {
		.opts = "\"classless-static-routes\": [\"198.18.5.0/24 198.18.0.1\","
			" \"0.0.0.0/0 198.18.0.254\", \"198.18.9.9/32 198.18.0.2\"],"
			" \"ms-classless-static-routes\": [\"198.18.5.0/24 198.18.0.1\","
			" \"0.0.0.0/0 198.18.0.254\", \"198.18.9.9/32 198.18.0.2\"],"
			" \"domain-search\": [\"lab.test.\", \"x\"],"
			" \"vendor-encapsulated-options\": [{\"code\": 1, \"type\": \"ipv4\","
			" \"value\": \"198.18.0.7\"}, {\"code\": 2, \"type\": \"string\","
			" \"value\": \"abc\"}, {\"code\": 3, \"type\": \"hex\", \"value\": \"be:ef\"}]",
	};
	struct env *v = env_new(&sp);
	struct reqbuf r;
	const uint8_t *o;
	uint16_t n;
	char err[256], *t1, *t2;
	struct dp_config *c2;
	json_t *j;

	(void)state;
	discover(&r, &(struct client){ .mac = 1, .prl = prl, .n_prl = sizeof(prl) });
	assert_true(send_req(v, &r, T0));
	o = dhcp4_opt(&v->rep, 121, &n);
	assert_non_null(o);
	assert_int_equal(n, sizeof(routes));
	assert_memory_equal(o, routes, sizeof(routes));
	o = dhcp4_opt(&v->rep, 249, &n);
	assert_non_null(o);
	assert_memory_equal(o, routes, sizeof(routes));
	o = dhcp4_opt(&v->rep, 119, &n);
	assert_non_null(o);
	assert_int_equal(n, sizeof(search));
	assert_memory_equal(o, search, sizeof(search));
	o = dhcp4_opt(&v->rep, 43, &n);
	assert_non_null(o);
	assert_int_equal(n, sizeof(vendor));
	assert_memory_equal(o, vendor, sizeof(vendor));

	j = cp_config_to_json(v->cfg);
	t1 = json_dumps(j, JSON_SORT_KEYS);
	json_decref(j);
	assert_non_null(strstr(t1, "\"0.0.0.0/0 198.18.0.254\""));
	assert_non_null(strstr(t1, "\"lab.test\""));
	c2 = cp_config_parse(t1, err, sizeof(err));
	if (c2 == NULL) {
		fail_msg("%s", err);
	}
	j = cp_config_to_json(c2);
	t2 = json_dumps(j, JSON_SORT_KEYS);
	json_decref(j);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	dp_config_free(c2);
	env_free(v);
}

/* --- the configuration written back --------------------------------------------------- */

static void config_round_trip(void **state)
{
	static const struct spec sp = {
		.server = ", \"options\": {\"domain-name\": \"server.test\"},"
			  " \"policies\": [{\"name\": \"s\", \"lease-time\": 1800}],"
			  " \"mac-filter\": {\"allow\": [\"02:*\"],"
			  " \"deny\": [\"02-00-00-00-00-07\"]}",
		.scope = POL("{\"name\": \"b\", \"processing-order\": 5, \"condition\": \"or\", "
			     CONDS2(COND("mac-address", "not-equals", "\"02:00:*\""),
				    COND("fqdn", "equals", "\"a.example\", \"b*\""))
			     ", \"ranges\": [\"198.18.0.112 - 198.18.0.113\", \"198.18.0.115\"],"
			     " \"deny\": true, \"options\": {\"domain-name\": \"b.test\"}},"
			     "{\"name\": \"a\", \"processing-order\": 1, \"enabled\": false}"),
	};
	char err[256];
	struct dp_config *c1, *c2;
	json_t *j1, *j2;
	char *t1, *t2;

	(void)state;
	c1 = cp_config_parse(cfg_text(&sp), err, sizeof(err));
	if (c1 == NULL) {
		fail_msg("%s", err);
	}
	assert_int_equal(c1->scopes[0].n_policies, 2);
	assert_string_equal(c1->scopes[0].policies[0].name, "a");	/* processing order */
	assert_int_equal(c1->scopes[0].n_pol_ranges, 2);
	assert_int_equal(c1->scopes[0].pol_of_range[0], 1);
	j1 = cp_config_to_json(c1);
	t1 = json_dumps(j1, JSON_SORT_KEYS);
	c2 = cp_config_parse(t1, err, sizeof(err));
	if (c2 == NULL) {
		fail_msg("%s", err);
	}
	j2 = cp_config_to_json(c2);
	t2 = json_dumps(j2, JSON_SORT_KEYS);
	assert_string_equal(t1, t2);
	assert_non_null(strstr(t1, "\"not-equals\""));
	assert_non_null(strstr(t1, "\"b*\""));
	assert_non_null(strstr(t1, "\"02-00-00-00-00-07\""));
	assert_non_null(strstr(t1, "server.test"));
	free(t1);
	free(t2);
	json_decref(j1);
	json_decref(j2);
	dp_config_free(c1);
	dp_config_free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(discover_table),
		cmocka_unit_test(policy_range_exhausted),
		cmocka_unit_test(common_pool_exhausted_spares_policy_range),
		cmocka_unit_test(request_outside_own_policy),
		cmocka_unit_test(reservation_not_denied),
		cmocka_unit_test(lease_remembers_client),
		cmocka_unit_test(offer_keeps_discover_info),
		cmocka_unit_test(bad_config),
		cmocka_unit_test(mac_filter_table),
		cmocka_unit_test(options_inherit),
		cmocka_unit_test(always_send),
		cmocka_unit_test(typed_options),
		cmocka_unit_test(boot_file_by_arch),
		cmocka_unit_test(config_round_trip),
	};
	int rc;

	urcu_qsbr_register_thread();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
