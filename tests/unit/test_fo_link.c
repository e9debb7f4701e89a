/*
 * Unit tests of failover/fo_link: real TCP sockets on loopback, time injected.
 *
 * Two fo_links (primary and secondary, 127.0.0.1, different ports) talk to each other, or one
 * fo_link talks to a raw socket written here that plays the partner. Every wait is a bounded
 * loop of poll() with a 10 ms timeout; the injected clock moves by a fixed step per round, so
 * the timers (CONTACT, receive-timer, reconnect) are checked against injected time only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fo_digest.h"
#include "fo_link.h"
#include "port_fix.h"

#define NAME	"lwfo"
#define P_RT	9	/* primary's receive-timer */
#define S_RT	7	/* secondary's receive-timer */
#define P_MU	12
#define S_MU	11
#define MCLT	60
#define ROUNDS	400	/* bound of every wait loop */

struct side {
	struct fo_link *l;
	int64_t wall_off;		/* added to the shared wall clock */
	bool frozen;			/* not polled */
	int n_up, n_down, n_rej, n_msg, n_contact;
	uint64_t t_up, t_down;		/* injected time of the last UP / DOWN */
	struct fo_link_event up, down, rej;	/* copies without the message part */
	uint8_t last_type;		/* the last FO_LINK_MESSAGE: type, xid, digest */
	uint32_t last_xid;
	uint16_t last_digest_len;
	uint8_t last_digest_type;
	uint8_t last_rr;		/* its reject-reason, 0 if none */
	int32_t last_skew;		/* its skew field */
	int n_bndupd;
};

static struct fo_link *g_links[4];	/* freed by teardown() when a test fails early */
static uint64_t now_ms;
static uint32_t wall_s;
/* The ports of a test's primary (port_a) and secondary (port_b), two of four held for it
 * (port_fix.h): a second pair serves a test that needs fresh ones. */
static struct port_fix held[4];
static uint16_t port_a, port_b;

static struct fo_link_cfg mkcfg(enum fo_link_role role, uint16_t lport, uint16_t pport,
				const char *name, const char *secret)
{
	struct fo_link_cfg c;

	memset(&c, 0, sizeof(c));
	c.name = name;
	c.role = role;
	inet_pton(AF_INET, "127.0.0.1", &c.local_addr);
	inet_pton(AF_INET, "127.0.0.1", &c.partner_addr);
	c.local_port = lport;
	c.partner_port = pport;
	c.receive_timer = role == FO_LINK_PRIMARY ? P_RT : S_RT;
	c.max_unacked = role == FO_LINK_PRIMARY ? P_MU : S_MU;
	c.mclt = MCLT;
	for (int i = 0; i < FO_HBA_LEN; i++) {
		c.hba[i] = i < 16 ? 0xff : 0x00;
	}
	c.vendor_class = role == FO_LINK_PRIMARY ? "lw-primary" : "lw-secondary";
	c.shared_secret = secret;
	return c;
}

static struct fo_link *mklink_d(enum fo_link_role role, uint16_t lport, uint16_t pport,
				const char *name, const char *secret, uint8_t digest)
{
	struct fo_link_cfg c = mkcfg(role, lport, pport, name, secret);
	char err[128] = "";
	struct fo_link *l;

	c.digest = digest;
	l = fo_link_new(&c, err, sizeof(err));
	if (l == NULL) {
		fail_msg("fo_link_new: %s", err);
	}
	for (int i = 0; i < 4; i++) {
		if (g_links[i] == NULL) {
			g_links[i] = l;
			break;
		}
	}
	return l;
}

static struct fo_link *mklink_s(enum fo_link_role role, uint16_t lport, uint16_t pport,
				const char *name, const char *secret)
{
	struct fo_link_cfg c = mkcfg(role, lport, pport, name, secret);
	char err[128] = "";
	struct fo_link *l = fo_link_new(&c, err, sizeof(err));

	if (l == NULL) {
		fail_msg("fo_link_new: %s", err);
	}
	for (int i = 0; i < 4; i++) {
		if (g_links[i] == NULL) {
			g_links[i] = l;
			break;
		}
	}
	return l;
}

static struct fo_link *mklink(enum fo_link_role role, uint16_t lport, uint16_t pport,
			      const char *name)
{
	return mklink_s(role, lport, pport, name, NULL);
}

static void lfree(struct fo_link *l)
{
	for (int i = 0; i < 4; i++) {
		if (g_links[i] == l) {
			g_links[i] = NULL;
		}
	}
	fo_link_free(l);
}

static void record(struct side *s, const struct fo_link_event *e)
{
	switch (e->type) {
	case FO_LINK_UP:
		s->n_up++;
		s->t_up = now_ms;
		memcpy(&s->up, e, offsetof(struct fo_link_event, msg));
		break;
	case FO_LINK_DOWN:
		s->n_down++;
		s->t_down = now_ms;
		memcpy(&s->down, e, offsetof(struct fo_link_event, msg));
		break;
	case FO_LINK_REJECTED:
		s->n_rej++;
		memcpy(&s->rej, e, offsetof(struct fo_link_event, msg));
		break;
	case FO_LINK_MESSAGE:
		s->n_msg++;
		if (e->msg.type == FO_MSG_CONTACT) {
			s->n_contact++;
		}
		s->last_type = e->msg.type;
		s->last_xid = e->msg.xid;
		s->last_digest_len = e->msg.digest.len;
		s->last_digest_type = e->msg.digest.len > 0 ? e->msg.digest.ptr[0] : 0;
		s->last_rr = fo_msg_has(&e->msg, FO_OPT_REJECT_REASON) ? e->msg.reject_reason : 0;
		s->last_skew = e->skew;
		s->n_bndupd += e->msg.type == FO_MSG_BNDUPD;
		break;
	}
}

/* One round: sleep in poll() (<= 10 ms) on every unfrozen side and @p extra, step the clock. */
static void round_(struct side **sides, int n, int extra, uint64_t step_ms)
{
	struct pollfd pfd[16];
	static struct fo_link_event ev[4];
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (!sides[i]->frozen) {
			k += fo_link_fds(sides[i]->l, pfd + k, 16 - k - 1);
		}
	}
	if (extra >= 0) {
		pfd[k].fd = extra;
		pfd[k].events = POLLIN;
		k++;
	}
	(void)poll(pfd, (nfds_t)k, 10);
	now_ms += step_ms;
	wall_s = (uint32_t)(1700000000 + now_ms / 1000);
	for (int i = 0; i < n; i++) {
		struct side *s = sides[i];
		int got;

		if (s->frozen) {
			continue;
		}
		do {
			got = fo_link_poll(s->l, now_ms, (uint32_t)(wall_s + s->wall_off), ev, 4);
			for (int j = 0; j < got; j++) {
				record(s, &ev[j]);
			}
		} while (got == 4);
	}
}

static int setup(void **state)
{
	(void)state;
	now_ms = 1000000;
	wall_s = (uint32_t)(1700000000 + now_ms / 1000);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(port_fix_take(&held[i]), 0);
	}
	port_a = held[0].port;
	port_b = held[1].port;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		fo_link_free(g_links[i]);
		g_links[i] = NULL;
		port_fix_drop(&held[i]);
	}
	return 0;
}

