/*
 * mgmt_link's responder against a scripted partner on the loopback: an authenticated partner
 * that sends requests and never reads the answers must not grow the responder's memory (the
 * write buffer held every answer before: the idle deadline moves with every request, so
 * nothing ever closed such a connection), and requests that arrive together are all answered
 * to a partner that reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mgmt_link.h"
#include "mgmt_proto.h"
#include "port_fix.h"

#define SECRET	"link-test-secret"
#define BIG	(48 * 1024)	/* bytes of text in every answer */

struct owner {
	unsigned requests;	/* ops->request calls */
	char *big;
};

static const char *op_secret(void *arg, uint32_t addr)
{
	(void)arg;
	return addr == 0x7f000001u ? SECRET : NULL;
}

static json_t *op_request(void *arg, uint32_t addr, const json_t *req)
{
	struct owner *o = arg;

	(void)addr;
	(void)req;
	o->requests++;
	return json_pack("{s:b,s:s}", "ok", 1, "error", o->big);
}

static void op_answer(void *arg, uint32_t addr, const json_t *ans, bool sent, const char *err)
{
	(void)arg;
	(void)addr;
	(void)ans;
	(void)sent;
	(void)err;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct env {
	struct owner o;
	struct mgmt_link *l;
	int fd;				/* the partner's socket */
	struct port_fix port;		/* the listener's, held for the test (port_fix.h) */
	struct mgmt_session s;		/* the partner's side */
	uint8_t *buf;
	size_t n;
};

/* A listener on 127.0.0.1 (a port the kernel picks, held until env_down(): a port closed
 * after the pick could go to another test program's bind(0) or connect() before our bind)
 * and a partner connected to it from 127.0.0.1 with a small receive buffer, handshake done. */
static void env_up(struct env *e, int rcvbuf)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001u)};
	struct mgmt_link_ops ops = {.arg = &e->o, .secret = op_secret, .request = op_request,
				    .answer = op_answer};
	uint8_t nonce[MGMT_NONCE_LEN] = {9, 8, 7, 6};
	char err[256];
	uint8_t *f;
	size_t len;

	memset(e, 0, sizeof(*e));
	e->o.big = malloc(BIG + 1);
	assert_non_null(e->o.big);
	memset(e->o.big, 'x', BIG);
	e->o.big[BIG] = '\0';
	e->buf = malloc(MGMT_FRAME_MAX);
	assert_non_null(e->buf);
	assert_int_equal(port_fix_take(&e->port), 0);
	a.sin_port = htons(e->port.port);
	e->l = mgmt_link_open(0x7f000001u, e->port.port, &ops, err, sizeof(err));
	if (e->l == NULL) {
		fail_msg("mgmt_link_open: %s", err);
	}
	e->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(e->fd >= 0);
	if (rcvbuf > 0) {
		assert_int_equal(setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
				 0);
	}
	assert_int_equal(connect(e->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(fcntl(e->fd, F_SETFL, O_NONBLOCK), 0);
	mgmt_session_init(&e->s, true, SECRET, strlen(SECRET), nonce);
	json_t *h = mgmt_hello_new(&e->s, NULL);

	assert_int_equal(mgmt_frame_encode(&e->s, MGMT_HELLO, (uint64_t)time(NULL), h, &f, &len),
			 0);
	json_decref(h);
	assert_int_equal(write(e->fd, f, len), (ssize_t)len);
	free(f);
}

/* The next frame from the link (driven meanwhile), within 5 s; its type in *type. */
static json_t *recv_frame(struct env *e, uint8_t *type)
{
	uint64_t end = now_ms() + 5000;

	while (now_ms() < end) {
		long need = mgmt_frame_len(e->buf, e->n);

		assert_true(need >= 0);
		if (need > 0 && e->n >= (size_t)need) {
			struct mgmt_msg m;
			char err[256];

			if (mgmt_session_recv(&e->s, NULL, e->buf, (size_t)need,
					      (uint64_t)time(NULL), &m, err, sizeof(err)) != 0) {
				fail_msg("partner: %s", err);
			}
			memmove(e->buf, e->buf + need, e->n - (size_t)need);
			e->n -= (size_t)need;
			*type = m.type;
			return m.body;
		}
		mgmt_link_poll(e->l);
		ssize_t r = read(e->fd, e->buf + e->n, MGMT_FRAME_MAX - e->n);

		if (r > 0) {
			e->n += (size_t)r;
		} else if (r == 0) {
			return NULL;
		} else {
			usleep(1000);
		}
	}
	fail_msg("partner: no frame within 5 s");
	return NULL;
}

/* Queue @p n scope-digest requests in one buffer and write what the socket takes.
 * @return the requests written whole. */
static unsigned send_requests(struct env *e, unsigned n)
{
	size_t cap = 0, len = 0, off = 0;
	uint8_t *all = NULL;
	size_t *ends = calloc(n, sizeof(*ends));
	unsigned whole = 0;

	assert_non_null(ends);
	for (unsigned i = 0; i < n; i++) {
		json_t *b = json_pack("{s:s,s:i,s:s}", "op", "scope-digest", "id", (int)i + 1,
				      "scope", "lab");
		uint8_t *f;
		size_t fl;

		assert_int_equal(mgmt_frame_encode(&e->s, MGMT_REQUEST, (uint64_t)time(NULL), b,
						   &f, &fl), 0);
		json_decref(b);
		if (len + fl > cap) {
			uint8_t *na;

			cap = (len + fl) * 2;
			na = realloc(all, cap);
			assert_non_null(na);
			all = na;
		}
		memcpy(all + len, f, fl);
		len += fl;
		ends[i] = len;
		free(f);
	}
	/* Bounded: 2000 tries of 1 ms while the link runs. */
	for (int tries = 0; off < len && tries < 2000; tries++) {
		ssize_t w = write(e->fd, all + off, len - off);

		if (w > 0) {
			off += (size_t)w;
		} else {
			mgmt_link_poll(e->l);
			usleep(1000);
		}
	}
	while (whole < n && ends[whole] <= off) {
		whole++;
	}
	free(ends);
	free(all);
	return whole;
}

static void env_down(struct env *e)
{
	close(e->fd);
	mgmt_link_close(e->l);
	port_fix_drop(&e->port);
	mgmt_session_wipe(&e->s);
	free(e->buf);
	free(e->o.big);
}

/* A partner that never reads: the responder stops taking its requests once an answer is
 * left unwritten, so it answers a bounded number, not all 200 (about 10 MB of answers). */
static void test_partner_that_never_reads(void **state)
{
	struct env e;
	uint8_t type;
	json_t *b;
	unsigned sent;

	(void)state;
	env_up(&e, 4096);
	b = recv_frame(&e, &type);
	assert_non_null(b);
	assert_int_equal(type, MGMT_WELCOME);
	json_decref(b);
	sent = send_requests(&e, 200);
	for (int i = 0; i < 300; i++) {	/* 300 turns of the link, 1 ms apart */
		mgmt_link_poll(e.l);
		usleep(1000);
	}
	if (e.o.requests >= 100) {
		fail_msg("the responder answered %u of %u requests to a partner that reads "
			 "nothing (its write buffer holds them all)", e.o.requests, sent);
	}
	assert_true(e.o.requests >= 1);
	env_down(&e);
}

/* Requests that arrive in one burst are all answered, in order, to a partner that reads
 * (the held ones are taken as soon as the answer before them is written). */
static void test_burst_all_answered(void **state)
{
	struct env e;
	uint8_t type;
	json_t *b;

	(void)state;
	env_up(&e, 0);
	b = recv_frame(&e, &type);
	assert_non_null(b);
	assert_int_equal(type, MGMT_WELCOME);
	json_decref(b);
	assert_int_equal(send_requests(&e, 20), 20);
	for (int i = 1; i <= 20; i++) {
		b = recv_frame(&e, &type);
		assert_non_null(b);
		assert_int_equal(type, MGMT_ANSWER);
		assert_int_equal(json_integer_value(json_object_get(b, "id")), i);
		json_decref(b);
	}
	assert_int_equal(e.o.requests, 20);
	env_down(&e);
}

/* After the handshake, half a frame and then silence: closed within the frame timeout, not
 * left open until the idle one (mgmt_link.h: "a frame half-read ... closes the connection"). */
static void test_half_frame_after_handshake(void **state)
{
	struct env e;
	uint8_t type, *f, byte;
	size_t len;
	json_t *b;
	uint64_t t0, closed_after = 0;

	(void)state;
	env_up(&e, 0);
	mgmt_link_set_timeouts(e.l, 200, 5000);
	b = recv_frame(&e, &type);
	assert_non_null(b);
	assert_int_equal(type, MGMT_WELCOME);
	json_decref(b);
	b = json_pack("{s:s,s:i,s:s}", "op", "scope-digest", "id", 1, "scope", "lab");
	assert_int_equal(mgmt_frame_encode(&e.s, MGMT_REQUEST, (uint64_t)time(NULL), b, &f, &len),
			 0);
	json_decref(b);
	assert_int_equal(write(e.fd, f, len / 2), (ssize_t)(len / 2));
	free(f);
	t0 = now_ms();
	/* Bounded: 2 s of 1 ms turns, well under the 5 s idle bound. */
	while (now_ms() - t0 < 2000) {
		ssize_t r;

		mgmt_link_poll(e.l);
		r = read(e.fd, &byte, 1);
		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			closed_after = now_ms() - t0;
			break;
		}
		usleep(1000);
	}
	if (closed_after == 0) {
		fail_msg("a half-sent frame kept the connection open for 2 s (frame timeout 200 ms)");
	}
	assert_int_equal(e.o.requests, 0);
	env_down(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partner_that_never_reads),
		cmocka_unit_test(test_burst_all_answered),
		cmocka_unit_test(test_half_frame_after_handshake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
