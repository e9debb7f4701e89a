/*
 * fo_listener: one listening socket for every relationship on an address:port. See
 * fo_listener.h for the contract.
 *
 * Design. A pending connection is read in exact steps: first the 12-byte header, then the
 * rest of the message its length field announces, so nothing past the first whole message is
 * taken from the kernel and the bytes handed to a link are exactly that message. A pending
 * slot is WAIT (reading) or CLOSING (a reject was written, our side is shut down, the
 * partner's bytes are drained until it closes or CLOSE_MS passes, so that closing with unread
 * data does not reset the connection before the reject is read).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fo_listener.h"

#define CLOSE_MS	2000

enum pend_state {
	P_FREE = 0,
	P_WAIT,
	P_CLOSING,
};

struct pend {
	int fd;
	enum pend_state st;
	struct in_addr from;
	uint64_t t_open;
	size_t rlen;		/* bytes of the current message in buf */
	size_t total;		/* bytes read on this connection */
	uint8_t buf[FO_MSG_MAX_LEN];
};

struct fo_listener {
	int lfd;
	uint32_t handshake_ms;
	uint64_t now;
	uint32_t wall;
	struct fo_link *links[FO_LISTENER_MAX_LINKS];
	int n_links;
	struct fo_listener_stats st;
	struct pend p[FO_LISTENER_MAX_PENDING];
};

struct evq {
	struct fo_listener_event *ev;
	int max;
	int n;
};

static void refused(struct evq *q, struct in_addr from, uint8_t rr, const struct fo_msg *m,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void refused(struct evq *q, struct in_addr from, uint8_t rr, const struct fo_msg *m,
		    const char *fmt, ...)
{
	struct fo_listener_event *e;
	va_list ap;

	if (q->n >= q->max) {
		return;
	}
	e = &q->ev[q->n++];
	memset(e, 0, sizeof(*e));
	e->type = FO_LISTENER_REFUSED;
	e->from = from;
	e->reject_reason = rr;
	if (m != NULL && fo_msg_has(m, FO_OPT_RELATIONSHIP_NAME)) {
		size_t n = m->relationship_name.len < FO_LINK_NAME_MAX - 1 ?
				   m->relationship_name.len : FO_LINK_NAME_MAX - 1;

		memcpy(e->name, m->relationship_name.ptr, n);
	}
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

static void pend_close(struct pend *p)
{
	if (p->fd >= 0) {
		close(p->fd);
	}
	p->fd = -1;
	p->st = P_FREE;
	p->rlen = 0;
	p->total = 0;
}

static void set_err(char *err, size_t errlen, const char *what, int e)
{
	if (err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(e));
	}
}

struct fo_listener *fo_listener_new(struct in_addr addr, uint16_t port, uint32_t handshake_ms,
				    char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct fo_listener *ls = calloc(1, sizeof(*ls));
	int one = 1;

	if (ls == NULL) {
		set_err(err, errlen, "failover listener", ENOMEM);
		return NULL;
	}
	for (int i = 0; i < FO_LISTENER_MAX_PENDING; i++) {
		ls->p[i].fd = -1;
	}
	ls->handshake_ms = handshake_ms != 0 ? handshake_ms : FO_LISTENER_HANDSHAKE_MS;
	sa.sin_addr = addr;
	sa.sin_port = htons(port != 0 ? port : FO_PORT);
	ls->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls->lfd < 0) {
		set_err(err, errlen, "failover listener: socket", errno);
		goto fail;
	}
	(void)setsockopt(ls->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		set_err(err, errlen, "failover listener: bind", errno);
		goto fail;
	}
	if (listen(ls->lfd, 16) < 0) {
		set_err(err, errlen, "failover listener: listen", errno);
		goto fail;
	}
	return ls;
fail:
	fo_listener_free(ls);
	return NULL;
}

void fo_listener_free(struct fo_listener *ls)
{
	if (ls == NULL) {
		return;
	}
	for (int i = 0; i < FO_LISTENER_MAX_PENDING; i++) {
		pend_close(&ls->p[i]);
	}
	if (ls->lfd >= 0) {
		close(ls->lfd);
	}
	free(ls);
}