#define WAIT(cond, sides, n, extra, step)                                                   \
	do {                                                                                \
		int r_;                                                                     \
		for (r_ = 0; r_ < ROUNDS && !(cond); r_++) {                                \
			round_(sides, n, extra, step);                                      \
		}                                                                           \
		assert_true(cond);                                                          \
	} while (0)

/* Two links with these secrets (NULL = none); returns once each side is UP or REJECTED. */
static void pair_up_s(struct side *p, struct side *s, const char *psecret, const char *ssecret)
{
	struct side *both[2] = { p, s };

	p->l = mklink_s(FO_LINK_PRIMARY, port_a, port_b, NAME, psecret);
	if (s->l == NULL) {
		s->l = mklink_s(FO_LINK_SECONDARY, port_b, port_a, NAME,
				ssecret);
	}
	WAIT(p->n_up + p->n_rej >= 1 && s->n_up + s->n_rej >= 1, both, 2, -1, 10);
}

/* Two links up; returns with both UP once. */
static void pair_up(struct side *p, struct side *s)
{
	pair_up_s(p, s, NULL, NULL);
}

static void test_handshake(void **state)
{
	struct side p = { 0 }, s = { 0 };

	(void)state;
	pair_up(&p, &s);
	assert_int_equal(p.n_up, 1);
	assert_int_equal(s.n_up, 1);
	assert_true(fo_link_is_up(p.l));
	assert_true(fo_link_is_up(s.l));
	/* The primary learns the secondary's values, the secondary the primary's + MCLT/HBA. */
	assert_int_equal(p.up.partner_receive_timer, S_RT);
	assert_int_equal(p.up.partner_max_unacked, S_MU);
	assert_false(p.up.partner_has_hba);
	assert_string_equal(p.up.reason, "lw-secondary");
	assert_int_equal(s.up.partner_receive_timer, P_RT);
	assert_int_equal(s.up.partner_max_unacked, P_MU);
	assert_int_equal(s.up.partner_mclt, MCLT);
	assert_true(s.up.partner_has_hba);
	assert_int_equal(s.up.partner_hba[0], 0xff);
	assert_int_equal(s.up.partner_hba[15], 0xff);
	assert_int_equal(s.up.partner_hba[16], 0x00);
	assert_string_equal(s.up.reason, "lw-primary");
	assert_int_equal(s.up.skew, 0);
	assert_int_equal(p.n_rej + s.n_rej + p.n_down + s.n_down, 0);

	/* A message both ways: STATE, delivered with its options and time/xid filled. */
	{
		struct side *both[2] = { &p, &s };
		struct fo_msg m;

		fo_msg_init(&m, FO_MSG_STATE, 0, 0);
		m.server_state = FO_SS_NORMAL;
		m.server_flags = 0;
		m.stos = 1234;
		m.present |= FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_SERVER_FLAGS) |
			     FO_BIT(FO_OPT_STOS);
		assert_int_equal(fo_link_send(p.l, &m), 0);
		assert_int_equal(m.xid, 1);
		assert_int_equal(fo_link_send(p.l, &m), 0);
		assert_int_equal(m.xid, 2);
		WAIT(s.n_msg >= 2, both, 2, -1, 10);
		fo_msg_init(&m, FO_MSG_CONNECT, 0, 0);
		assert_int_equal(fo_link_send(p.l, &m), -EINVAL);
	}
	lfree(p.l);
	lfree(s.l);
}

static void test_contact_and_timeout(void **state)
{
	struct side p = { 0 }, s = { 0 };
	struct side *both[2] = { &p, &s };
	struct side *only_s[1] = { &s };
	uint64_t t0;

	(void)state;
	pair_up(&p, &s);
	t0 = now_ms;
	/* Silence for 20 s of injected time, 100 ms per round: CONTACTs keep the link up. */
	WAIT(now_ms - t0 >= 20000, both, 2, -1, 100);
	assert_int_equal(p.n_down + s.n_down, 0);
	/* P sends every S_RT/3 = 2.33 s, S every P_RT/3 = 3 s. */
	assert_in_range(s.n_contact, 20000 / 2334 - 1, 20000 / 2333 + 1);
	assert_in_range(p.n_contact, 20000 / 3000 - 1, 20000 / 3000 + 1);

	/* Stop polling P: S hears nothing and drops the link after its receive-timer. */
	p.frozen = true;
	t0 = now_ms;
	WAIT(s.n_down == 1, only_s, 1, -1, 100);
	assert_string_equal(s.down.reason, "timeout waiting for failover peer");
	/* The last CONTACT from P came at most P's interval before t0. */
	assert_in_range(s.t_down - t0, S_RT * 1000 - 2400, S_RT * 1000 + 200);
	assert_false(fo_link_is_up(s.l));

	/* P wakes up, sees the close, and both reconnect within 5 s of injected time. */
	p.frozen = false;
	t0 = now_ms;
	WAIT(p.n_up == 2 && s.n_up == 2, both, 2, -1, 50);
	assert_int_equal(p.n_down, 1);
	assert_true(now_ms - t0 <= FO_LINK_RETRY_MS);
	assert_true(fo_link_is_up(p.l) && fo_link_is_up(s.l));
	lfree(p.l);
	lfree(s.l);
}

static void test_name_mismatch(void **state)
{
	struct side p = { 0 }, s = { 0 };

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, "other");
	pair_up(&p, &s);
	assert_int_equal(p.n_up + s.n_up, 0);
	assert_int_equal(p.rej.reject_reason, FO_RR_INVALID_PARTNER);
	assert_false(p.rej.local);
	assert_string_equal(p.rej.reason, "unknown failover relationship name");
	assert_int_equal(s.rej.reject_reason, FO_RR_INVALID_PARTNER);
	assert_true(s.rej.local);
	lfree(p.l);
	lfree(s.l);
}

static void send_bndupd(struct fo_link *l, uint32_t addr)
{
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_BNDUPD, 0, 0);
	m.assigned_addr = addr;
	m.binding_status = FO_BS_FREE;
	m.present = FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS);
	assert_int_equal(fo_link_send(l, &m), 0);
}

/*
 * Issue 12 item 6: S's clock is 120 s ahead. The handshake is no longer refused (it was
 * reject 4 until issue 12): both links come up flagged out of sync, stay up on CONTACT and
 * STATE, and each rejects the other's BNDUPDs with reason 4. When S's clock comes back,
 * the flag clears and BNDUPDs pass again.
 */
