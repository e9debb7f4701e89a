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

#include "fo_link.h"

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
};

static struct fo_link *g_links[4];	/* freed by teardown() when a test fails early */
static uint64_t now_ms;
static uint32_t wall_s;
static uint16_t base_port;

static struct fo_link_cfg mkcfg(enum fo_link_role role, uint16_t lport, uint16_t pport,
				const char *name)
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
	return c;
}

static struct fo_link *mklink(enum fo_link_role role, uint16_t lport, uint16_t pport,
			      const char *name)
{
	struct fo_link_cfg c = mkcfg(role, lport, pport, name);
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
	base_port = (uint16_t)(base_port + 4);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		fo_link_free(g_links[i]);
		g_links[i] = NULL;
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

/* Two links up; returns with both UP once. */
static void pair_up(struct side *p, struct side *s)
{
	struct side *both[2] = { p, s };

	p->l = mklink(FO_LINK_PRIMARY, base_port, (uint16_t)(base_port + 1), NAME);
	if (s->l == NULL) {
		s->l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, NAME);
	}
	WAIT(p->n_up + p->n_rej >= 1 && s->n_up + s->n_rej >= 1, both, 2, -1, 10);
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
	s.l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, "other");
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

static void test_time_skew(void **state)
{
	struct side p = { 0 }, s = { .wall_off = 120 };

	(void)state;
	pair_up(&p, &s);
	assert_int_equal(p.n_up + s.n_up, 0);
	assert_int_equal(p.rej.reject_reason, FO_RR_TIMEMISMATCH);
	assert_string_equal(p.rej.reason, "time offset too large");
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
	s.l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, NAME);
	fd = raw_connect("127.0.0.2", (uint16_t)(base_port + 1), 0);
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

/* A raw primary: connect to S, send a valid CONNECT, wait for S's UP. */
static int raw_primary_up(struct side *s, int rcvbuf)
{
	struct side *only_s[1] = { s };
	uint8_t hba[FO_HBA_LEN] = { 0xff };
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fd, n;

	fd = raw_connect("127.0.0.1", (uint16_t)(base_port + 1), rcvbuf);
	fo_msg_init(&m, FO_MSG_CONNECT, wall_s, 0);
	m.relationship_name = (struct fo_bytes){ (const uint8_t *)NAME, 4 };
	m.max_unacked = 10;
	m.receive_timer = 15;
	m.protocol_version = 1;
	m.mclt = 30;
	m.hba = (struct fo_bytes){ hba, FO_HBA_LEN };
	m.present = FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_MAX_UNACKED) |
		    FO_BIT(FO_OPT_RECEIVE_TIMER) | FO_BIT(FO_OPT_PROTOCOL_VERSION) |
		    FO_BIT(FO_OPT_MCLT) | FO_BIT(FO_OPT_HBA);
	n = fo_msg_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
	WAIT(s->n_up == 1, only_s, 1, -1, 10);
	assert_int_equal(s->up.partner_receive_timer, 15);
	assert_int_equal(s->up.partner_mclt, 30);
	return fd;
}

static void test_garbage(void **state)
{
	struct side s = { 0 };
	struct side *only_s[1] = { &s };
	const uint8_t junk[] = { 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef };
	int fd;

	(void)state;
	s.l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, NAME);
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
	s.l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, NAME);
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
	s.l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, NAME);
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
	fd2 = raw_connect("127.0.0.1", (uint16_t)(base_port + 1), 0);
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
	s.l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, NAME);
	fd = raw_connect("127.0.0.1", (uint16_t)(base_port + 1), 0);
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
	s.l = mklink(FO_LINK_SECONDARY, (uint16_t)(base_port + 1), base_port, NAME);
	fd = raw_connect("127.0.0.1", (uint16_t)(base_port + 1), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contact_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_skew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_other_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_not_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dup_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
	};

	base_port = (uint16_t)(30000 + (getpid() % 1000) * 20);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
