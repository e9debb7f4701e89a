/*
 * mgmt_link.c: the management channel's sockets (contract in mgmt_link.h).
 *
 * Each connection is a small state machine over one struct conn; every transition happens
 * on a whole frame (mgmt_frame_len() delimits it, mgmt_session_recv() checks it). Any
 * error ends the connection the same way: queue a REFUSE naming the reason when the peer
 * may still read it, report a pending request as failed, close once the REFUSE is written
 * (or at the deadline). A request in flight is reported exactly once: conn_end() is the
 * only place that reports a failure, and the answer path clears c->req_id first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "mgmt_link.h"
#include "mgmt_proto.h"

enum conn_state {
	C_FREE = 0,
	C_CONNECTING,		/* initiator: connect() in progress */
	C_WAIT_WELCOME,		/* initiator: HELLO sent */
	C_WAIT_ANSWER,		/* initiator: REQUEST sent */
	C_WAIT_HELLO,		/* responder: accepted */
	C_OPEN,			/* responder: handshake done, serving requests */
	C_CLOSING,		/* writing a last REFUSE, then close */
};

struct conn {
	enum conn_state st;
	int fd;
	bool initiator;
	uint32_t peer;
	struct mgmt_session s;
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint8_t *wbuf;
	size_t wlen, woff;
	uint64_t deadline;	/* monotonic ms */
	json_t *req;		/* initiator: the request to send after WELCOME */
	int64_t req_id;		/* initiator: the request awaiting its outcome; 0 = none */
};

struct mgmt_link {
	int lfd;
	uint32_t addr;
	struct mgmt_link_ops ops;
	struct mgmt_nonce_cache cache;	/* one per listener (mgmt_proto.h) */
	int64_t next_id;
	uint64_t timeout_ms, idle_ms;	/* MGMT_LINK_TIMEOUT_MS, _IDLE_MS (mgmt_link_set_timeouts) */
	struct conn c[MGMT_LINK_MAX_CONN];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static int fresh_nonce(uint8_t n[MGMT_NONCE_LEN])
{
	ssize_t r = getrandom(n, MGMT_NONCE_LEN, GRND_NONBLOCK);

	return r == MGMT_NONCE_LEN ? 0 : -EAGAIN;
}

static struct conn *conn_slot(struct mgmt_link *l)
{
	for (size_t i = 0; i < MGMT_LINK_MAX_CONN; i++) {
		if (l->c[i].st == C_FREE) {
			return &l->c[i];
		}
	}
	return NULL;
}

/* Close now. An initiator's request not yet answered is reported failed with @p why (sent
 * when the REQUEST was written and not refused: its outcome is unknown). */
static void conn_end(struct mgmt_link *l, struct conn *c, const char *why)
{
	int64_t id = c->req_id;
	uint32_t peer = c->peer;
	bool sent = c->st == C_WAIT_ANSWER;

	if (c->fd >= 0) {
		close(c->fd);
	}
	free(c->rbuf);
	free(c->wbuf);
	json_decref(c->req);
	mgmt_session_wipe(&c->s);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (id != 0) {
		l->ops.answer(l->ops.arg, peer, NULL, sent, why != NULL ? why : "connection closed");
	}
}

/* Append one frame to the write buffer. */
static int conn_queue(struct conn *c, uint8_t type, const json_t *body)
{
	uint8_t *f, *nb;
	size_t n;
	int rc = mgmt_frame_encode(&c->s, type, wall_s(), body, &f, &n);

	if (rc != 0) {
		return rc;
	}
	if (c->woff == c->wlen) {
		c->woff = c->wlen = 0;
	}
	nb = realloc(c->wbuf, c->wlen + n);
	if (nb == NULL) {
		free(f);
		return -ENOMEM;
	}
	memcpy(nb + c->wlen, f, n);
	free(f);
	c->wbuf = nb;
	c->wlen += n;
	return 0;
}

/* Tell the peer why we close (it may not read it), then close once written. */
static void conn_refuse(struct mgmt_link *l, struct conn *c, int code, const char *why)
{
	json_t *b = json_pack("{s:s,s:s}", "code", mgmt_err_str(code), "error", why);
	char peer[INET_ADDRSTRLEN];

	snprintf(peer, sizeof(peer), "%s", lw_ip4_fmt(c->peer).s);
	cp_log(CP_LOG_WARN, "event=mgmt-refuse peer=%s code=%s reason=\"%s\"", peer,
	       mgmt_err_str(code), why);
	if (b == NULL || conn_queue(c, MGMT_REFUSE, b) != 0) {
		json_decref(b);
		conn_end(l, c, why);
		return;
	}
	json_decref(b);
	if (c->req_id != 0) {
		c->req_id = 0;
		l->ops.answer(l->ops.arg, c->peer, NULL, c->st == C_WAIT_ANSWER, why);
	}
	c->st = C_CLOSING;
	c->deadline = mono_ms() + l->timeout_ms;
}

struct mgmt_link *mgmt_link_open(uint32_t addr, uint16_t port, const struct mgmt_link_ops *ops,
				 char *err, size_t errlen)
{
	struct mgmt_link *l = calloc(1, sizeof(*l));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(addr)};
	int one = 1;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->ops = *ops;
	l->timeout_ms = MGMT_LINK_TIMEOUT_MS;
	l->idle_ms = MGMT_LINK_IDLE_MS;
	l->addr = addr;
	l->next_id = 1;
	for (size_t i = 0; i < MGMT_LINK_MAX_CONN; i++) {
		l->c[i].fd = -1;
	}
	l->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	(void)setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l->lfd, 16) != 0) {
		snprintf(err, errlen, "listen on %s:%u: %s", lw_ip4_fmt(addr).s, port,
			 strerror(errno));
		goto fail;
	}
	return l;