static void test_time_skew(void **state)
{
	struct side p = { 0 }, s = { .wall_off = 120 };
	struct side *both[2] = { &p, &s };
	struct fo_link_skew kp, ks;
	struct fo_msg m;
	uint64_t t0;

	(void)state;
	pair_up(&p, &s);
	assert_int_equal(p.n_up, 1);
	assert_int_equal(s.n_up, 1);
	assert_int_equal(p.n_rej + s.n_rej, 0);
	assert_int_equal(p.up.skew, 120);
	assert_int_equal(s.up.skew, -120);
	fo_link_skew(p.l, &kp);
	fo_link_skew(s.l, &ks);
	assert_true(kp.out_of_sync && ks.out_of_sync);
	assert_int_equal(kp.episodes, 1);
	assert_int_equal(ks.episodes, 1);
	assert_int_equal(kp.skew, 120);
	assert_int_equal(ks.worst, -120);

	/* STATE flows, with its skew. */
	fo_msg_init(&m, FO_MSG_STATE, 0, 0);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	assert_int_equal(fo_link_send(s.l, &m), 0);
	WAIT(p.n_msg == 1, both, 2, -1, 10);
	assert_int_equal(p.last_type, FO_MSG_STATE);
	assert_int_equal(p.last_skew, 120);

	/* P's BNDUPD: S answers BNDACK reject 4 itself, and S's caller never sees it. */
	send_bndupd(p.l, 0xc0a80001);
	WAIT(p.n_msg == 2, both, 2, -1, 10);
	assert_int_equal(p.last_type, FO_MSG_BNDACK);
	assert_int_equal(p.last_rr, FO_RR_TIMEMISMATCH);
	assert_int_equal(p.last_xid, 1);
	assert_int_equal(s.n_bndupd, 0);
	fo_link_skew(s.l, &ks);
	assert_int_equal(ks.rejected, 1);
	/* And the other way round. */
	send_bndupd(s.l, 0xc0a80002);
	WAIT(s.n_msg == 1, both, 2, -1, 10);
	assert_int_equal(s.last_type, FO_MSG_BNDACK);
	assert_int_equal(s.last_rr, FO_RR_TIMEMISMATCH);
	assert_int_equal(p.n_bndupd, 0);

	/* 20 s: CONTACTs flow, nothing goes down, no new episode. */
	t0 = now_ms;
	WAIT(now_ms - t0 >= 20000, both, 2, -1, 100);
	assert_int_equal(p.n_down + s.n_down, 0);
	assert_true(p.n_contact > 3 && s.n_contact > 3);
	assert_true(fo_link_is_up(p.l) && fo_link_is_up(s.l));
	fo_link_skew(p.l, &kp);
	assert_true(kp.out_of_sync);
	assert_int_equal(kp.episodes, 1);

	/* S's clock is fixed: the next messages clear the flag, BNDUPDs pass again. */
	s.wall_off = 0;
	t0 = now_ms;
	WAIT(now_ms - t0 >= 4000, both, 2, -1, 100);
	fo_link_skew(p.l, &kp);
	fo_link_skew(s.l, &ks);
	assert_false(kp.out_of_sync);
	assert_false(ks.out_of_sync);
	assert_int_equal(kp.episodes, 1);
	send_bndupd(p.l, 0xc0a80003);
	WAIT(s.n_bndupd == 1, both, 2, -1, 10);
	assert_int_equal(s.last_rr, 0);
	assert_int_equal(p.n_down + s.n_down, 0);
	lfree(p.l);
	lfree(s.l);
}

/* Blocking loopback client from @p src to 127.0.0.1:@p port (the kernel completes it). */
static int raw_connect(const char *src, uint16_t port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	if (rcvbuf > 0) {
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	}
	inet_pton(AF_INET, src, &a.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	a.sin_port = htons(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void test_refuse_other_source(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	uint8_t b[16];
	ssize_t n = 1;
	int fd;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_connect("127.0.0.2", port_b, 0);
	WAIT(fo_link_stats(s.l)->refused_src == 1, only_s, 1, -1, 10);
	/* Closed at once, with nothing sent. */
	for (int r = 0; r < ROUNDS; r++) {
		round_(only_s, 1, fd, 10);
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			break;
		}
	}
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	assert_int_equal(s.n_up, 0);
	close(fd);
	lfree(s.l);
}

/*
 * Encode @p m into @p buf, with a message-digest signed with @p key when it is not NULL.
 * @return the length.
 */
static int raw_encode(struct fo_msg *m, uint8_t *buf, size_t cap, const struct fo_hmac_md5 *key)
{
	static const uint8_t placeholder[FO_DIGEST_DATA_LEN];
	int n;

	if (key != NULL) {
		m->digest = (struct fo_bytes){ placeholder, sizeof(placeholder) };
		m->present |= FO_BIT(FO_OPT_MESSAGE_DIGEST);
	}
	n = fo_msg_encode(m, buf, cap);
	assert_true(n > 0);
	if (key != NULL) {
		assert_int_equal(fo_digest_sign(buf, (size_t)n, key), 0);
	}
	return n;
}

/* The raw primary's CONNECT, sent at @p time; signed with @p key when not NULL. */
static int raw_connect_msg(uint8_t *buf, size_t cap, const struct fo_hmac_md5 *key,
			   uint32_t time)
{
	static const uint8_t hba[FO_HBA_LEN] = { 0xff };
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_CONNECT, time, 0);
	m.relationship_name = (struct fo_bytes){ (const uint8_t *)NAME, 4 };
	m.max_unacked = 10;
	m.receive_timer = 15;
	m.protocol_version = 1;
	m.mclt = 30;
	m.hba = (struct fo_bytes){ hba, FO_HBA_LEN };
	m.present = FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_MAX_UNACKED) |
		    FO_BIT(FO_OPT_RECEIVE_TIMER) | FO_BIT(FO_OPT_PROTOCOL_VERSION) |
		    FO_BIT(FO_OPT_MCLT) | FO_BIT(FO_OPT_HBA);
	return raw_encode(&m, buf, cap, key);
}

/* A raw primary: connect to S, send a valid CONNECT (signed with @p key), wait for S's UP. */
static int raw_primary_up_k(struct side *s, int rcvbuf, const struct fo_hmac_md5 *key,
			    uint32_t time)
{
	struct side *only_s[1] = { s };
	uint8_t buf[FO_MSG_MAX_LEN];
	int fd, n, up0 = s->n_up;

	fd = raw_connect("127.0.0.1", port_b, rcvbuf);
	n = raw_connect_msg(buf, sizeof(buf), key, time);
	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
	WAIT(s->n_up == up0 + 1, only_s, 1, -1, 10);
	assert_int_equal(s->up.partner_receive_timer, 15);
	assert_int_equal(s->up.partner_mclt, 30);
	return fd;
}

static int raw_primary_up(struct side *s, int rcvbuf)
{
	return raw_primary_up_k(s, rcvbuf, NULL, wall_s);
}