int fo_listener_add(struct fo_listener *ls, struct fo_link *l)
{
	for (int i = 0; i < ls->n_links; i++) {
		if (ls->links[i] == l || strcmp(fo_link_name(ls->links[i]), fo_link_name(l)) == 0) {
			return -EEXIST;
		}
	}
	if (ls->n_links >= FO_LISTENER_MAX_LINKS) {
		return -ENOSPC;
	}
	ls->links[ls->n_links++] = l;
	return 0;
}

void fo_listener_remove(struct fo_listener *ls, struct fo_link *l)
{
	for (int i = 0; i < ls->n_links; i++) {
		if (ls->links[i] == l) {
			ls->links[i] = ls->links[--ls->n_links];
			ls->links[ls->n_links] = NULL;
			return;
		}
	}
}

const struct fo_listener_stats *fo_listener_stats(const struct fo_listener *ls)
{
	return &ls->st;
}

static bool is_partner(const struct fo_link *l, struct in_addr a)
{
	return fo_link_partner_addr(l).s_addr == a.s_addr;
}

/* CONNECTACK reject @p rr with @p text (ISC's layout), then CLOSING. Best effort. */
static void reject(struct fo_listener *ls, struct pend *p, const struct fo_msg *m, uint8_t rr,
		   const char *text)
{
	static const char vendor[] = "leasewire";
	uint8_t out[FO_MSG_MAX_LEN];
	struct fo_msg a;
	int n;

	fo_msg_init(&a, FO_MSG_CONNECTACK, ls->wall, m->xid);
	if (fo_msg_has(m, FO_OPT_RELATIONSHIP_NAME)) {
		a.relationship_name = m->relationship_name;
		a.present |= FO_BIT(FO_OPT_RELATIONSHIP_NAME);
	}
	a.vendor_class = (struct fo_bytes){ (const uint8_t *)vendor, sizeof(vendor) - 1 };
	a.protocol_version = FO_PROTOCOL_VERSION;
	a.tls_reply = FO_TLS_NONE;
	a.reject_reason = rr;
	a.message = (struct fo_bytes){ (const uint8_t *)text, (uint16_t)strlen(text) };
	a.present |= FO_BIT(FO_OPT_VENDOR_CLASS) | FO_BIT(FO_OPT_PROTOCOL_VERSION) |
		     FO_BIT(FO_OPT_TLS_REPLY) | FO_BIT(FO_OPT_REJECT_REASON) |
		     FO_BIT(FO_OPT_MESSAGE);
	n = fo_msg_encode(&a, out, sizeof(out));
	if (n > 0) {
		/* A fresh socket's buffer takes ~100 bytes at once; if not, nothing is lost. */
		(void)!send(p->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	(void)shutdown(p->fd, SHUT_WR);
	p->st = P_CLOSING;
	p->t_open = ls->now;
}

/* The first CONNECT on @p p (decoded as @p m, @p len bytes in p->buf): hand over or refuse. */
static void on_connect(struct fo_listener *ls, struct evq *q, struct pend *p,
		       const struct fo_msg *m, size_t len)
{
	struct fo_link *named = NULL;
	char from[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &p->from, from, sizeof(from));
	if (!fo_msg_has(m, FO_OPT_RELATIONSHIP_NAME)) {
		ls->st.refused_name++;
		refused(q, p->from, FO_RR_INVALID_PARTNER, m, "CONNECT from %s without a "
			"relationship-name", from);
		reject(ls, p, m, FO_RR_INVALID_PARTNER, "missing relationship-name");
		return;
	}
	for (int i = 0; i < ls->n_links; i++) {
		const char *name = fo_link_name(ls->links[i]);

		if (strlen(name) == m->relationship_name.len &&
		    memcmp(name, m->relationship_name.ptr, m->relationship_name.len) == 0) {
			named = ls->links[i];
			break;
		}
	}
	if (named == NULL) {
		ls->st.refused_name++;
		refused(q, p->from, FO_RR_INVALID_PARTNER, m, "CONNECT from %s: unknown failover "
			"relationship name", from);
		reject(ls, p, m, FO_RR_INVALID_PARTNER, "unknown failover relationship name");
		return;
	}
	if (!is_partner(named, p->from)) {
		char want[INET_ADDRSTRLEN];
		struct in_addr pa = fo_link_partner_addr(named);

		inet_ntop(AF_INET, &pa, want, sizeof(want));
		ls->st.refused_addr++;
		refused(q, p->from, FO_RR_INVALID_PARTNER, m, "CONNECT from %s for relationship "
			"%s, whose partner is %s", from, fo_link_name(named), want);
		/* The same words as an unknown name: the name is not confirmed to a stranger. */
		reject(ls, p, m, FO_RR_INVALID_PARTNER, "unknown failover relationship name");
		return;
	}
	if (fo_link_role(named) != FO_LINK_SECONDARY) {
		ls->st.refused_name++;
		refused(q, p->from, FO_RR_INVALID_PARTNER, m, "CONNECT from %s for relationship "
			"%s, where this server is the primary too", from, fo_link_name(named));
		reject(ls, p, m, FO_RR_INVALID_PARTNER, "both servers are primary");
		return;
	}
	if (fo_link_adopt(named, p->fd, p->buf, len, ls->now, ls->wall) != 0) {
		ls->st.refused_busy++;
		refused(q, p->from, 0, m, "CONNECT from %s for relationship %s: no free "
			"connection", from, fo_link_name(named));
		pend_close(p);
		return;
	}
	ls->st.handed++;
	p->fd = -1;	/* the link owns it now */
	pend_close(p);
}

/* Read @p p until its first CONNECT, in exact steps (header, then the announced rest). */
static void pend_read(struct fo_listener *ls, struct evq *q, struct pend *p)
{
	char from[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &p->from, from, sizeof(from));
	while (p->st == P_WAIT) {
		size_t want = FO_MSG_HDR_LEN;
		struct fo_msg m;
		ssize_t n;
		int rc;

		if (p->rlen >= 2) {
			want = (size_t)p->buf[0] << 8 | p->buf[1];
			if (want < FO_MSG_HDR_LEN || want > FO_MSG_MAX_LEN) {
				ls->st.garbage++;
				refused(q, p->from, 0, NULL, "connection from %s: message length "
					"%zu before any CONNECT", from, want);
				pend_close(p);
				return;
			}
		}
		if (p->rlen < want) {
			if (p->total >= FO_LISTENER_READ_MAX) {
				ls->st.garbage++;
				refused(q, p->from, 0, NULL, "connection from %s: %zu bytes and no "
					"CONNECT", from, p->total);
				pend_close(p);
				return;
			}
			n = recv(p->fd, p->buf + p->rlen, want - p->rlen, 0);
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				return;
			}
			if (n <= 0) {
				pend_close(p);	/* gone before a CONNECT: nothing to say */
				return;
			}
			p->rlen += (size_t)n;
			p->total += (size_t)n;
			continue;
		}
		rc = fo_msg_decode(&m, p->buf, want, 0);
		if (rc < 0) {
			ls->st.garbage++;
			refused(q, p->from, 0, NULL, "connection from %s: protocol error: %s", from,
				fo_err_str(rc));
			pend_close(p);
			return;
		}
		if (m.type == FO_MSG_CONNECT) {
			on_connect(ls, q, p, &m, want);
			return;
		}
		p->rlen = 0;	/* ISC ignores e.g. CONTACT before CONNECT */
	}
}

/* Drain a CLOSING connection; close it at EOF, on error, or after CLOSE_MS. */
static void pend_drain(struct pend *p)
{
	uint8_t junk[512];

	for (;;) {
		ssize_t n = recv(p->fd, junk, sizeof(junk), 0);

		if (n > 0) {
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		pend_close(p);
		return;
	}
}

static struct pend *pend_slot(struct fo_listener *ls)
{
	for (int i = 0; i < FO_LISTENER_MAX_PENDING; i++) {
		if (ls->p[i].st == P_FREE) {
			return &ls->p[i];
		}
	}
	return NULL;
}

static void do_accept(struct fo_listener *ls, struct evq *q)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t salen = sizeof(sa);
		bool secondary = false, primary = false, handed = false;
		struct pend *p;
		int fd;

		fd = accept4(ls->lfd, (struct sockaddr *)&sa, &salen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			return;	/* EAGAIN, or EMFILE etc.: try again at the next poll */
		}
		ls->st.accepts++;
		for (int i = 0; i < ls->n_links; i++) {
			if (sa.sin_family == AF_INET && is_partner(ls->links[i], sa.sin_addr)) {
				if (fo_link_role(ls->links[i]) == FO_LINK_SECONDARY) {
					secondary = true;
				} else {
					primary = true;
				}
			}
		}
		if (!secondary && !primary) {
			/* ISC: "failover: listener: no matching state", closed with no message. */
			close(fd);
			ls->st.refused_src++;
			continue;
		}
		if (!secondary) {
			/* The partner is secondary in every relationship with this address: it sends
			 * nothing, the primary speaks first (D12 §8.2). */
			for (int i = 0; i < ls->n_links && !handed; i++) {
				if (is_partner(ls->links[i], sa.sin_addr) &&
				    fo_link_adopt(ls->links[i], fd, NULL, 0, ls->now,
						  ls->wall) == 0) {
					handed = true;
				}
			}
			if (handed) {
				ls->st.handed++;
			} else {
				close(fd);
				ls->st.refused_busy++;
			}
			continue;
		}
		p = pend_slot(ls);
		if (p == NULL) {
			close(fd);
			ls->st.refused_busy++;
			refused(q, sa.sin_addr, 0, NULL, "too many connections waiting for CONNECT");
			continue;
		}
		p->fd = fd;
		p->st = P_WAIT;
		p->from = sa.sin_addr;
		p->t_open = ls->now;
		p->rlen = 0;
		p->total = 0;
	}
}