fail:
	mgmt_link_close(l);
	return NULL;
}

void mgmt_link_close(struct mgmt_link *l)
{
	if (l == NULL) {
		return;
	}
	for (size_t i = 0; i < MGMT_LINK_MAX_CONN; i++) {
		if (l->c[i].st != C_FREE) {
			conn_end(l, &l->c[i], "the management channel closed");
		}
	}
	if (l->lfd >= 0) {
		close(l->lfd);
	}
	free(l);
}

bool mgmt_link_busy(const struct mgmt_link *l, uint32_t peer)
{
	for (size_t i = 0; i < MGMT_LINK_MAX_CONN; i++) {
		const struct conn *c = &l->c[i];

		if (c->st != C_FREE && c->initiator && c->peer == peer && c->req_id != 0) {
			return true;
		}
	}
	return false;
}

int mgmt_link_send(struct mgmt_link *l, uint32_t peer, uint16_t port, json_t *req)
{
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(l->addr)};
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(peer)};
	const char *secret = l->ops.secret(l->ops.arg, peer);
	uint8_t nonce[MGMT_NONCE_LEN];
	struct conn *c;
	int fd, rc;

	if (secret == NULL) {
		json_decref(req);
		return -EPERM;
	}
	if (mgmt_link_busy(l, peer)) {
		json_decref(req);
		return -EBUSY;
	}
	c = conn_slot(l);
	if (c == NULL) {
		json_decref(req);
		return -ENOSPC;
	}
	rc = fresh_nonce(nonce);
	if (rc != 0) {
		json_decref(req);
		return rc;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		json_decref(req);
		return -errno;
	}
	/* From our configured address: the partner matches it against its list. */
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS)) {
		rc = -errno;
		close(fd);
		json_decref(req);
		return rc;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->st = C_CONNECTING;
	c->initiator = true;
	c->peer = peer;
	c->req = req;
	c->req_id = l->next_id++;
	c->deadline = mono_ms() + l->timeout_ms;
	mgmt_session_init(&c->s, true, secret, strlen(secret), nonce);
	return 0;
}