static void test_garbage(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	const uint8_t junk[] = { 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef };
	int fd;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_primary_up(&s, 0);
	assert_int_equal(send(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	WAIT(s.n_down == 1, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason, "protocol error: length-too-small");
	assert_false(fo_link_is_up(s.l));
	close(fd);
	lfree(s.l);
}

static void test_peer_not_reading(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	uint8_t cid[255];
	struct fo_msg m;
	int fd, rc = 0, sent = 0;

	(void)state;
	memset(cid, 7, sizeof(cid));
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_primary_up(&s, 4096);
	fo_msg_init(&m, FO_MSG_BNDUPD, 0, 0);
	m.assigned_addr = 0xc0a80001;
	m.client_id = (struct fo_bytes){ cid, sizeof(cid) };
	m.present = FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_CLIENT_IDENTIFIER);
	/* The kernel buffers fill, then ours (64 KiB): a bounded number of sends. */
	for (int i = 0; i < 100000 && rc == 0; i++) {
		rc = fo_link_send(s.l, &m);
		sent += rc == 0;
	}
	assert_int_equal(rc, -ENOBUFS);
	assert_true(sent > FO_LINK_SNDBUF_MAX / 300);
	assert_int_equal(fo_link_send(s.l, &m), -ENOTCONN);
	WAIT(s.n_down == 1, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason, "send buffer full: failover peer not reading");
	close(fd);
	lfree(s.l);
}

/* Read one whole message from the raw socket @p fd into @p buf while polling @p s. */
static int raw_read_msg(struct side *s, int fd, uint8_t *buf, size_t cap, struct fo_msg *m)
{
	struct side *only_s[1] = { s };
	size_t have = 0;
	int fl = 0;

	for (int r = 0; r < ROUNDS && fl == 0; r++) {
		ssize_t n;

		round_(only_s, 1, fd, 10);
		n = recv(fd, buf + have, cap - have, MSG_DONTWAIT);
		if (n > 0) {
			have += (size_t)n;
		}
		fl = fo_frame_len(buf, have, FO_MSG_MAX_LEN);
	}
	assert_true(fl > 0);
	assert_int_equal(fo_msg_decode(m, buf, (size_t)fl, 0), FO_OK);
	return fl;
}

static void test_dup_connect(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	uint8_t hba[FO_HBA_LEN] = { 0 };
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	uint64_t dup0;
	int fd1, fd2, n;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd1 = raw_primary_up(&s, 0);
	/* The CONNECTACK on the first connection, in ISC's layout. */
	n = raw_read_msg(&s, fd1, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_int_equal(m.present, FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_MAX_UNACKED) |
				    FO_BIT(FO_OPT_RECEIVE_TIMER) | FO_BIT(FO_OPT_VENDOR_CLASS) |
				    FO_BIT(FO_OPT_PROTOCOL_VERSION) | FO_BIT(FO_OPT_TLS_REPLY));
	assert_int_equal(m.receive_timer, S_RT);
	assert_int_equal(m.max_unacked, S_MU);

	/* A second primary connection with a CONNECT while the first is up: reject 7. */
	dup0 = fo_link_stats(s.l)->refused_dup;
	fd2 = raw_connect("127.0.0.1", port_b, 0);
	fo_msg_init(&m, FO_MSG_CONNECT, wall_s, 0);
	m.relationship_name = (struct fo_bytes){ (const uint8_t *)NAME, 4 };
	m.mclt = 30;
	m.hba = (struct fo_bytes){ hba, FO_HBA_LEN };
	m.present = FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_MCLT) | FO_BIT(FO_OPT_HBA);
	n = fo_msg_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(send(fd2, buf, (size_t)n, 0), n);
	(void)raw_read_msg(&s, fd2, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_true(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_int_equal(m.reject_reason, FO_RR_DUP_CONNECTION);
	WAIT(fo_link_stats(s.l)->refused_dup == dup0 + 1, only_s, 1, -1, 10);
	assert_true(fo_link_is_up(s.l));
	assert_int_equal(s.n_down, 0);
	close(fd1);
	close(fd2);
	lfree(s.l);
}

/* Name mismatch seen from a raw primary: ISC's exact reject layout (README section 4). */
static void test_reject_layout(void **state)
{
	struct side s = { 0 };
	uint8_t hba[FO_HBA_LEN] = { 0 };
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fd, n;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_connect("127.0.0.1", port_b, 0);
	fo_msg_init(&m, FO_MSG_CONNECT, wall_s, 0);
	m.relationship_name = (struct fo_bytes){ (const uint8_t *)"nosuch", 6 };
	m.mclt = 30;
	m.hba = (struct fo_bytes){ hba, FO_HBA_LEN };
	m.present = FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_MCLT) | FO_BIT(FO_OPT_HBA);
	n = fo_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
	(void)raw_read_msg(&s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_int_equal(m.present, FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_VENDOR_CLASS) |
				    FO_BIT(FO_OPT_PROTOCOL_VERSION) | FO_BIT(FO_OPT_TLS_REPLY) |
				    FO_BIT(FO_OPT_REJECT_REASON) | FO_BIT(FO_OPT_MESSAGE));
	assert_int_equal(m.relationship_name.len, 6);
	assert_memory_equal(m.relationship_name.ptr, "nosuch", 6);
	assert_int_equal(m.reject_reason, FO_RR_INVALID_PARTNER);
	assert_int_equal(m.message.len, strlen("unknown failover relationship name"));
	assert_memory_equal(m.message.ptr, "unknown failover relationship name", m.message.len);
	assert_int_equal(s.n_rej, 1);
	close(fd);
	lfree(s.l);
}

/*
 * A partner that sends faster than we read: 8000 CONTACTs before its CONNECT (ignored, as ISC
 * does), then 200 STATEs after it. Each fo_link_poll() reads a bounded amount, the rest waits
 * in the kernel; nothing is lost and the link stays up.
 */
static void test_flood(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	static uint8_t blob[8000 * FO_MSG_HDR_LEN];
	uint8_t one[128];
	struct fo_msg m;
	size_t off = 0;
	int fd, n;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_connect("127.0.0.1", port_b, 0);
	fo_msg_init(&m, FO_MSG_CONTACT, wall_s, 1);
	for (int i = 0; i < 8000; i++) {
		n = fo_msg_encode(&m, blob + off, sizeof(blob) - off);
		assert_int_equal(n, FO_MSG_HDR_LEN);
		off += (size_t)n;
	}
	/* The kernel takes it all on loopback (the receive buffer grows); poll S meanwhile. */
	for (size_t sent = 0; sent < off;) {
		ssize_t k = send(fd, blob + sent, off - sent, MSG_DONTWAIT);

		if (k > 0) {
			sent += (size_t)k;
		} else {
			round_(only_s, 1, -1, 1);
		}
	}
	/* Then the CONNECT, on the same connection: it is read after all of them. */
	fo_msg_init(&m, FO_MSG_CONNECT, wall_s, 0);
	m.relationship_name = (struct fo_bytes){ (const uint8_t *)NAME, 4 };
	m.mclt = 30;
	m.hba = (struct fo_bytes){ blob, FO_HBA_LEN };
	m.present = FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_MCLT) | FO_BIT(FO_OPT_HBA);
	n = fo_msg_encode(&m, one, sizeof(one));
	assert_true(n > 0);
	assert_int_equal(send(fd, one, (size_t)n, 0), n);
	WAIT(s.n_up == 1, only_s, 1, -1, 1);
	assert_int_equal(fo_link_stats(s.l)->ignored, 8000);
	fo_msg_init(&m, FO_MSG_STATE, wall_s, 2);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	n = fo_msg_encode(&m, one, sizeof(one));
	assert_true(n > 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(send(fd, one, (size_t)n, 0), n);
	}
	WAIT(s.n_msg == 200, only_s, 1, -1, 1);
	assert_true(fo_link_is_up(s.l));
	assert_int_equal(s.n_down, 0);
	close(fd);
	lfree(s.l);
}

/* --- shared secret (D12 §11.1) -------------------------------------------------------- */

#define SECRET	"s3cret-shared"

static void key_init(struct fo_hmac_md5 *k, const char *secret)
{
	fo_hmac_md5_init(k, secret, strlen(secret));
}

/* Send @p m from the raw socket @p fd, signed with @p key when not NULL. */
static void raw_send(int fd, struct fo_msg *m, const struct fo_hmac_md5 *key)
{
	uint8_t buf[FO_MSG_MAX_LEN];
	int n = raw_encode(m, buf, sizeof(buf), key);

	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
}

static void raw_state(int fd, uint32_t xid, const struct fo_hmac_md5 *key)
{
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_STATE, wall_s, xid);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	raw_send(fd, &m, key);
}

