/*
 * Unit tests of failover/fo_listener: one listening socket on 127.0.0.1 shared by several
 * fo_links (issue 12 item 4), driven by raw partners connecting from other loopback
 * addresses (127.0.0.2, .3, ...). Time is injected as in test_fo_link.c; every wait is a
 * bounded loop of poll() with a 10 ms timeout.
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
#include <unistd.h>

#include "fo_listener.h"
#include "port_fix.h"

#define ROUNDS	400
#define MAXL	4

struct side {
	struct fo_link *l;
	int n_up, n_rej, n_msg;
	struct fo_link_event up, rej;
};

static struct fo_listener *g_ls;
static struct fo_link *g_links[MAXL];
static struct side g_sides[MAXL];
static int g_n;
static struct fo_listener_event g_lev;	/* the last listener event */
static int g_n_lev;
static uint64_t now_ms;
static uint32_t wall_s;
/* The shared listener's port, and a port where nobody listens (the links' partners): both
 * held for the test (port_fix.h). */
static struct port_fix held[2];
static uint16_t port, closed_port;

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* A link on the shared listener; partner @p partner, whose own port is closed. */
static struct side *add_link(const char *name, enum fo_link_role role, const char *partner)
{
	struct fo_link_cfg c;
	char err[128] = "";
	struct side *s = &g_sides[g_n];

	memset(&c, 0, sizeof(c));
	c.name = name;
	c.role = role;
	c.local_addr = ip("127.0.0.1");
	c.local_port = port;
	c.partner_addr = ip(partner);
	c.partner_port = closed_port;	/* nobody listens: outgoing connects fail */
	c.receive_timer = 9;
	c.max_unacked = 10;
	c.mclt = 60;
	c.shared_listener = true;
	memset(s, 0, sizeof(*s));
	s->l = fo_link_new(&c, err, sizeof(err));
	if (s->l == NULL) {
		fail_msg("fo_link_new: %s", err);
	}
	g_links[g_n++] = s->l;
	assert_int_equal(fo_listener_add(g_ls, s->l), 0);
	return s;
}

/* One round: poll() on the listener, the links and @p extra (<= 10 ms), then run them all. */
static void round_(int extra, uint64_t step)
{
	struct pollfd pfd[64];
	struct fo_link_event ev[4];
	struct fo_listener_event lev[4];
	int k, n;

	k = fo_listener_fds(g_ls, pfd, 32);
	for (int i = 0; i < g_n; i++) {
		k += fo_link_fds(g_sides[i].l, pfd + k, 40 - k);
	}
	if (extra >= 0) {
		pfd[k].fd = extra;
		pfd[k].events = POLLIN;
		k++;
	}
	(void)poll(pfd, (nfds_t)k, 10);
	now_ms += step;
	wall_s = (uint32_t)(1700000000 + now_ms / 1000);
	n = fo_listener_poll(g_ls, now_ms, wall_s, lev, 4);
	for (int i = 0; i < n; i++) {
		g_lev = lev[i];
		g_n_lev++;
	}
	for (int i = 0; i < g_n; i++) {
		struct side *s = &g_sides[i];

		do {
			n = fo_link_poll(s->l, now_ms, wall_s, ev, 4);
			for (int j = 0; j < n; j++) {
				if (ev[j].type == FO_LINK_UP) {
					s->n_up++;
					memcpy(&s->up, &ev[j], offsetof(struct fo_link_event, msg));
				} else if (ev[j].type == FO_LINK_REJECTED) {
					s->n_rej++;
					memcpy(&s->rej, &ev[j], offsetof(struct fo_link_event, msg));
				} else if (ev[j].type == FO_LINK_MESSAGE) {
					s->n_msg++;
				}
			}
		} while (n == 4);
	}
}

#define WAIT(cond, extra)                                                                   \
	do {                                                                                \
		int r_;                                                                     \
		for (r_ = 0; r_ < ROUNDS && !(cond); r_++) {                                \
			round_(extra, 10);                                                  \
		}                                                                           \
		assert_true(cond);                                                          \
	} while (0)