int mgmt_link_fds(const struct mgmt_link *l, struct pollfd *pfd, int max)
{
	int n = 0;

	if (n < max) {
		pfd[n++] = (struct pollfd){.fd = l->lfd, .events = POLLIN};
	}
	for (size_t i = 0; i < MGMT_LINK_MAX_CONN && n < max; i++) {
		const struct conn *c = &l->c[i];

		if (c->st == C_FREE) {
			continue;
		}
		short ev = c->st == C_CONNECTING || c->woff < c->wlen ? POLLOUT : 0;

		/* conn_read(): a responder with answers unwritten reads nothing more */
		if (c->st != C_CONNECTING && c->st != C_CLOSING &&
		    (c->initiator || c->woff == c->wlen)) {
			ev |= POLLIN;
		}
		pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	return n;
}

int mgmt_link_timeout_ms(const struct mgmt_link *l)
{
	uint64_t now = mono_ms(), best = UINT64_MAX;

	for (size_t i = 0; i < MGMT_LINK_MAX_CONN; i++) {
		if (l->c[i].st != C_FREE && l->c[i].deadline < best) {
			best = l->c[i].deadline;
		}
	}
	if (best == UINT64_MAX) {
		return -1;
	}
	return best <= now ? 0 : (int)(best - now);
}

static void do_accept(struct mgmt_link *l)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		uint8_t nonce[MGMT_NONCE_LEN];
		int fd = accept4(l->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		const char *secret;

		if (fd < 0) {
			return;
		}
		c = conn_slot(l);
		if (c == NULL || fresh_nonce(nonce) != 0) {
			cp_log(CP_LOG_WARN, "event=mgmt-refuse peer=%s reason=\"too many "
			       "connections\"", lw_ip4_fmt(ntohl(sa.sin_addr.s_addr)).s);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->peer = ntohl(sa.sin_addr.s_addr);
		c->st = C_WAIT_HELLO;
		c->deadline = mono_ms() + l->timeout_ms;
		secret = l->ops.secret(l->ops.arg, c->peer);
		if (secret == NULL) {
			char why[96];

			/* Signed with a key of nobody's: the peer reports it as unauthenticated. */
			mgmt_session_init(&c->s, false, nonce, sizeof(nonce), nonce);
			snprintf(why, sizeof(why), "%s is not a management partner of this server",
				 lw_ip4_fmt(c->peer).s);
			conn_refuse(l, c, MGMT_E_PEER, why);
			continue;
		}
		mgmt_session_init(&c->s, false, secret, strlen(secret), nonce);
	}
}

/* One whole, checked frame arrived on @p c. */
static void on_frame(struct mgmt_link *l, struct conn *c, struct mgmt_msg *m)
{
	json_t *b = m->body, *ans;
	char why[512];

	if (m->type == MGMT_REFUSE) {
		char code[32], text[256];

		cp_log_esc(code, sizeof(code), json_string_value(json_object_get(b, "code")), 24);
		cp_log_esc(text, sizeof(text), json_string_value(json_object_get(b, "error")), 200);
		snprintf(why, sizeof(why), "refused by the partner%s: %s: %s",
			 m->authentic ? "" : " (unauthenticated)", code, text);
		cp_log(CP_LOG_WARN, "event=mgmt-refused peer=%s reason=\"%s\"",
		       lw_ip4_fmt(c->peer).s, why);
		/* Refused, so not applied: a partner that cannot check a frame refuses it. */
		c->st = C_CLOSING;
		conn_end(l, c, why);
		return;
	}
	switch (m->type) {
	case MGMT_WELCOME:
		if (json_object_set_new(c->req, "id", json_integer(c->req_id)) != 0 ||
		    conn_queue(c, MGMT_REQUEST, c->req) != 0) {
			conn_end(l, c, "out of memory");
			return;
		}
		c->st = C_WAIT_ANSWER;
		break;
	case MGMT_ANSWER:
		if (json_integer_value(json_object_get(b, "id")) != c->req_id) {
			conn_refuse(l, c, MGMT_E_FIELD, "answer to another request");
			return;
		}
		c->req_id = 0;
		l->ops.answer(l->ops.arg, c->peer, b, true, NULL);
		conn_end(l, c, NULL);
		return;
	case MGMT_HELLO:
		ans = mgmt_hello_new(&c->s, NULL);
		if (ans == NULL || conn_queue(c, MGMT_WELCOME, ans) != 0) {
			json_decref(ans);
			conn_end(l, c, NULL);
			return;
		}
		json_decref(ans);
		c->st = C_OPEN;
		break;
	case MGMT_REQUEST:
		ans = l->ops.request(l->ops.arg, c->peer, b);
		if (ans == NULL ||
		    json_object_set_new(ans, "id", json_copy(json_object_get(b, "id"))) != 0 ||
		    conn_queue(c, MGMT_ANSWER, ans) != 0) {
			json_decref(ans);
			conn_end(l, c, NULL);
			return;
		}
		json_decref(ans);
		break;
	default:
		conn_refuse(l, c, MGMT_E_TYPE, "unexpected message");
		return;
	}
	c->deadline = mono_ms() + (c->st == C_OPEN ? l->idle_ms : l->timeout_ms);
}

static void conn_write(struct mgmt_link *l, struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t w = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				conn_end(l, c, strerror(errno));
			}
			return;
		}
		c->woff += (size_t)w;
	}
	if (c->st == C_CLOSING) {
		conn_end(l, c, NULL);
	}
}