/* A raw BNDUPD (FREE) for @p addr, xid @p xid, time @p time. */
static void raw_bndupd(int fd, uint32_t xid, uint32_t time, uint32_t addr)
{
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_BNDUPD, time, xid);
	m.assigned_addr = addr;
	m.binding_status = FO_BS_FREE;
	m.present = FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS);
	raw_send(fd, &m, NULL);
}

/* A raw CONTACT stamped @p time. */
static void raw_contact(int fd, uint32_t xid, uint32_t time)
{
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_CONTACT, time, xid);
	raw_send(fd, &m, NULL);
}

/*
 * Issue 12 item 6 with a raw primary whose message times are shifted one by one: every
 * message is checked, not only CONNECT; out of sync begins beyond 60 s (either sign), ends
 * within 50 s; the BNDACK reject carries the address, the xid, reason 4 and the skew; the
 * link never goes down for it.
 */
static void test_skew_every_message(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_link_skew k;
	struct fo_msg m;
	int fd, msgs;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_primary_up(&s, 0);
	(void)raw_read_msg(&s, fd, buf, sizeof(buf), &m);	/* the CONNECTACK */
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	fo_link_skew(s.l, &k);
	assert_false(k.out_of_sync);
	assert_int_equal(k.episodes, 0);

	/* In sync: a BNDUPD is delivered. */
	raw_bndupd(fd, 1, wall_s + 59, 0xc0a80001);
	WAIT(s.n_bndupd == 1, only_s, 1, -1, 10);
	assert_in_range(s.last_skew, 58, 59);	/* the injected clock may tick meanwhile */
	fo_link_skew(s.l, &k);
	assert_false(k.out_of_sync);

	/* A CONTACT 90 s ahead: out of sync (delivered, the link stays up). */
	msgs = s.n_msg;
	raw_contact(fd, 2, wall_s + 90);
	WAIT(s.n_msg == msgs + 1, only_s, 1, -1, 10);
	fo_link_skew(s.l, &k);
	assert_true(k.out_of_sync);
	assert_int_equal(k.episodes, 1);
	assert_in_range(k.skew, 89, 90);

	/* A BNDUPD now, even one stamped 55 s off (not yet back within 50): rejected. */
	raw_bndupd(fd, 3, wall_s + 55, 0xc0a80002);
	(void)raw_read_msg(&s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_BNDACK);
	assert_int_equal(m.xid, 3);
	assert_true(fo_msg_has(&m, FO_OPT_ASSIGNED_IP_ADDRESS));
	assert_int_equal(m.assigned_addr, 0xc0a80002);
	assert_int_equal(m.reject_reason, FO_RR_TIMEMISMATCH);
	assert_true(m.message.len == strlen("time mismatch too great: partner clock +55 s from ours"));
	assert_true(memcmp(m.message.ptr, "time mismatch too great: partner clock +55 s from ours",
			   m.message.len) == 0 ||
		    memcmp(m.message.ptr, "time mismatch too great: partner clock +54 s from ours",
			   m.message.len) == 0);
	assert_int_equal(s.n_bndupd, 1);

	/* 10 s off: back in sync; the next BNDUPD passes. */
	raw_contact(fd, 4, wall_s + 10);
	raw_bndupd(fd, 5, wall_s + 10, 0xc0a80003);
	WAIT(s.n_bndupd == 2, only_s, 1, -1, 10);
	fo_link_skew(s.l, &k);
	assert_false(k.out_of_sync);
	assert_int_equal(k.rejected, 1);

	/* An hour behind: a second episode, named with its sign. */
	raw_bndupd(fd, 6, wall_s - 3600, 0xc0a80004);
	(void)raw_read_msg(&s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_BNDACK);
	assert_int_equal(m.reject_reason, FO_RR_TIMEMISMATCH);
	fo_link_skew(s.l, &k);
	assert_true(k.out_of_sync);
	assert_int_equal(k.episodes, 2);
	assert_true(k.worst <= -3599 && k.worst >= -3601);
	assert_int_equal(s.n_bndupd, 2);
	assert_int_equal(s.n_down, 0);
	assert_true(fo_link_is_up(s.l));
	close(fd);
	lfree(s.l);
}

/* A skewed CONNECT is accepted (CONNECTACK, no reject) and flagged at once. */
static void test_skew_connect_accepted(void **state)
{
	struct side s = { 0 };
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_link_skew k;
	struct fo_msg m;
	int fd;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_primary_up_k(&s, 0, NULL, wall_s - 3600);
	(void)raw_read_msg(&s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_true(s.up.skew <= -3600 && s.up.skew >= -3601);
	fo_link_skew(s.l, &k);
	assert_true(k.out_of_sync);
	assert_int_equal(k.episodes, 1);
	close(fd);
	lfree(s.l);
}

/*
 * Read the DISCONNECT @p s sends on @p fd and check its reject-reason, message and digest:
 * signed with @p key, or none at all when @p key is NULL.
 */
static void expect_disconnect(struct side *s, int fd, const struct fo_hmac_md5 *key,
			      uint8_t rr, const char *text)
{
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int n;

	n = raw_read_msg(s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_DISCONNECT);
	assert_true(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_int_equal(m.reject_reason, rr);
	assert_int_equal(m.message.len, strlen(text));
	assert_memory_equal(m.message.ptr, text, m.message.len);
	if (key != NULL) {
		assert_int_equal(fo_digest_verify(buf, (size_t)n, key), 0);
	} else {
		assert_false(fo_msg_has(&m, FO_OPT_MESSAGE_DIGEST));
	}
}

/* Both sides with the same secret: UP, and signed messages flow both ways. */
static void test_secret_up(void **state)
{
	struct side p = { 0 }, s = { 0 };
	struct side *both[2] = { &p, &s };
	struct fo_msg m;
	uint64_t t0;

	(void)state;
	pair_up_s(&p, &s, SECRET, SECRET);
	assert_int_equal(p.n_up, 1);
	assert_int_equal(s.n_up, 1);
	assert_int_equal(p.n_rej + s.n_rej, 0);
	assert_int_equal(s.up.partner_mclt, MCLT);

	/* S's own xids run ahead of P's (1..5)... */
	for (int i = 0; i < 5; i++) {
		fo_msg_init(&m, FO_MSG_STATE, 0, 0);
		m.server_state = FO_SS_NORMAL;
		m.present = FO_BIT(FO_OPT_SERVER_STATE);
		assert_int_equal(fo_link_send(s.l, &m), 0);
	}
	WAIT(p.n_msg == 5, both, 2, -1, 10);
	assert_int_equal(p.last_xid, 5);
	assert_int_equal(p.last_digest_len, FO_DIGEST_DATA_LEN);
	assert_int_equal(p.last_digest_type, FO_DIGEST_HMAC_MD5);
	/* ...then P's BNDUPD (xid 1) and S's BNDACK echoing it: a response, not a replay. */
	fo_msg_init(&m, FO_MSG_BNDUPD, 0, 0);
	m.assigned_addr = 0xc0a80001;
	m.binding_status = FO_BS_ACTIVE;
	m.present = FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS);
	assert_int_equal(fo_link_send(p.l, &m), 0);
	assert_int_equal(m.xid, 1);
	assert_false(fo_msg_has(&m, FO_OPT_MESSAGE_DIGEST));	/* the caller's copy untouched */
	WAIT(s.n_msg == 1, both, 2, -1, 10);
	assert_int_equal(s.last_type, FO_MSG_BNDUPD);
	assert_int_equal(s.last_digest_len, FO_DIGEST_DATA_LEN);
	fo_msg_init(&m, FO_MSG_BNDACK, 0, 0);
	m.assigned_addr = 0xc0a80001;
	m.present = FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS);
	assert_int_equal(fo_link_send_xid(s.l, &m, s.last_xid), 0);
	fo_msg_init(&m, FO_MSG_STATE, 0, 0);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	assert_int_equal(fo_link_send(s.l, &m), 0);
	assert_int_equal(m.xid, 6);
	WAIT(p.n_msg == 7, both, 2, -1, 10);
	assert_int_equal(p.last_type, FO_MSG_STATE);
	assert_int_equal(p.last_xid, 6);

	/* 20 s of signed CONTACTs keep it up. */
	t0 = now_ms;
	WAIT(now_ms - t0 >= 20000, both, 2, -1, 100);
	assert_true(p.n_contact > 3 && s.n_contact > 3);
	assert_int_equal(p.n_down + s.n_down, 0);
	assert_true(fo_link_is_up(p.l) && fo_link_is_up(s.l));
	assert_int_equal(fo_link_stats(p.l)->auth_failed + fo_link_stats(s.l)->auth_failed, 0);
	assert_int_equal(fo_link_stats(p.l)->replayed + fo_link_stats(s.l)->replayed, 0);
	lfree(p.l);
	lfree(s.l);
}