static int setup(void **state)
{
	char err[128] = "";

	(void)state;
	now_ms = 1000000;
	wall_s = (uint32_t)(1700000000 + now_ms / 1000);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(port_fix_take(&held[i]), 0);
	}
	port = held[0].port;
	closed_port = held[1].port;
	g_n = 0;
	g_n_lev = 0;
	g_ls = fo_listener_new(ip("127.0.0.1"), port, 3000, err, sizeof(err));
	if (g_ls == NULL) {
		fail_msg("fo_listener_new: %s", err);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < g_n; i++) {
		fo_listener_remove(g_ls, g_links[i]);
		fo_link_free(g_links[i]);
		g_links[i] = NULL;
	}
	g_n = 0;
	fo_listener_free(g_ls);
	g_ls = NULL;
	for (int i = 0; i < 2; i++) {
		port_fix_drop(&held[i]);
	}
	return 0;
}

/* Connect from @p src to the listener (the kernel completes it: the listener has a backlog). */
static int raw_connect(const char *src)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr = ip(src);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	a.sin_addr = ip("127.0.0.1");
	a.sin_port = htons(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* A primary's CONNECT for @p name (NULL: no name), encoded into @p buf. */
static int connect_msg(uint8_t *buf, size_t cap, const char *name)
{
	static const uint8_t hba[FO_HBA_LEN] = { 0xff };
	struct fo_msg m;
	int n;

	fo_msg_init(&m, FO_MSG_CONNECT, wall_s, 0);
	if (name != NULL) {
		m.relationship_name = (struct fo_bytes){ (const uint8_t *)name,
							 (uint16_t)strlen(name) };
		m.present |= FO_BIT(FO_OPT_RELATIONSHIP_NAME);
	}
	m.max_unacked = 10;
	m.receive_timer = 15;
	m.protocol_version = 1;
	m.mclt = 30;
	m.hba = (struct fo_bytes){ hba, FO_HBA_LEN };
	m.present |= FO_BIT(FO_OPT_MAX_UNACKED) | FO_BIT(FO_OPT_RECEIVE_TIMER) |
		     FO_BIT(FO_OPT_PROTOCOL_VERSION) | FO_BIT(FO_OPT_MCLT) | FO_BIT(FO_OPT_HBA);
	n = fo_msg_encode(&m, buf, cap);
	assert_true(n > 0);
	return n;
}

static void send_connect(int fd, const char *name)
{
	uint8_t buf[FO_MSG_MAX_LEN];
	int n = connect_msg(buf, sizeof(buf), name);

	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
}

/* Read one message from @p fd while the listener and links run; decode it into @p m. */
static void read_msg(int fd, uint8_t *buf, size_t cap, struct fo_msg *m)
{
	size_t have = 0;
	int fl = 0;

	for (int r = 0; r < ROUNDS && fl == 0; r++) {
		ssize_t n;

		round_(fd, 10);
		n = recv(fd, buf + have, cap - have, MSG_DONTWAIT);
		if (n > 0) {
			have += (size_t)n;
		}
		fl = fo_frame_len(buf, have, FO_MSG_MAX_LEN);
	}
	assert_true(fl > 0);
	assert_int_equal(fo_msg_decode(m, buf, (size_t)fl, 0), FO_OK);
}

/* Wait until the peer closes @p fd (EOF or reset), draining what it sent. */
static void wait_closed(int fd)
{
	uint8_t b[512];
	ssize_t n = -1;

	for (int r = 0; r < ROUNDS; r++) {
		round_(fd, 10);
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			break;
		}
	}
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

static void expect_reject(int fd, const char *name, const char *text)
{
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;

	read_msg(fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_true(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_int_equal(m.reject_reason, FO_RR_INVALID_PARTNER);
	assert_int_equal(m.message.len, strlen(text));
	assert_memory_equal(m.message.ptr, text, m.message.len);
	if (name != NULL) {
		assert_int_equal(m.relationship_name.len, strlen(name));
		assert_memory_equal(m.relationship_name.ptr, name, strlen(name));
	}
	wait_closed(fd);
}

/* Two secondary links, one port: each raw primary reaches its own link by its name. */
static void test_two_secondaries(void **state)
{
	struct side *a, *b;
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fa, fb;

	(void)state;
	a = add_link("rel-a", FO_LINK_SECONDARY, "127.0.0.2");
	b = add_link("rel-b", FO_LINK_SECONDARY, "127.0.0.3");
	fb = raw_connect("127.0.0.3");
	fa = raw_connect("127.0.0.2");
	send_connect(fb, "rel-b");
	send_connect(fa, "rel-a");
	WAIT(a->n_up == 1 && b->n_up == 1, -1);
	assert_int_equal(a->up.partner_mclt, 30);
	read_msg(fa, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_memory_equal(m.relationship_name.ptr, "rel-a", 5);
	read_msg(fb, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_memory_equal(m.relationship_name.ptr, "rel-b", 5);
	/* The links own the connections: a CONTACT from each raw primary reaches its link. */
	fo_msg_init(&m, FO_MSG_CONTACT, wall_s, 1);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_MSG_HDR_LEN);
	assert_int_equal(send(fa, buf, FO_MSG_HDR_LEN, 0), FO_MSG_HDR_LEN);
	WAIT(a->n_msg == 1, -1);
	assert_int_equal(b->n_msg, 0);
	assert_int_equal(fo_listener_stats(g_ls)->handed, 2);
	assert_int_equal(a->n_rej + b->n_rej, 0);
	assert_true(fo_link_is_up(a->l) && fo_link_is_up(b->l));
	close(fa);
	close(fb);
}

/* An unknown name, and no name at all: CONNECTACK reject 8, as ISC; an event for the log. */
static void test_unknown_name(void **state)
{
	struct side *a;
	int fd;

	(void)state;
	a = add_link("rel-a", FO_LINK_SECONDARY, "127.0.0.2");
	fd = raw_connect("127.0.0.2");
	send_connect(fd, "nosuch");
	expect_reject(fd, "nosuch", "unknown failover relationship name");
	close(fd);
	assert_int_equal(g_lev.type, FO_LISTENER_REFUSED);
	assert_int_equal(g_lev.reject_reason, FO_RR_INVALID_PARTNER);
	assert_string_equal(g_lev.name, "nosuch");
	assert_string_equal(g_lev.reason,
			    "CONNECT from 127.0.0.2: unknown failover relationship name");
	fd = raw_connect("127.0.0.2");
	send_connect(fd, NULL);
	expect_reject(fd, NULL, "missing relationship-name");
	close(fd);
	assert_int_equal(fo_listener_stats(g_ls)->refused_name, 2);
	assert_int_equal(a->n_up, 0);
}

/*
 * A known name from the wrong address: refused with the same words as an unknown name (the
 * log says which relationship and partner). A source that is nobody's partner: closed at
 * once with no message.
 */
static void test_wrong_address(void **state)
{
	struct side *a, *b;
	int fd;

	(void)state;
	a = add_link("rel-a", FO_LINK_SECONDARY, "127.0.0.2");
	b = add_link("rel-b", FO_LINK_SECONDARY, "127.0.0.3");
	fd = raw_connect("127.0.0.2");
	send_connect(fd, "rel-b");
	expect_reject(fd, "rel-b", "unknown failover relationship name");
	close(fd);
	assert_string_equal(g_lev.reason, "CONNECT from 127.0.0.2 for relationship rel-b, "
					  "whose partner is 127.0.0.3");
	assert_int_equal(fo_listener_stats(g_ls)->refused_addr, 1);
	fd = raw_connect("127.0.0.9");
	send_connect(fd, "rel-a");
	wait_closed(fd);
	close(fd);
	assert_int_equal(fo_listener_stats(g_ls)->refused_src, 1);
	assert_int_equal(a->n_up + b->n_up, 0);
}

/*
 * A partner that sends half a CONNECT and stops holds only its own slot: another partner
 * comes up meanwhile; the half-sent one is closed after the handshake time (3 s here), and
 * its relationship can still come up on a new connection.
 */
static void test_half_connect(void **state)
{
	struct side *a, *b;
	uint8_t buf[FO_MSG_MAX_LEN];
	int half, fb, fa;
	uint64_t t0 = now_ms;

	(void)state;
	a = add_link("rel-a", FO_LINK_SECONDARY, "127.0.0.2");
	b = add_link("rel-b", FO_LINK_SECONDARY, "127.0.0.3");
	half = raw_connect("127.0.0.2");
	(void)connect_msg(buf, sizeof(buf), "rel-a");
	assert_int_equal(send(half, buf, 20, 0), 20);
	fb = raw_connect("127.0.0.3");
	send_connect(fb, "rel-b");
	WAIT(b->n_up == 1, -1);
	assert_true(now_ms - t0 < 1000);
	assert_int_equal(a->n_up, 0);
	wait_closed(half);
	close(half);
	assert_true(now_ms - t0 >= 3000);
	assert_int_equal(fo_listener_stats(g_ls)->timeouts, 1);
	assert_string_equal(g_lev.reason, "connection from 127.0.0.2: no CONNECT within 3000 ms");
	fa = raw_connect("127.0.0.2");
	send_connect(fa, "rel-a");
	WAIT(a->n_up == 1, -1);
	assert_true(fo_link_is_up(b->l));
	close(fa);
	close(fb);
}

/* Garbage before a CONNECT: closed with no message; a CONTACT before it is skipped. */
static void test_garbage(void **state)
{
	struct side *a;
	const uint8_t junk[] = { 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0 };
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fd;

	(void)state;
	a = add_link("rel-a", FO_LINK_SECONDARY, "127.0.0.2");
	fd = raw_connect("127.0.0.2");
	assert_int_equal(send(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	wait_closed(fd);
	close(fd);
	assert_int_equal(fo_listener_stats(g_ls)->garbage, 1);
	fd = raw_connect("127.0.0.2");
	fo_msg_init(&m, FO_MSG_CONTACT, wall_s, 1);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_MSG_HDR_LEN);
	assert_int_equal(send(fd, buf, FO_MSG_HDR_LEN, 0), FO_MSG_HDR_LEN);
	send_connect(fd, "rel-a");
	WAIT(a->n_up == 1, -1);
	close(fd);
}

/* A primary link on the listener: its secondary's stimulus connection gets our CONNECT. */
static void test_primary_stimulus(void **state)
{
	struct side *p;
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int fd;

	(void)state;
	p = add_link("rel-p", FO_LINK_PRIMARY, "127.0.0.4");
	fd = raw_connect("127.0.0.4");
	read_msg(fd, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECT);
	assert_memory_equal(m.relationship_name.ptr, "rel-p", 5);
	assert_int_equal(fo_listener_stats(g_ls)->handed, 1);
	assert_int_equal(p->n_up, 0);
	close(fd);
}

/* Seed 003's hub (issue 12 item 4), the three relationships on one listener at once: the hub
 * is the hot-standby secondary of two branch primaries (.2, .3), which connect to it, and the
 * primary of a load-balance relationship for its own subnet with a third server (.5), whose
 * stimulus connection gets the hub's CONNECT and whose CONNECTACK brings that link up. Each
 * connection reaches its own link, none the others'. */
static void test_hub_three_relationships(void **state)
{
	struct side *b1, *b2, *own;
	uint8_t buf[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int f1, f2, f3, n;

	(void)state;
	b1 = add_link("hub-br1", FO_LINK_SECONDARY, "127.0.0.2");
	b2 = add_link("hub-br2", FO_LINK_SECONDARY, "127.0.0.3");
	own = add_link("hub-own", FO_LINK_PRIMARY, "127.0.0.5");
	/* No link has run yet when the listener hands them their connections (as in the
	 * daemon, whose loop polls listeners first, for a relationship just started): each
	 * must take the listener's clocks, not date its handshake from time 0. */
	f3 = raw_connect("127.0.0.5");
	f1 = raw_connect("127.0.0.2");
	f2 = raw_connect("127.0.0.3");
	send_connect(f2, "hub-br2");
	send_connect(f1, "hub-br1");
	/* The third server (secondary) is connected: the hub's primary link sends CONNECT. */
	read_msg(f3, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECT);
	assert_true(m.time <= wall_s && m.time + 1 >= wall_s);	/* stamped now, not 1970 */
	assert_int_equal(m.relationship_name.len, 7);
	assert_memory_equal(m.relationship_name.ptr, "hub-own", 7);
	fo_msg_init(&m, FO_MSG_CONNECTACK, wall_s, 0);
	m.relationship_name = (struct fo_bytes){ (const uint8_t *)"hub-own", 7 };
	m.max_unacked = 10;
	m.receive_timer = 15;
	m.protocol_version = 1;
	m.present |= FO_BIT(FO_OPT_RELATIONSHIP_NAME) | FO_BIT(FO_OPT_MAX_UNACKED) |
		     FO_BIT(FO_OPT_RECEIVE_TIMER) | FO_BIT(FO_OPT_PROTOCOL_VERSION);
	n = fo_msg_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(send(f3, buf, (size_t)n, 0), n);
	WAIT(b1->n_up == 1 && b2->n_up == 1 && own->n_up == 1, -1);
	read_msg(f1, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_memory_equal(m.relationship_name.ptr, "hub-br1", 7);
	read_msg(f2, buf, sizeof(buf), &m);
	assert_int_equal(m.type, FO_MSG_CONNECTACK);
	assert_false(fo_msg_has(&m, FO_OPT_REJECT_REASON));
	assert_memory_equal(m.relationship_name.ptr, "hub-br2", 7);
	/* A CONTACT from each partner reaches its own link only. */
	fo_msg_init(&m, FO_MSG_CONTACT, wall_s, 1);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_MSG_HDR_LEN);
	assert_int_equal(send(f3, buf, FO_MSG_HDR_LEN, 0), FO_MSG_HDR_LEN);
	WAIT(own->n_msg == 1, -1);
	assert_int_equal(b1->n_msg + b2->n_msg, 0);
	assert_int_equal(send(f2, buf, FO_MSG_HDR_LEN, 0), FO_MSG_HDR_LEN);
	WAIT(b2->n_msg == 1, -1);
	assert_int_equal(b1->n_msg, 0);
	assert_int_equal(fo_listener_stats(g_ls)->handed, 3);
	assert_int_equal(b1->n_rej + b2->n_rej + own->n_rej, 0);
	assert_true(fo_link_is_up(b1->l) && fo_link_is_up(b2->l) && fo_link_is_up(own->l));
	close(f1);
	close(f2);
	close(f3);
}

/* Registration: names are unique per listener; a shared link binds no socket of its own. */
static void test_register(void **state)
{
	struct side *a;
	struct fo_link_cfg c;
	struct fo_link *dup, *own;
	char err[128] = "";

	(void)state;
	a = add_link("rel-a", FO_LINK_SECONDARY, "127.0.0.2");
	assert_int_equal(fo_listener_add(g_ls, a->l), -EEXIST);
	memset(&c, 0, sizeof(c));
	c.name = "rel-a";
	c.role = FO_LINK_SECONDARY;
	c.local_addr = ip("127.0.0.1");
	c.local_port = port;
	c.partner_addr = ip("127.0.0.5");
	c.receive_timer = 9;
	c.max_unacked = 10;
	c.shared_listener = true;
	dup = fo_link_new(&c, err, sizeof(err));
	assert_non_null(dup);
	assert_int_equal(fo_listener_add(g_ls, dup), -EEXIST);
	fo_link_free(dup);
	/* Without shared_listener the same address:port is taken by the listener. */
	c.shared_listener = false;
	own = fo_link_new(&c, err, sizeof(err));
	assert_null(own);
	assert_string_equal(err, "failover link: bind: Address already in use");
	fo_listener_remove(g_ls, a->l);
	fo_listener_remove(g_ls, a->l);	/* no-op */
	assert_int_equal(fo_listener_add(g_ls, a->l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_secondaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_primary_stimulus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_three_relationships, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