int fo_listener_fds(const struct fo_listener *ls, struct pollfd *out, int max)
{
	int n = 0;

	if (n < max) {
		out[n].fd = ls->lfd;
		out[n].events = POLLIN;
		out[n].revents = 0;
		n++;
	}
	for (int i = 0; i < FO_LISTENER_MAX_PENDING && n < max; i++) {
		if (ls->p[i].st != P_FREE) {
			out[n].fd = ls->p[i].fd;
			out[n].events = POLLIN;
			out[n].revents = 0;
			n++;
		}
	}
	return n;
}

int fo_listener_timeout_ms(const struct fo_listener *ls, uint64_t now_ms)
{
	int64_t t = 1000;

	for (int i = 0; i < FO_LISTENER_MAX_PENDING; i++) {
		const struct pend *p = &ls->p[i];
		uint64_t end;

		if (p->st == P_FREE) {
			continue;
		}
		end = p->t_open + (p->st == P_WAIT ? ls->handshake_ms : CLOSE_MS);
		if (end <= now_ms) {
			return 0;
		}
		if ((int64_t)(end - now_ms) < t) {
			t = (int64_t)(end - now_ms);
		}
	}
	return (int)t;
}

int fo_listener_poll(struct fo_listener *ls, uint64_t now_ms, uint32_t wall_s,
		     struct fo_listener_event *ev, int max_ev)
{
	struct evq q = { .ev = ev, .max = max_ev > 0 ? max_ev : 0, .n = 0 };
	char from[INET_ADDRSTRLEN];

	ls->now = now_ms;
	ls->wall = wall_s;
	do_accept(ls, &q);
	for (int i = 0; i < FO_LISTENER_MAX_PENDING; i++) {
		struct pend *p = &ls->p[i];

		/* A recv() on a socket with nothing to read costs one EAGAIN: no poll() needed. */
		if (p->st == P_WAIT) {
			pend_read(ls, &q, p);
		} else if (p->st == P_CLOSING) {
			pend_drain(p);
		}
		if (p->st == P_WAIT && now_ms - p->t_open >= ls->handshake_ms) {
			inet_ntop(AF_INET, &p->from, from, sizeof(from));
			ls->st.timeouts++;
			refused(&q, p->from, 0, NULL, "connection from %s: no CONNECT within %u ms",
				from, ls->handshake_ms);
			pend_close(p);
		} else if (p->st == P_CLOSING && now_ms - p->t_open >= CLOSE_MS) {
			pend_close(p);
		}
	}
	return q.n;
}