static void test_secret_mismatch(void **state)
{
	struct side p = { 0 }, s = { 0 };

	(void)state;
	pair_up_s(&p, &s, "alpha", "bravo");
	assert_int_equal(p.n_up + s.n_up, 0);
	assert_int_equal(s.rej.reject_reason, FO_RR_IP_DIGEST_FAILURE);
	assert_true(s.rej.local);
	assert_string_equal(s.rej.reason, "message digest failed to compare");
	/* P reports the partner's reason, although S's CONNECTACK does not pass P's check. */
	assert_int_equal(p.rej.reject_reason, FO_RR_IP_DIGEST_FAILURE);
	assert_false(p.rej.local);
	assert_string_equal(p.rej.reason, "message digest failed to compare");
	assert_true(fo_link_stats(s.l)->auth_failed >= 1);
	lfree(p.l);
	lfree(s.l);
}

/* Two links with digest types @p pd / @p sd; returns once each side is UP or REJECTED. */
static void pair_up_d(struct side *p, struct side *s, const char *psecret, uint8_t pd,
		      const char *ssecret, uint8_t sd)
{
	struct side *both[2] = { p, s };

	p->l = mklink_d(FO_LINK_PRIMARY, port_a, port_b, NAME, psecret, pd);
	s->l = mklink_d(FO_LINK_SECONDARY, port_b, port_a, NAME, ssecret,
			sd);
	WAIT(p->n_up + p->n_rej >= 1 && s->n_up + s->n_rej >= 1, both, 2, -1, 10);
}

/* Issue 12 item 7: both sides HMAC-SHA-256 (type 240): UP, 33-byte digests both ways. */
static void test_sha256_up(void **state)
{
	struct side p = { 0 }, s = { 0 };
	struct side *both[2] = { &p, &s };
	struct fo_msg m;
	uint64_t t0;

	(void)state;
	pair_up_d(&p, &s, SECRET, FO_DIGEST_HMAC_SHA256, SECRET, FO_DIGEST_HMAC_SHA256);
	assert_int_equal(p.n_up, 1);
	assert_int_equal(s.n_up, 1);
	assert_int_equal(p.n_rej + s.n_rej, 0);
	fo_msg_init(&m, FO_MSG_STATE, 0, 0);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	assert_int_equal(fo_link_send(s.l, &m), 0);
	WAIT(p.n_msg == 1, both, 2, -1, 10);
	assert_int_equal(p.last_digest_len, 1 + FO_SHA256_LEN);
	assert_int_equal(p.last_digest_type, FO_DIGEST_HMAC_SHA256);
	fo_msg_init(&m, FO_MSG_STATE, 0, 0);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	assert_int_equal(fo_link_send(p.l, &m), 0);
	WAIT(s.n_msg == 1, both, 2, -1, 10);
	assert_int_equal(s.last_digest_len, 1 + FO_SHA256_LEN);
	assert_int_equal(s.last_digest_type, FO_DIGEST_HMAC_SHA256);
	t0 = now_ms;
	WAIT(now_ms - t0 >= 15000, both, 2, -1, 100);
	assert_true(p.n_contact > 2 && s.n_contact > 2);
	assert_int_equal(p.n_down + s.n_down, 0);
	assert_int_equal(fo_link_stats(p.l)->auth_failed + fo_link_stats(s.l)->auth_failed, 0);
	lfree(p.l);
	lfree(s.l);
}

/* HMAC-SHA-256 on both sides with different secrets: reject 20, as with MD5. */
static void test_sha256_wrong_secret(void **state)
{
	struct side p = { 0 }, s = { 0 };

	(void)state;
	pair_up_d(&p, &s, "alpha", FO_DIGEST_HMAC_SHA256, "bravo", FO_DIGEST_HMAC_SHA256);
	assert_int_equal(p.n_up + s.n_up, 0);
	assert_int_equal(s.rej.reject_reason, FO_RR_IP_DIGEST_FAILURE);
	assert_true(s.rej.local);
	assert_string_equal(s.rej.reason, "message digest failed to compare");
	assert_int_equal(p.rej.reject_reason, FO_RR_IP_DIGEST_FAILURE);
	assert_false(p.rej.local);
	lfree(p.l);
	lfree(s.l);
}

/* Same secret, other algorithm: the type is refused (reject 12), both ways round. */
static void test_digest_alg_mismatch(void **state)
{
	struct side p = { 0 }, s = { 0 };
	struct side p2 = { 0 }, s2 = { 0 };

	(void)state;
	pair_up_d(&p, &s, SECRET, FO_DIGEST_HMAC_MD5, SECRET, FO_DIGEST_HMAC_SHA256);
	assert_int_equal(p.n_up + s.n_up, 0);
	assert_int_equal(s.rej.reject_reason, FO_RR_DIGEST_UNSUPPORTED);
	assert_true(s.rej.local);
	assert_string_equal(s.rej.reason,
			    "message digest type 1 not supported (HMAC-SHA256 only)");
	assert_int_equal(p.rej.reject_reason, FO_RR_DIGEST_UNSUPPORTED);
	assert_false(p.rej.local);
	lfree(p.l);
	lfree(s.l);

	port_a = held[2].port;
	port_b = held[3].port;
	pair_up_d(&p2, &s2, SECRET, FO_DIGEST_HMAC_SHA256, SECRET, 0 /* MD5 */);
	assert_int_equal(p2.n_up + s2.n_up, 0);
	assert_int_equal(s2.rej.reject_reason, FO_RR_DIGEST_UNSUPPORTED);
	assert_string_equal(s2.rej.reason,
			    "message digest type 240 not supported (HMAC-MD5 only)");
	lfree(p2.l);
	lfree(s2.l);
}