/* Read what is there; handle each whole frame. */
static void conn_read(struct mgmt_link *l, struct conn *c)
{
	for (;;) {
		long need;
		size_t want;
		ssize_t r;

		/* Backpressure: a responder takes the next request only once its answers are
		 * written. A partner that sends without reading fills its own socket, never our
		 * write buffer (one answer at most), and the idle deadline, which only a
		 * handled frame moves, then closes the connection. */
		if (!c->initiator && c->woff < c->wlen) {
			conn_write(l, c);
			if (c->st == C_FREE || c->woff < c->wlen) {
				return;
			}
		}
		need = mgmt_frame_len(c->rbuf, c->rlen);

		if (need < 0) {
			conn_refuse(l, c, MGMT_E_LENGTH, "frame length out of bounds");
			return;
		}
		if (need > 0 && c->rlen >= (size_t)need) {
			struct mgmt_msg m;
			char err[256];
			int rc = mgmt_session_recv(&c->s, c->initiator ? NULL : &l->cache, c->rbuf,
						   (size_t)need, wall_s(), &m, err, sizeof(err));

			memmove(c->rbuf, c->rbuf + need, c->rlen - (size_t)need);
			c->rlen -= (size_t)need;
			if (rc != 0) {
				conn_refuse(l, c, rc, err);
				return;
			}
			on_frame(l, c, &m);
			json_decref(m.body);
			if (c->st == C_FREE || c->st == C_CLOSING) {
				return;
			}
			continue;
		}
		want = need > 0 ? (size_t)need : 4;
		if (c->rcap < want) {
			uint8_t *nb = realloc(c->rbuf, want);

			if (nb == NULL) {
				conn_end(l, c, "out of memory");
				return;
			}
			c->rbuf = nb;
			c->rcap = want;
		}
		r = read(c->fd, c->rbuf + c->rlen, want - c->rlen);
		if (r == 0) {
			conn_end(l, c, "the partner closed the connection");
			return;
		}
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				conn_end(l, c, strerror(errno));
			}
			return;
		}
		/* The first bytes of a frame on an open connection: the rest must follow within
		 * the frame timeout, not the idle one (a half-sent frame, mgmt_link.h). */
		if (c->st == C_OPEN && c->rlen == 0) {
			uint64_t d = mono_ms() + l->timeout_ms;

			if (d < c->deadline) {
				c->deadline = d;
			}
		}
		c->rlen += (size_t)r;
	}
}

static void conn_connected(struct mgmt_link *l, struct conn *c)
{
	int e = 0;
	socklen_t el = sizeof(e);
	json_t *h;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) {
		e = errno;
	}
	if (e != 0) {
		char why[160];

		snprintf(why, sizeof(why), "cannot reach the partner: %s", strerror(e));
		conn_end(l, c, why);
		return;
	}
	h = mgmt_hello_new(&c->s, NULL);
	if (h == NULL || conn_queue(c, MGMT_HELLO, h) != 0) {
		json_decref(h);
		conn_end(l, c, "out of memory");
		return;
	}
	json_decref(h);
	c->st = C_WAIT_WELCOME;
	c->deadline = mono_ms() + l->timeout_ms;
}

void mgmt_link_set_timeouts(struct mgmt_link *l, unsigned timeout_ms, unsigned idle_ms)
{
	l->timeout_ms = timeout_ms;
	l->idle_ms = idle_ms;
}

void mgmt_link_poll(struct mgmt_link *l)
{
	struct pollfd pfd[MGMT_LINK_MAX_CONN];
	uint64_t now = mono_ms();

	do_accept(l);
	for (size_t i = 0; i < MGMT_LINK_MAX_CONN; i++) {
		pfd[i] = (struct pollfd){.fd = l->c[i].st == C_FREE ? -1 : l->c[i].fd,
					 .events = POLLIN | POLLOUT};
	}
	if (poll(pfd, MGMT_LINK_MAX_CONN, 0) < 0) {
		return;
	}
	for (size_t i = 0; i < MGMT_LINK_MAX_CONN; i++) {
		struct conn *c = &l->c[i];
		short re = pfd[i].revents;

		if (c->st == C_FREE) {
			continue;
		}
		if (c->st == C_CONNECTING) {
			if (re & (POLLOUT | POLLERR | POLLHUP)) {
				conn_connected(l, c);
			}
		} else if (re & (POLLIN | POLLERR | POLLHUP)) {
			if (c->st == C_CLOSING) {
				conn_write(l, c);
			} else {
				conn_read(l, c);
			}
		}
		if (c->st != C_FREE && c->woff < c->wlen) {
			conn_write(l, c);
			/* Requests read before the answer went out, held by conn_read() */
			if (c->st == C_OPEN && !c->initiator && c->woff == c->wlen &&
			    c->rlen > 0) {
				conn_read(l, c);
			}
		}
		if (c->st != C_FREE && now >= c->deadline) {
			conn_end(l, c, c->st == C_OPEN && c->rlen == 0 && c->woff == c->wlen ?
				 NULL : "timed out (a half-sent message or no answer)");
		}
	}
}