/* The primary has a secret, the secondary none: the secondary refuses the digest (13). */
static void test_secret_primary_only(void **state)
{
	struct side p = { 0 }, s = { 0 };

	(void)state;
	pair_up_s(&p, &s, SECRET, NULL);
	assert_int_equal(p.n_up + s.n_up, 0);
	assert_int_equal(s.rej.reject_reason, FO_RR_DIGEST_UNCONFIGURED);
	assert_true(s.rej.local);
	assert_string_equal(s.rej.reason, "message digest not configured");
	assert_int_equal(p.rej.reject_reason, FO_RR_DIGEST_UNCONFIGURED);
	assert_false(p.rej.local);
	assert_string_equal(p.rej.reason, "message digest not configured");
	lfree(p.l);
	lfree(s.l);
}

/* The secondary has a secret, the primary none: the CONNECT lacks the digest (21). */
static void test_secret_secondary_only(void **state)
{
	struct side p = { 0 }, s = { 0 };

	(void)state;
	pair_up_s(&p, &s, "", SECRET);	/* "" = none, as NULL */
	assert_int_equal(p.n_up + s.n_up, 0);
	assert_int_equal(s.rej.reject_reason, FO_RR_IP_MISSING_DIGEST);
	assert_true(s.rej.local);
	assert_string_equal(s.rej.reason, "message digest missing");
	assert_int_equal(p.rej.reject_reason, FO_RR_IP_MISSING_DIGEST);
	assert_false(p.rej.local);
	assert_string_equal(p.rej.reason, "message digest missing");
	lfree(p.l);
	lfree(s.l);
}

/* A listening socket on 127.0.0.1:@p port for a raw secondary. */
static int raw_listen(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Poll @p p until it connects to the raw listener @p lfd; @return the accepted socket. */
static int raw_accept(struct side *p, int lfd)
{
	struct side *only_p[1] = { p };
	int fd = -1;

	for (int r = 0; r < ROUNDS && fd < 0; r++) {
		round_(only_p, 1, lfd, 100);
		fd = accept(lfd, NULL, NULL);
	}
	assert_true(fd >= 0);
	return fd;
}

/*
 * A primary with a secret against a raw secondary: its CONNECT is signed (checked here with
 * our own key), and a CONNECTACK without a digest, then one with a wrong digest, are
 * answered with DISCONNECT 21, then 20.
 */
static void test_secret_primary_checks_connectack(void **state)
{
	struct side p = { 0 };
	struct fo_hmac_md5 key, wrong;
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int lfd, fd, n;

	(void)state;
	key_init(&key, SECRET);
	key_init(&wrong, "not-" SECRET);
	lfd = raw_listen(port_b);
	p.l = mklink_s(FO_LINK_PRIMARY, port_a, port_b, NAME, SECRET);
	for (int round = 0; round < 2; round++) {
		fd = raw_accept(&p, lfd);
		n = raw_read_msg(&p, fd, buf, sizeof(buf), &m);
		assert_int_equal(m.type, FO_MSG_CONNECT);
		assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), 0);
		assert_int_equal(buf[n - FO_DIGEST_DATA_LEN], FO_DIGEST_HMAC_MD5);	/* last */
		fo_msg_init(&m, FO_MSG_CONNECTACK, wall_s, 0);
		m.relationship_name = (struct fo_bytes){ (const uint8_t *)NAME, 4 };
		m.receive_timer = 10;
		m.max_unacked = 10;
		m.present = FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_RECEIVE_TIMER) |
			    FO_BIT(FO_OPT_MAX_UNACKED);
		raw_send(fd, &m, round == 0 ? NULL : &wrong);
		if (round == 0) {
			expect_disconnect(&p, fd, &key, FO_RR_IP_MISSING_DIGEST,
					  "message digest missing");
		} else {
			expect_disconnect(&p, fd, &key, FO_RR_IP_DIGEST_FAILURE,
					  "message digest failed to compare");
		}
		assert_int_equal(p.n_rej, round + 1);
		assert_true(p.rej.local);
		assert_int_equal(p.rej.reject_reason,
				 round == 0 ? FO_RR_IP_MISSING_DIGEST : FO_RR_IP_DIGEST_FAILURE);
		close(fd);
	}
	assert_int_equal(p.n_up, 0);
	assert_int_equal(fo_link_stats(p.l)->auth_failed, 2);
	close(lfd);
	lfree(p.l);
}

/*
 * A primary with a secret binds the CONNECTACK to its CONNECT: the CONNECT's xid is a
 * nonce, and a CONNECTACK recorded from an earlier session (well signed, but answering an
 * older CONNECT) is refused as a replay with DISCONNECT 1; the link does not come up.
 */
static void test_secret_replayed_connectack(void **state)
{
	struct side p = { 0 };
	struct fo_hmac_md5 key;
	uint8_t buf[FO_MSG_MAX_LEN], rec[FO_MSG_MAX_LEN];
	struct fo_msg m;
	uint32_t xid0 = 0;
	int lfd, fd, nrec = 0;

	(void)state;
	key_init(&key, SECRET);
	lfd = raw_listen(port_b);
	p.l = mklink_s(FO_LINK_PRIMARY, port_a, port_b, NAME, SECRET);
	for (int round = 0; round < 2; round++) {
		fd = raw_accept(&p, lfd);
		(void)raw_read_msg(&p, fd, buf, sizeof(buf), &m);
		assert_int_equal(m.type, FO_MSG_CONNECT);
		assert_int_not_equal(m.xid, 0);
		if (round == 0) {
			xid0 = m.xid;
			fo_msg_init(&m, FO_MSG_CONNECTACK, wall_s, m.xid);
			m.relationship_name = (struct fo_bytes){ (const uint8_t *)NAME, 4 };
			m.receive_timer = 10;
			m.max_unacked = 10;
			m.present = FO_BIT(FO_OPT_RELATIONSHIP_NAME) |
				    FO_BIT(FO_OPT_RECEIVE_TIMER) | FO_BIT(FO_OPT_MAX_UNACKED);
			nrec = raw_encode(&m, rec, sizeof(rec), &key);
			assert_int_equal(send(fd, rec, (size_t)nrec, 0), nrec);
			struct side *only_p[1] = { &p };
			WAIT(p.n_up == 1, only_p, 1, fd, 10);
		} else {
			/* A new nonce; the old session's CONNECTACK replayed. */
			assert_int_not_equal(m.xid, xid0);
			assert_int_equal(send(fd, rec, (size_t)nrec, 0), nrec);
			snprintf((char *)buf, sizeof(buf),
				 "CONNECTACK xid %u does not answer CONNECT xid %u (replayed?)",
				 xid0, m.xid);
			expect_disconnect(&p, fd, &key, FO_RR_MISC_REJECT, (const char *)buf);
			assert_int_equal(p.n_up, 1);
			assert_int_equal(fo_link_stats(p.l)->replayed, 1);
		}
		close(fd);
	}
	close(lfd);
	lfree(p.l);
}

/*
 * Messages on the up link that fail the check: tampered after signing (20), unsigned (21),
 * signed with type 2 (12). Each drops the link with a DISCONNECT and a reason.
 */
static void test_secret_tampered(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	struct fo_hmac_md5 key;
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fd, n;

	(void)state;
	key_init(&key, SECRET);
	s.l = mklink_s(FO_LINK_SECONDARY, port_b, port_a, NAME, SECRET);

	/* 1. A byte flipped after signing. */
	fd = raw_primary_up_k(&s, 0, &key, wall_s);
	n = raw_read_msg(&s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), 0);
	fo_msg_init(&m, FO_MSG_STATE, wall_s, 1);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	n = raw_encode(&m, buf, sizeof(buf), &key);
	buf[FO_MSG_HDR_LEN + 4] = FO_SS_PARTNER_DOWN;	/* the server-state value */
	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
	expect_disconnect(&s, fd, &key, FO_RR_IP_DIGEST_FAILURE,
			  "message digest failed to compare");
	WAIT(s.n_down == 1, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason, "message digest failed to compare: STATE xid 1");
	assert_int_equal(s.n_msg, 0);
	close(fd);

	/* 2. No digest at all. */
	fd = raw_primary_up_k(&s, 0, &key, wall_s + 1);
	raw_state(fd, 1, NULL);
	WAIT(s.n_down == 2, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason, "message digest missing: STATE xid 1");
	close(fd);

	/* 3. A Windows-style type 2 digest. */
	fd = raw_primary_up_k(&s, 0, &key, wall_s + 2);
	fo_msg_init(&m, FO_MSG_STATE, wall_s, 1);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	n = raw_encode(&m, buf, sizeof(buf), &key);
	buf[n - FO_DIGEST_DATA_LEN] = 2;
	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
	WAIT(s.n_down == 3, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason,
			    "message digest type 2 not supported (HMAC-MD5 only): STATE xid 1");
	assert_int_equal(s.n_msg, 0);
	assert_int_equal(fo_link_stats(s.l)->auth_failed, 3);
	close(fd);
	lfree(s.l);
}

/* A request-type xid that does not grow is a replay; a response's echoed xid is not. */
static void test_secret_replayed_xid(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	struct fo_hmac_md5 key;
	uint8_t state5[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fd, n;

	(void)state;
	key_init(&key, SECRET);
	s.l = mklink_s(FO_LINK_SECONDARY, port_b, port_a, NAME, SECRET);
	fd = raw_primary_up_k(&s, 0, &key, wall_s);
	(void)raw_read_msg(&s, fd, state5, sizeof(state5), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	fo_msg_init(&m, FO_MSG_STATE, wall_s, 5);
	m.server_state = FO_SS_NORMAL;
	m.present = FO_BIT(FO_OPT_SERVER_STATE);
	n = raw_encode(&m, state5, sizeof(state5), &key);
	assert_int_equal(send(fd, state5, (size_t)n, 0), n);
	WAIT(s.n_msg == 1, only_s, 1, -1, 10);
	/* A BNDACK with xid 1 (echoing one of S's xids) passes. */
	fo_msg_init(&m, FO_MSG_BNDACK, wall_s, 1);
	m.assigned_addr = 0xc0a80001;
	m.present = FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS);
	raw_send(fd, &m, &key);
	WAIT(s.n_msg == 2, only_s, 1, -1, 10);
	assert_int_equal(s.last_type, FO_MSG_BNDACK);
	/* The STATE again, byte for byte (its digest is valid): dropped. */
	assert_int_equal(send(fd, state5, (size_t)n, 0), n);
	expect_disconnect(&s, fd, &key, FO_RR_MISC_REJECT,
			  "replayed message: STATE xid 5 not greater than the previous xid 5");
	WAIT(s.n_down == 1, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason,
			    "replayed message: STATE xid 5 not greater than the previous xid 5");
	assert_int_equal(s.n_msg, 2);
	assert_int_equal(fo_link_stats(s.l)->replayed, 1);
	close(fd);

	/* On a new connection the xids start over; a lower one than the last is refused too. */
	fd = raw_primary_up_k(&s, 0, &key, wall_s + 1);
	raw_state(fd, 7, &key);
	raw_state(fd, 6, &key);
	WAIT(s.n_down == 2, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason,
			    "replayed message: STATE xid 6 not greater than the previous xid 7");
	assert_int_equal(s.n_msg, 3);
	close(fd);
	lfree(s.l);
}

/* A recorded CONNECT sent again on a new connection is refused; a later one is not. */
static void test_secret_replayed_connect(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	struct fo_hmac_md5 key;
	uint8_t rec[FO_MSG_MAX_LEN], buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	uint32_t t = wall_s;
	int fd, n;

	(void)state;
	key_init(&key, SECRET);
	s.l = mklink_s(FO_LINK_SECONDARY, port_b, port_a, NAME, SECRET);
	fd = raw_primary_up_k(&s, 0, &key, t);
	close(fd);
	WAIT(s.n_down == 1, only_s, 1, -1, 10);

	n = raw_connect_msg(rec, sizeof(rec), &key, t);
	fd = raw_connect("127.0.0.1", port_b, 0);
	assert_int_equal(send(fd, rec, (size_t)n, 0), n);
	n = raw_read_msg(&s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_int_equal(m.reject_reason, FO_RR_MISC_REJECT);
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), 0);
	assert_int_equal(s.n_rej, 1);
	assert_true(s.rej.local);
	assert_string_equal(s.rej.reason,
			    "CONNECT time not after the previous CONNECT (replayed?)");
	assert_int_equal(s.n_up, 1);
	assert_int_equal(fo_link_stats(s.l)->replayed, 1);
	close(fd);

	fd = raw_primary_up_k(&s, 0, &key, t + 1);
	assert_int_equal(s.n_up, 2);
	close(fd);
	lfree(s.l);
}

/* No secret here, a digest from the partner on the up link: DISCONNECT 13, unsigned. */
static void test_digest_unconfigured(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	struct fo_hmac_md5 key;
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fd;

	(void)state;
	key_init(&key, SECRET);
	s.l = mklink(FO_LINK_SECONDARY, port_b, port_a, NAME);
	fd = raw_primary_up(&s, 0);
	(void)raw_read_msg(&s, fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_MESSAGE_DIGEST));
	raw_state(fd, 1, &key);
	expect_disconnect(&s, fd, NULL, FO_RR_DIGEST_UNCONFIGURED,
			  "message digest not configured");
	WAIT(s.n_down == 1, only_s, 1, -1, 10);
	assert_string_equal(s.down.reason, "message digest not configured: STATE xid 1");
	close(fd);
	lfree(s.l);
}

static void test_secret_config(void **state)
{
	struct fo_link_cfg c;
	char big[FO_LINK_SECRET_MAX + 1];
	char err[128] = "";
	struct fo_link *l;

	(void)state;
	memset(big, 'k', sizeof(big));
	big[FO_LINK_SECRET_MAX] = '\0';
	c = mkcfg(FO_LINK_SECONDARY, port_b, port_a, NAME, big);
	assert_null(fo_link_new(&c, err, sizeof(err)));
	assert_string_equal(err, "failover link: shared secret too long");
	big[FO_LINK_SECRET_MAX - 1] = '\0';
	l = fo_link_new(&c, err, sizeof(err));
	assert_non_null(l);
	fo_link_free(l);
	/* Only the two digest types implemented; Windows' 2 is not one of them. */
	c.digest = 2;
	assert_null(fo_link_new(&c, err, sizeof(err)));
	assert_string_equal(err, "failover link: unknown message digest type");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contact_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_skew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skew_every_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skew_connect_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_other_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_not_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dup_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_primary_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_secondary_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_primary_checks_connectack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_secret_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_replayed_xid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_replayed_connectack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_replayed_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_unconfigured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sha256_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sha256_wrong_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_alg_mismatch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
