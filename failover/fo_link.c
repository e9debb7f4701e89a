/*
 * fo_link: the TCP/647 partner link. See fo_link.h for the contract.
 *
 * Design. A link owns up to FO_LINK_MAX_CONN connections, each in one of four states:
 * CONNECTING (our non-blocking connect in progress), HANDSHAKE (TCP up, waiting for
 * CONNECT or CONNECTACK), UP (at most one at a time: l->up) and CLOSING (a reject or
 * DISCONNECT is queued; closed when written or after CLOSE_LINGER_MS). fo_link_poll() first
 * polls every socket with a zero timeout itself, so it never depends on which revents the
 * caller saw: the caller's poll() is only how it sleeps.
 *
 * A LINK_DOWN can be caused outside fo_link_poll() (fo_link_send() hitting a full send
 * buffer or a write error). It is then kept in l->down_pending and reported by the next
 * fo_link_poll(), first, so events stay in order.
 *
 * Each frame handled may produce up to two events (a LINK_DOWN pending from earlier and an
 * UP), so a frame is read off the buffer only while two event slots are free; otherwise the
 * bytes wait in the read buffer or in the kernel, and TCP throttles the sender.
 *
 * Authentication sits at the two ends: conn_queue() signs every encoded message in the send
 * buffer, and each handler of a received message (on_connect, on_connectack, on_up_msg) calls
 * auth_check() on the raw frame before it looks at anything else. The secret itself is not
 * kept: only the HMAC state with the key absorbed, copied for each message.
 */
#include <errno.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fo_digest.h"
#include "fo_link.h"

/* How long a queued reject or DISCONNECT may take to leave before the socket is closed. */
#define CLOSE_LINGER_MS	2000
#define RBUF_LEN	(2 * FO_MSG_MAX_LEN)
/*
 * Bytes read from one connection per fo_link_poll(). Messages the link swallows (CONTACT
 * before CONNECT, unknown types) take no event slot, so without this a partner flooding them
 * could keep one fo_link_poll() reading for as long as it sends.
 */
#define READ_BUDGET	(16 * FO_MSG_MAX_LEN)

enum conn_state {
	C_FREE = 0,
	C_CONNECTING,
	C_HANDSHAKE,
	C_UP,
	C_CLOSING,
};

struct conn {
	int fd;
	enum conn_state st;
	bool outgoing;
	uint64_t t_open;	/* HANDSHAKE/CLOSING: when the state began */
	uint64_t t_rx;		/* last message received */
	uint64_t t_tx;		/* last message queued */
	uint32_t xid;		/* next xid for fo_link_send() */
	uint32_t rx_xid;	/* secret: last sender-chosen xid received on the up link */
	uint32_t connect_xid;	/* primary: xid of the CONNECT sent (a nonce with a secret) */
	uint32_t partner_rt;	/* partner's receive-timer, 0 if it sent none */
	size_t rlen;
	size_t wlen;
	uint8_t *wbuf;		/* FO_LINK_SNDBUF_MAX bytes */
	uint8_t rbuf[RBUF_LEN];
};

struct fo_link {
	char name[FO_LINK_NAME_MAX];
	size_t name_len;
	char vendor[FO_LINK_VENDOR_MAX];
	enum fo_link_role role;
	struct sockaddr_in local;
	struct sockaddr_in partner;
	uint32_t rt;
	uint32_t max_unacked;
	uint32_t mclt;
	uint8_t hba[FO_HBA_LEN];
	bool has_secret;
	struct fo_digest_key key;	/* keyed with the shared secret (has_secret) */
	bool have_connect_time;	/* secondary, secret: connect_time is set */
	uint32_t connect_time;	/* time field of the last authenticated CONNECT */
	struct fo_link_skew skew;	/* the partner's clock, from every message (fo_link.h) */

	int lfd;
	int up;			/* index of the UP connection, or -1 */
	uint64_t now;		/* now_ms of the last fo_link_poll() */
	uint32_t wall;		/* wall_s of the last fo_link_poll() */
	uint64_t next_connect;
	bool down_pending;
	char down_reason[FO_LINK_REASON_MAX];
	struct fo_link_stats st;
	struct conn c[FO_LINK_MAX_CONN];
};

/* The event array being filled by one fo_link_poll(). */
struct evq {
	struct fo_link_event *ev;
	int max;
	int n;
};

static void set_err(char *err, size_t errlen, const char *what, int e)
{
	if (err != NULL && errlen > 0) {
		if (e != 0) {
			snprintf(err, errlen, "%s: %s", what, strerror(e));
		} else {
			snprintf(err, errlen, "%s", what);
		}
	}
}

static struct fo_link_event *ev_add(struct evq *q, enum fo_link_ev_type type)
{
	struct fo_link_event *e;

	if (q->n >= q->max) {
		return NULL;
	}
	e = &q->ev[q->n++];
	memset(e, 0, offsetof(struct fo_link_event, msg));
	e->type = type;
	return e;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
	}
	c->fd = -1;
	c->st = C_FREE;
	c->rlen = 0;
	c->wlen = 0;
}

/* Close @p c; when it was the up link, remember a LINK_DOWN with @p reason. */
static void conn_fail(struct fo_link *l, struct conn *c, const char *reason)
{
	if (c->st == C_UP) {
		l->up = -1;
		l->down_pending = true;
		snprintf(l->down_reason, sizeof(l->down_reason), "%s", reason);
		/* Reconnect at the next poll, then every FO_LINK_RETRY_MS. */
		l->next_connect = l->now;
	}
	conn_close(c);
}

static void emit_down_pending(struct fo_link *l, struct evq *q)
{
	struct fo_link_event *e;

	if (!l->down_pending) {
		return;
	}
	e = ev_add(q, FO_LINK_DOWN);
	if (e == NULL) {
		return;
	}
	snprintf(e->reason, sizeof(e->reason), "%s", l->down_reason);
	l->down_pending = false;
}

/* Write what the socket takes. @return 0, or a negative errno (the caller fails the conn). */
static int conn_flush(struct conn *c)
{
	size_t off = 0;
	ssize_t n;

	while (off < c->wlen) {
		n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			return -errno;
		}
		off += (size_t)n;
	}
	if (off > 0) {
		memmove(c->wbuf, c->wbuf + off, c->wlen - off);
		c->wlen -= off;
	}
	return 0;
}

/*
 * Encode @p m at the end of the send buffer and write. @return 0, -ENOBUFS (buffer full), an
 * FO_E_* encode error, or a negative errno from the socket. The conn is left to the caller.
 */
static int conn_queue(struct fo_link *l, struct conn *c, const struct fo_msg *m)
{
	static const uint8_t placeholder[FO_DIGEST_DATA_MAX];
	uint8_t *out = c->wbuf + c->wlen;
	struct fo_msg sm;
	int n;

	if (l->has_secret) {
		sm = *m;
		sm.digest = (struct fo_bytes){ placeholder,
					       (uint16_t)(1 + fo_digest_mac_len(l->key.type)) };
		sm.present |= FO_BIT(FO_OPT_MESSAGE_DIGEST);
		m = &sm;
	}
	n = fo_msg_encode(m, out, FO_LINK_SNDBUF_MAX - c->wlen);
	if (n == FO_E_NOSPACE) {
		return -ENOBUFS;
	}
	if (n < 0) {
		return n;
	}
	if (l->has_secret) {
		/* Cannot fail: the encoder has just written a digest option of the right size. */
		int rc = fo_digest_key_sign(out, (size_t)n, &l->key);

		if (rc < 0) {
			return rc;
		}
	}
	c->wlen += (size_t)n;
	c->t_tx = l->now;
	l->st.tx_msgs++;
	return conn_flush(c);
}

/* Queue a handshake or closing message; on failure close the (not up) conn quietly. */
static void conn_queue_or_close(struct fo_link *l, struct conn *c, const struct fo_msg *m)
{
	if (conn_queue(l, c, m) < 0) {
		conn_fail(l, c, "write failed");
	}
}

static void set_bytes(struct fo_msg *m, unsigned int code, struct fo_bytes *b, const void *p,
		      size_t len)
{
	b->ptr = p;
	b->len = (uint16_t)len;
	m->present |= FO_BIT(code);
}

static void set_u32(struct fo_msg *m, unsigned int code, uint32_t *f, uint32_t v)
{
	*f = v;
	m->present |= FO_BIT(code);
}

static void set_u8(struct fo_msg *m, unsigned int code, uint8_t *f, uint8_t v)
{
	*f = v;
	m->present |= FO_BIT(code);
}

/* A non-zero xid no earlier handshake predicts (getrandom; the clock as a last resort). */
static uint32_t connect_nonce(void)
{
	uint32_t x = 0;
	struct timespec ts;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u;
	}
	return x != 0 ? x : 1;
}

static void handshake_start(struct fo_link *l, struct conn *c)
{
	struct fo_msg m;

	c->st = C_HANDSHAKE;
	c->t_open = l->now;
	c->t_rx = l->now;
	c->t_tx = l->now;
	if (l->role != FO_LINK_PRIMARY) {
		return;
	}
	/*
	 * ISC sends CONNECT with xid 0 and this option order (README §4). With a secret the xid
	 * is a fresh random nonce instead: the CONNECTACK must echo it (D12 §6.1), so a
	 * CONNECTACK recorded from an earlier session cannot complete this handshake.
	 */
	c->connect_xid = l->has_secret ? connect_nonce() : 0;
	fo_msg_init(&m, FO_MSG_CONNECT, l->wall, c->connect_xid);
	set_bytes(&m, FO_OPT_RELATIONSHIP_NAME, &m.relationship_name, l->name, l->name_len);
	set_u32(&m, FO_OPT_MAX_UNACKED, &m.max_unacked, l->max_unacked);
	set_u32(&m, FO_OPT_RECEIVE_TIMER, &m.receive_timer, l->rt);
	set_bytes(&m, FO_OPT_VENDOR_CLASS, &m.vendor_class, l->vendor, strlen(l->vendor));
	set_u8(&m, FO_OPT_PROTOCOL_VERSION, &m.protocol_version, FO_PROTOCOL_VERSION);
	set_u8(&m, FO_OPT_TLS_REQUEST, &m.tls_request, FO_TLS_NONE);
	set_u32(&m, FO_OPT_MCLT, &m.mclt, l->mclt);
	set_bytes(&m, FO_OPT_HBA, &m.hba, l->hba, FO_HBA_LEN);
	conn_queue_or_close(l, c, &m);
}

static struct conn *conn_slot(struct fo_link *l)
{
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		if (l->c[i].st == C_FREE) {
			return &l->c[i];
		}
	}
	return NULL;
}

static bool have_outgoing(const struct fo_link *l)
{
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		const struct conn *c = &l->c[i];

		if (c->st != C_FREE && c->outgoing && c->st != C_CLOSING) {
			return true;
		}
	}
	return false;
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* Best effort: small messages, latency matters more than segments. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void do_accept(struct fo_link *l)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t salen = sizeof(sa);
		struct conn *c;
		int fd;

		fd = accept4(l->lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			return; /* EAGAIN, or EMFILE etc.: try again at the next poll */
		}
		if (sa.sin_family != AF_INET ||
		    sa.sin_addr.s_addr != l->partner.sin_addr.s_addr) {
			/* ISC: "failover: listener: no matching state", closed with no message. */
			close(fd);
			l->st.refused_src++;
			continue;
		}
		c = conn_slot(l);
		if (c == NULL || (l->role == FO_LINK_PRIMARY && l->up >= 0)) {
			close(fd);
			l->st.refused_dup++;
			continue;
		}
		l->st.accepts++;
		set_nodelay(fd);
		c->fd = fd;
		c->outgoing = false;
		c->rlen = 0;
		c->wlen = 0;
		handshake_start(l, c);
	}
}

static void do_connect(struct fo_link *l)
{
	struct conn *c;
	struct sockaddr_in src;
	int fd;

	c = conn_slot(l);
	if (c == NULL) {
		return;
	}
	l->st.connects++;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return;
	}
	/* From our configured address: the partner accepts only that source (as ISC). */
	src = l->local;
	src.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		close(fd);
		return;
	}
	set_nodelay(fd);
	c->fd = fd;
	c->outgoing = true;
	c->rlen = 0;
	c->wlen = 0;
	if (connect(fd, (struct sockaddr *)&l->partner, sizeof(l->partner)) == 0) {
		handshake_start(l, c);
		return;
	}
	if (errno != EINPROGRESS) {
		conn_close(c);
		return;
	}
	c->st = C_CONNECTING;
	c->t_open = l->now;
}

static void close_others(struct fo_link *l, struct conn *keep)
{
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		struct conn *c = &l->c[i];

		if (c != keep && (c->st == C_CONNECTING || c->st == C_HANDSHAKE)) {
			conn_close(c);
			l->st.refused_dup++;
		}
	}
}

/*
 * Every accepted message's time against our wall clock (issue 12 item 6). Out of sync begins
 * beyond FO_LINK_MAX_SKEW and ends within FO_LINK_SKEW_CLEAR: the gap keeps a partner sitting
 * near one minute (its time is whole seconds, plus the transit) from raising an alarm on
 * every other message. Nothing else changes: the link stays up.
 */
static void skew_check(struct fo_link *l, const struct fo_msg *m)
{
	int64_t d = (int64_t)m->time - (int64_t)l->wall;
	int64_t a = d < 0 ? -d : d;
	struct fo_link_skew *k = &l->skew;

	k->skew = d > INT32_MAX ? INT32_MAX : d < INT32_MIN ? INT32_MIN : (int32_t)d;
	if (!k->out_of_sync && a > FO_LINK_MAX_SKEW) {
		k->out_of_sync = true;
		k->episodes++;
		k->worst = k->skew;
	} else if (k->out_of_sync && a <= FO_LINK_SKEW_CLEAR) {
		k->out_of_sync = false;
	} else if (k->out_of_sync && a > (k->worst < 0 ? -(int64_t)k->worst : k->worst)) {
		k->worst = k->skew;
	}
}

/*
 * A BNDUPD received while the clocks are out of sync: BNDACK with reject-reason 4 (time
 * mismatch too great) for its address, and the caller never sees it (fo_link.h says why 4).
 * @return false when the conn failed (send buffer full).
 */
static bool skew_reject(struct fo_link *l, struct conn *c, const struct fo_msg *m)
{
	struct fo_msg a;
	char text[96];

	snprintf(text, sizeof(text), "time mismatch too great: partner clock %+d s from ours",
		 (int)l->skew.skew);
	fo_msg_init(&a, FO_MSG_BNDACK, l->wall, m->xid);
	if (fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS)) {
		set_u32(&a, FO_OPT_ASSIGNED_IP_ADDRESS, &a.assigned_addr, m->assigned_addr);
	}
	set_u8(&a, FO_OPT_REJECT_REASON, &a.reject_reason, FO_RR_TIMEMISMATCH);
	set_bytes(&a, FO_OPT_MESSAGE, &a.message, text, strlen(text));
	l->skew.rejected++;
	if (conn_queue(l, c, &a) < 0) {
		conn_fail(l, c, "send buffer full: failover peer not reading");
		return false;
	}
	return true;
}

static void link_up(struct fo_link *l, struct evq *q, struct conn *c, const struct fo_msg *m)
{
	struct fo_link_event *e;

	emit_down_pending(l, q);
	c->st = C_UP;
	c->xid = 1;
	c->rx_xid = 0;
	c->partner_rt = fo_msg_has(m, FO_OPT_RECEIVE_TIMER) ? m->receive_timer : 0;
	l->up = (int)(c - l->c);
	close_others(l, c);
	e = ev_add(q, FO_LINK_UP);
	if (e == NULL) {
		return; /* cannot happen: two slots are free before each frame */
	}
	e->partner_receive_timer = c->partner_rt;
	e->partner_max_unacked = fo_msg_has(m, FO_OPT_MAX_UNACKED) ? m->max_unacked : 0;
	if (l->role == FO_LINK_SECONDARY) {
		e->partner_mclt = m->mclt;
		e->partner_has_hba = true;
		memcpy(e->partner_hba, m->hba.ptr, FO_HBA_LEN);
	}
	skew_check(l, m);
	e->skew = l->skew.skew;
	snprintf(e->reason, sizeof(e->reason), "%.*s", (int)m->vendor_class.len,
		 m->vendor_class.ptr != NULL ? (const char *)m->vendor_class.ptr : "");
}

static void rejected(struct evq *q, bool local, uint8_t reason, const char *text,
		     size_t text_len)
{
	struct fo_link_event *e = ev_add(q, FO_LINK_REJECTED);

	if (e == NULL) {
		return;
	}
	e->local = local;
	e->reject_reason = reason;
	if (text != NULL && text_len > 0) {
		snprintf(e->reason, sizeof(e->reason), "%.*s", (int)text_len, text);
	} else {
		snprintf(e->reason, sizeof(e->reason), "%s", fo_reject_reason_str(reason));
	}
}

static bool name_matches(const struct fo_link *l, const struct fo_msg *m)
{
	return fo_msg_has(m, FO_OPT_RELATIONSHIP_NAME) && m->relationship_name.len == l->name_len &&
	       memcmp(m->relationship_name.ptr, l->name, l->name_len) == 0;
}

/*
 * D12 §11.1 on the received frame @p raw (@p len bytes, decoded as @p m).
 * @return 0 when it may be acted on; else the reject-reason, with its text in @p text.
 */
static uint8_t auth_check(struct fo_link *l, const struct fo_msg *m, const uint8_t *raw,
			  size_t len, char *text, size_t text_len)
{
	uint8_t rr;
	int rc;

	if (!l->has_secret) {
		if (!fo_msg_has(m, FO_OPT_MESSAGE_DIGEST)) {
			return 0;
		}
		rr = FO_RR_DIGEST_UNCONFIGURED;
		snprintf(text, text_len, "message digest not configured");
		goto bad;
	}
	rc = fo_digest_key_verify(raw, len, &l->key);
	if (rc == 0) {
		return 0;
	}
	if (rc == FO_DIGEST_E_MISSING) {
		rr = FO_RR_IP_MISSING_DIGEST;
		snprintf(text, text_len, "message digest missing");
	} else if (rc == FO_DIGEST_E_TYPE && m->digest.len >= 1 &&
		   m->digest.ptr[0] != l->key.type) {
		/*
		 * The other algorithm (a partner configured for it), or Windows' type 2: one
		 * relationship takes one algorithm, so the type itself is what we refuse.
		 */
		rr = FO_RR_DIGEST_UNSUPPORTED;
		snprintf(text, text_len, "message digest type %u not supported (%s only)",
			 m->digest.ptr[0], fo_digest_type_str(l->key.type));
	} else {
		rr = FO_RR_IP_DIGEST_FAILURE;
		snprintf(text, text_len, "message digest failed to compare");
	}
bad:
	l->st.auth_failed++;
	return rr;
}

/* True when @p type carries an xid its sender chose (D12 §6.1): the ones §11.1 must see grow. */
static bool xid_is_senders(unsigned int type)
{
	switch (type) {
	case FO_MSG_POOLREQ:
	case FO_MSG_BNDUPD:
	case FO_MSG_CONNECT:
	case FO_MSG_UPDREQALL:
	case FO_MSG_UPDREQ:
	case FO_MSG_STATE:
	case FO_MSG_CONTACT:
	case FO_MSG_DISCONNECT:
		return true;
	default:
		return false;
	}
}

static uint32_t next_xid(struct conn *c)
{
	uint32_t x = c->xid++;

	if (c->xid == 0) {
		c->xid = 1;
	}
	return x;
}

/*
 * Drop the up link @p c: DISCONNECT with @p rr and @p text when @p rr is not 0 (best effort:
 * what the socket takes now), then close and report LINK_DOWN with @p down_reason.
 */
static void up_drop(struct fo_link *l, struct conn *c, uint8_t rr, const char *text,
		    const char *down_reason)
{
	if (rr != 0) {
		struct fo_msg m;

		fo_msg_init(&m, FO_MSG_DISCONNECT, l->wall, next_xid(c));
		set_u8(&m, FO_OPT_REJECT_REASON, &m.reject_reason, rr);
		if (text != NULL) {
			set_bytes(&m, FO_OPT_MESSAGE, &m.message, text, strlen(text));
		}
		(void)conn_queue(l, c, &m);
	}
	conn_fail(l, c, down_reason);
}

/* Secondary: a CONNECT on @p c (HANDSHAKE). Answer CONNECTACK, accepting or rejecting. */
static void on_connect(struct fo_link *l, struct evq *q, struct conn *c, const struct fo_msg *m,
		       const uint8_t *raw, size_t len)
{
	struct fo_msg a;
	char atext[FO_LINK_REASON_MAX];
	uint8_t rr;
	const char *text = NULL;
	bool name_ok = name_matches(l, m);

	/* Authentication before anything else; then ISC's order: name, then the rest. */
	rr = auth_check(l, m, raw, len, atext, sizeof(atext));
	if (rr != 0) {
		text = atext;
	} else if (!fo_msg_has(m, FO_OPT_RELATIONSHIP_NAME)) {
		rr = FO_RR_INVALID_PARTNER;
		text = "missing relationship-name";
	} else if (!name_ok) {
		rr = FO_RR_INVALID_PARTNER;
		text = "unknown failover relationship name";
	} else if (l->up >= 0) {
		rr = FO_RR_DUP_CONNECTION;
		text = "already connected";
	} else if (l->has_secret && l->have_connect_time &&
		   (int32_t)(m->time - l->connect_time) <= 0) {
		/* D12 §11.1: a CONNECT not later than the last one is a replay. */
		rr = FO_RR_MISC_REJECT;
		text = "CONNECT time not after the previous CONNECT (replayed?)";
		l->st.replayed++;
	} else {
		if (l->has_secret) {
			/* Authenticated, ours, not a duplicate nor a replay: keep its time. */
			l->connect_time = m->time;
			l->have_connect_time = true;
		}
		/* No skew refusal here: skew is flagged, not refused (link_up(), fo_link.h). */
		if (!fo_msg_has(m, FO_OPT_HBA) || m->hba.len != FO_HBA_LEN) {
			rr = FO_RR_HBA_CONFLICT;
			text = "invalid HBA";
		} else if (!fo_msg_has(m, FO_OPT_MCLT)) {
			rr = FO_RR_INVALID_MCLT;
			text = "no MCLT provided";
		}
	}

	/* ISC's CONNECTACK layout (README §4): the name received, limits only if it matched. */
	fo_msg_init(&a, FO_MSG_CONNECTACK, l->wall, m->xid);
	if (fo_msg_has(m, FO_OPT_RELATIONSHIP_NAME)) {
		set_bytes(&a, FO_OPT_RELATIONSHIP_NAME, &a.relationship_name,
			  m->relationship_name.ptr, m->relationship_name.len);
	}
	if (name_ok) {
		set_u32(&a, FO_OPT_MAX_UNACKED, &a.max_unacked, l->max_unacked);
		set_u32(&a, FO_OPT_RECEIVE_TIMER, &a.receive_timer, l->rt);
	}
	set_bytes(&a, FO_OPT_VENDOR_CLASS, &a.vendor_class, l->vendor, strlen(l->vendor));
	set_u8(&a, FO_OPT_PROTOCOL_VERSION, &a.protocol_version, FO_PROTOCOL_VERSION);
	set_u8(&a, FO_OPT_TLS_REPLY, &a.tls_reply, FO_TLS_NONE);
	if (rr != 0) {
		set_u8(&a, FO_OPT_REJECT_REASON, &a.reject_reason, rr);
		set_bytes(&a, FO_OPT_MESSAGE, &a.message, text, strlen(text));
		conn_queue_or_close(l, c, &a);
		if (rr == FO_RR_DUP_CONNECTION) {
			l->st.refused_dup++;
		} else {
			rejected(q, true, rr, text, strlen(text));
		}
		if (c->st != C_FREE) {
			c->st = C_CLOSING;
			c->t_open = l->now;
		}
		return;
	}
	conn_queue_or_close(l, c, &a);
	if (c->st != C_FREE) {
		link_up(l, q, c, m);
	}
}

/* Primary: a CONNECTACK on @p c (HANDSHAKE). */
static void on_connectack(struct fo_link *l, struct evq *q, struct conn *c,
			  const struct fo_msg *m, const uint8_t *raw, size_t len)
{
	struct fo_msg d;
	char text[FO_LINK_REASON_MAX];
	uint8_t rr = 0;

	if (fo_msg_has(m, FO_OPT_REJECT_REASON)) {
		bool other = false;

		for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
			if (&l->c[i] != c && l->c[i].st == C_HANDSHAKE) {
				other = true;
			}
		}
		conn_close(c);
		if (m->reject_reason == FO_RR_DUP_CONNECTION && (other || l->up >= 0)) {
			/* Our other connection is the one the partner took. */
			l->st.refused_dup++;
			return;
		}
		rejected(q, false, m->reject_reason, (const char *)m->message.ptr,
			 fo_msg_has(m, FO_OPT_MESSAGE) ? m->message.len : 0);
		l->next_connect = l->now + FO_LINK_RETRY_MS;
		return;
	}
	/* A reject above is reported unauthenticated (fo_link.h); anything else must pass. */
	rr = auth_check(l, m, raw, len, text, sizeof(text));
	if (rr != 0) {
		/* Refused: @c text says why. */
	} else if (!name_matches(l, m)) {
		rr = FO_RR_INVALID_PARTNER;
		snprintf(text, sizeof(text),
			 "remote failover relationship name %.*s does not match",
			 (int)m->relationship_name.len,
			 m->relationship_name.ptr != NULL ? (const char *)m->relationship_name.ptr :
							    "");
	} else if (l->has_secret && m->xid != c->connect_xid) {
		/* Not the answer to this CONNECT: an old CONNECTACK replayed. */
		rr = FO_RR_MISC_REJECT;
		snprintf(text, sizeof(text),
			 "CONNECTACK xid %u does not answer CONNECT xid %u (replayed?)", m->xid,
			 c->connect_xid);
		l->st.replayed++;
	}
	if (rr != 0) {
		fo_msg_init(&d, FO_MSG_DISCONNECT, l->wall, c->xid);
		set_u8(&d, FO_OPT_REJECT_REASON, &d.reject_reason, rr);
		set_bytes(&d, FO_OPT_MESSAGE, &d.message, text, strlen(text));
		conn_queue_or_close(l, c, &d);
		if (c->st != C_FREE) {
			c->st = C_CLOSING;
			c->t_open = l->now;
		}
		rejected(q, true, rr, text, strlen(text));
		l->next_connect = l->now + FO_LINK_RETRY_MS;
		return;
	}
	link_up(l, q, c, m);
}

/* One decoded message from the up link other than the handshake: a DISCONNECT or an event. */
static void on_up_msg(struct fo_link *l, struct evq *q, struct conn *c, const struct fo_msg *m,
		      const uint8_t *raw, size_t len)
{
	struct fo_link_event *e;
	char text[FO_LINK_REASON_MAX];
	char why[FO_LINK_REASON_MAX];
	char atext[80];
	uint8_t rr;

	rr = auth_check(l, m, raw, len, atext, sizeof(atext));
	if (rr != 0) {
		snprintf(why, sizeof(why), "%s: %s xid %u", atext, fo_msg_type_str(m->type),
			 m->xid);
		up_drop(l, c, rr, atext, why);
		return;
	}
	if (l->has_secret && xid_is_senders(m->type)) {
		if ((int32_t)(m->xid - c->rx_xid) <= 0) {
			snprintf(why, sizeof(why),
				 "replayed message: %s xid %u not greater than the previous xid %u",
				 fo_msg_type_str(m->type), m->xid, c->rx_xid);
			l->st.replayed++;
			up_drop(l, c, FO_RR_MISC_REJECT, why, why);
			return;
		}
		c->rx_xid = m->xid;
	}
	if (m->type == FO_MSG_DISCONNECT) {
		snprintf(text, sizeof(text), "failover peer disconnected: %s%s%.*s",
			 fo_msg_has(m, FO_OPT_REJECT_REASON) ?
				 fo_reject_reason_str(m->reject_reason) : "no reason",
			 fo_msg_has(m, FO_OPT_MESSAGE) ? ": " : "",
			 fo_msg_has(m, FO_OPT_MESSAGE) ? (int)m->message.len : 0,
			 fo_msg_has(m, FO_OPT_MESSAGE) ? (const char *)m->message.ptr : "");
		conn_fail(l, c, text);
		return;
	}
	if (m->type == FO_MSG_CONNECT || m->type == FO_MSG_CONNECTACK) {
		l->st.ignored++;
		return;
	}
	skew_check(l, m);
	if (m->type == FO_MSG_BNDUPD && l->skew.out_of_sync) {
		(void)skew_reject(l, c, m);
		return;
	}
	e = ev_add(q, FO_LINK_MESSAGE);
	if (e == NULL) {
		return; /* cannot happen: the caller checked for room */
	}
	e->skew = l->skew.skew;
	memcpy(e->raw, raw, len);
	/* Same bytes, same result: decode again so the views point into the event. */
	if (fo_msg_decode(&e->msg, e->raw, len, 0) != FO_OK) {
		q->n--;
	}
}

/*
 * Handle the complete frames in c->rbuf while the event array has two free slots.
 * @return false when the conn was closed.
 */
static bool conn_frames(struct fo_link *l, struct evq *q, struct conn *c)
{
	while (q->max - q->n >= 2 && c->st != C_FREE) {
		struct fo_msg m;
		char text[FO_LINK_REASON_MAX];
		int fl;
		int rc;

		fl = fo_frame_len(c->rbuf, c->rlen, FO_MSG_MAX_LEN);
		rc = fl;
		if (fl == 0) {
			return true;
		}
		m.err_opt = 0;	/* named in the message below whatever the decoder got to */
		if (fl > 0) {
			rc = fo_msg_decode(&m, c->rbuf, (size_t)fl, 0);
		}
		if (rc < 0) {
			if (rc == FO_E_OPT_SIZE || rc == FO_E_OPT_DUP || rc == FO_E_MSG_TYPE) {
				snprintf(text, sizeof(text), "protocol error: %s (option %s)",
					 fo_err_str(rc), fo_opt_str(m.err_opt));
			} else {
				snprintf(text, sizeof(text), "protocol error: %s", fo_err_str(rc));
			}
			conn_fail(l, c, text);
			return false;
		}
		c->t_rx = l->now;
		l->st.rx_msgs++;
		if (!fo_msg_type_known(m.type) || c->st == C_CLOSING) {
			l->st.ignored++;
		} else if (c->st == C_UP) {
			on_up_msg(l, q, c, &m, c->rbuf, (size_t)fl);
		} else if (l->role == FO_LINK_SECONDARY && m.type == FO_MSG_CONNECT) {
			on_connect(l, q, c, &m, c->rbuf, (size_t)fl);
		} else if (l->role == FO_LINK_PRIMARY && m.type == FO_MSG_CONNECTACK) {
			on_connectack(l, q, c, &m, c->rbuf, (size_t)fl);
		} else {
			/* ISC ignores e.g. CONTACT before CONNECT. */
			l->st.ignored++;
		}
		if (c->st == C_FREE) {
			return false;
		}
		memmove(c->rbuf, c->rbuf + fl, c->rlen - (size_t)fl);
		c->rlen -= (size_t)fl;
	}
	return true;
}

static void conn_read(struct fo_link *l, struct evq *q, struct conn *c)
{
	char text[FO_LINK_REASON_MAX];
	size_t budget = READ_BUDGET;

	while (c->st != C_FREE && q->max - q->n >= 2) {
		ssize_t n;

		if (!conn_frames(l, q, c)) {
			return;
		}
		if (q->max - q->n < 2 || c->rlen >= RBUF_LEN || budget == 0) {
			return;
		}
		n = recv(c->fd, c->rbuf + c->rlen,
			 RBUF_LEN - c->rlen < budget ? RBUF_LEN - c->rlen : budget, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				return;
			}
			snprintf(text, sizeof(text), "read from failover peer: %s",
				 strerror(errno));
			conn_fail(l, c, text);
			return;
		}
		if (n == 0) {
			conn_fail(l, c, "failover peer closed the connection");
			return;
		}
		c->rlen += (size_t)n;
		budget -= (size_t)n;
	}
}

static uint32_t send_interval_ms(const struct fo_link *l, const struct conn *c)
{
	uint32_t rt = c->partner_rt != 0 ? c->partner_rt : l->rt;
	uint64_t ms = (uint64_t)rt * 1000 / 3;

	return ms > 0 ? (uint32_t)ms : 1;
}

static void conn_timers(struct fo_link *l, struct conn *c)
{
	uint64_t rt_ms = (uint64_t)l->rt * 1000;
	struct fo_msg m;
	char text[FO_LINK_REASON_MAX];
	int rc;

	switch (c->st) {
	case C_CONNECTING:
		/* The kernel gives up on its own; do not let a SYN hang past one retry period. */
		if (l->now - c->t_open >= FO_LINK_RETRY_MS) {
			conn_close(c);
		}
		break;
	case C_HANDSHAKE:
		if (l->now - c->t_open >= rt_ms) {
			/* ISC: "failover: link startup timeout". */
			conn_close(c);
			l->st.startup_timeouts++;
		}
		break;
	case C_CLOSING:
		if (c->wlen == 0 || l->now - c->t_open >= CLOSE_LINGER_MS) {
			conn_close(c);
		}
		break;
	case C_UP:
		if (l->now - c->t_rx >= rt_ms) {
			conn_fail(l, c, "timeout waiting for failover peer");
			break;
		}
		if (l->now - c->t_tx >= send_interval_ms(l, c)) {
			fo_msg_init(&m, FO_MSG_CONTACT, l->wall, next_xid(c));
			rc = conn_queue(l, c, &m);
			if (rc < 0) {
				snprintf(text, sizeof(text), "send CONTACT: %s",
					 rc == -ENOBUFS ? "send buffer full" : strerror(-rc));
				conn_fail(l, c, text);
			}
		}
		break;
	case C_FREE:
		break;
	}
}

/* Connect completion of @p c after the zero-timeout poll said it is writable or failed. */
static void conn_connected(struct fo_link *l, struct conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
		conn_close(c);
		return;
	}
	if (l->up >= 0) {
		conn_close(c);
		l->st.refused_dup++;
		return;
	}
	handshake_start(l, c);
}

static short conn_events(const struct conn *c)
{
	if (c->st == C_CONNECTING) {
		return POLLOUT;
	}
	return (short)(POLLIN | (c->wlen > 0 ? POLLOUT : 0));
}

int fo_link_fds(const struct fo_link *l, struct pollfd *out, int max)
{
	int n = 0;

	if (n < max && l->lfd >= 0) {
		out[n].fd = l->lfd;
		out[n].events = POLLIN;
		out[n].revents = 0;
		n++;
	}
	for (int i = 0; i < FO_LINK_MAX_CONN && n < max; i++) {
		const struct conn *c = &l->c[i];

		if (c->st == C_FREE) {
			continue;
		}
		out[n].fd = c->fd;
		out[n].events = conn_events(c);
		out[n].revents = 0;
		n++;
	}
	return n;
}

static int64_t until(uint64_t deadline, uint64_t now)
{
	return deadline > now ? (int64_t)(deadline - now) : 0;
}

int fo_link_timeout_ms(const struct fo_link *l, uint64_t now_ms)
{
	int64_t t = FO_LINK_RETRY_MS;
	int64_t d;

	if (l->down_pending) {
		return 0;
	}
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		if (l->c[i].st == C_HANDSHAKE && l->c[i].rlen > 0) {
			return 0;	/* an adopted CONNECT waits to be handled */
		}
	}
	if (l->up < 0 && !have_outgoing(l)) {
		d = until(l->next_connect, now_ms);
		t = d < t ? d : t;
	}
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		const struct conn *c = &l->c[i];
		uint64_t rt_ms = (uint64_t)l->rt * 1000;

		switch (c->st) {
		case C_CONNECTING:
			d = until(c->t_open + FO_LINK_RETRY_MS, now_ms);
			break;
		case C_HANDSHAKE:
			d = until(c->t_open + rt_ms, now_ms);
			break;
		case C_CLOSING:
			d = until(c->t_open + CLOSE_LINGER_MS, now_ms);
			break;
		case C_UP:
			d = until(c->t_rx + rt_ms, now_ms);
			if (until(c->t_tx + send_interval_ms(l, c), now_ms) < d) {
				d = until(c->t_tx + send_interval_ms(l, c), now_ms);
			}
			break;
		default:
			continue;
		}
		t = d < t ? d : t;
	}
	return (int)t;
}

int fo_link_poll(struct fo_link *l, uint64_t now_ms, uint32_t wall_s,
		 struct fo_link_event *ev, int max_ev)
{
	struct evq q = { .ev = ev, .max = max_ev, .n = 0 };
	struct pollfd pfd[FO_LINK_MAX_CONN + 1];
	int idx[FO_LINK_MAX_CONN + 1];
	int n = 0;

	if (max_ev < 2) {
		return 0;
	}
	l->now = now_ms;
	l->wall = wall_s;
	emit_down_pending(l, &q);

	if (l->lfd >= 0) {
		pfd[n].fd = l->lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
	}
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		if (l->c[i].st != C_FREE) {
			pfd[n].fd = l->c[i].fd;
			pfd[n].events = conn_events(&l->c[i]);
			idx[n++] = i;
		}
	}
	if (poll(pfd, (nfds_t)n, 0) < 0) {
		n = 0; /* EINTR: nothing is known to be ready; the timers still run */
	}
	for (int k = 0; k < n; k++) {
		struct conn *c;
		int rc;

		if (pfd[k].revents == 0) {
			continue;
		}
		if (idx[k] < 0) {
			do_accept(l);
			continue;
		}
		c = &l->c[idx[k]];
		if (c->fd != pfd[k].fd) {
			continue; /* closed (and maybe reused) since the poll */
		}
		if (c->st == C_CONNECTING) {
			conn_connected(l, c);
			continue;
		}
		if (c->wlen > 0) {
			rc = conn_flush(c);
			if (rc < 0) {
				conn_fail(l, c, "write to failover peer failed");
				continue;
			}
		}
		conn_read(l, &q, c);
	}
	/* Frames left in a buffer by a full event array on an earlier call. */
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		struct conn *c = &l->c[i];

		if (c->st != C_FREE && c->st != C_CONNECTING && c->rlen > 0) {
			(void)conn_frames(l, &q, c);
		}
	}
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		conn_timers(l, &l->c[i]);
	}
	if (l->up < 0 && !have_outgoing(l) && now_ms >= l->next_connect) {
		l->next_connect = now_ms + FO_LINK_RETRY_MS;
		do_connect(l);
	}
	emit_down_pending(l, &q);
	return q.n;
}

static int send_common(struct fo_link *l, struct fo_msg *m, bool own_xid, uint32_t xid)
{
	struct conn *c;
	int rc;

	if (l->up < 0) {
		return -ENOTCONN;
	}
	if (m->type == FO_MSG_CONNECT || m->type == FO_MSG_CONNECTACK) {
		return -EINVAL;
	}
	c = &l->c[l->up];
	m->time = l->wall;
	if (own_xid) {
		m->xid = xid;
	} else {
		m->xid = next_xid(c);
	}
	rc = conn_queue(l, c, m);
	if (rc == -ENOBUFS) {
		conn_fail(l, c, "send buffer full: failover peer not reading");
	} else if (rc < 0 && rc > -1000) {
		char text[FO_LINK_REASON_MAX];

		snprintf(text, sizeof(text), "write to failover peer: %s", strerror(-rc));
		conn_fail(l, c, text);
	}
	return rc;
}

int fo_link_send(struct fo_link *l, struct fo_msg *m)
{
	return send_common(l, m, false, 0);
}

int fo_link_send_xid(struct fo_link *l, struct fo_msg *m, uint32_t xid)
{
	return send_common(l, m, true, xid);
}

void fo_link_disconnect(struct fo_link *l, uint8_t reject_reason, const char *text)
{
	struct conn *c;

	if (l->up < 0) {
		return;
	}
	c = &l->c[l->up];
	up_drop(l, c, reject_reason, text, text != NULL ? text : "disconnected");
}

bool fo_link_is_up(const struct fo_link *l)
{
	return l->up >= 0;
}

const struct fo_link_stats *fo_link_stats(const struct fo_link *l)
{
	return &l->st;
}

int fo_link_adopt(struct fo_link *l, int fd, const uint8_t *buf, size_t len, uint64_t now_ms,
		  uint32_t wall_s)
{
	struct conn *c;

	if (len > RBUF_LEN || (len > 0 && buf == NULL)) {
		return -EINVAL;
	}
	if (now_ms > l->now) {
		l->now = now_ms;
	}
	if (wall_s > l->wall) {
		l->wall = wall_s;
	}
	c = conn_slot(l);
	if (c == NULL || (l->role == FO_LINK_PRIMARY && l->up >= 0)) {
		l->st.refused_dup++;
		return -EBUSY;
	}
	l->st.accepts++;
	set_nodelay(fd);
	c->fd = fd;
	c->outgoing = false;
	c->wlen = 0;
	if (len > 0) {
		memcpy(c->rbuf, buf, len);
	}
	c->rlen = len;
	handshake_start(l, c);
	return 0;
}

const char *fo_link_name(const struct fo_link *l)
{
	return l->name;
}

enum fo_link_role fo_link_role(const struct fo_link *l)
{
	return l->role;
}

struct in_addr fo_link_partner_addr(const struct fo_link *l)
{
	return l->partner.sin_addr;
}

void fo_link_skew(const struct fo_link *l, struct fo_link_skew *out)
{
	*out = l->skew;
}

struct fo_link *fo_link_new(const struct fo_link_cfg *cfg, char *err, size_t errlen)
{
	struct fo_link *l = NULL;
	int one = 1;
	size_t len;

	if (cfg == NULL || cfg->name == NULL) {
		set_err(err, errlen, "failover link: no relationship name", 0);
		goto fail;
	}
	len = strlen(cfg->name);
	if (len == 0 || len >= FO_LINK_NAME_MAX) {
		set_err(err, errlen, "failover link: relationship name empty or too long", 0);
		goto fail;
	}
	if (cfg->vendor_class != NULL && strlen(cfg->vendor_class) >= FO_LINK_VENDOR_MAX) {
		set_err(err, errlen, "failover link: vendor class too long", 0);
		goto fail;
	}
	if (cfg->shared_secret != NULL && strlen(cfg->shared_secret) >= FO_LINK_SECRET_MAX) {
		set_err(err, errlen, "failover link: shared secret too long", 0);
		goto fail;
	}
	if (cfg->digest != 0 && fo_digest_mac_len(cfg->digest) == 0) {
		set_err(err, errlen, "failover link: unknown message digest type", 0);
		goto fail;
	}
	if (cfg->receive_timer == 0 || cfg->max_unacked == 0 ||
	    (cfg->role != FO_LINK_PRIMARY && cfg->role != FO_LINK_SECONDARY)) {
		set_err(err, errlen,
			"failover link: receive-timer, max-unacked and role needed", 0);
		goto fail;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		set_err(err, errlen, "failover link", ENOMEM);
		goto fail;
	}
	l->lfd = -1;
	l->up = -1;
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		l->c[i].fd = -1;
	}
	memcpy(l->name, cfg->name, len);
	l->name_len = len;
	snprintf(l->vendor, sizeof(l->vendor), "%s",
		 cfg->vendor_class != NULL ? cfg->vendor_class : "leasewire");
	l->role = cfg->role;
	l->local.sin_family = AF_INET;
	l->local.sin_addr = cfg->local_addr;
	l->local.sin_port = htons(cfg->local_port != 0 ? cfg->local_port : FO_PORT);
	l->partner.sin_family = AF_INET;
	l->partner.sin_addr = cfg->partner_addr;
	l->partner.sin_port = htons(cfg->partner_port != 0 ? cfg->partner_port : FO_PORT);
	l->rt = cfg->receive_timer;
	l->max_unacked = cfg->max_unacked;
	l->mclt = cfg->mclt;
	memcpy(l->hba, cfg->hba, FO_HBA_LEN);
	if (cfg->shared_secret != NULL && cfg->shared_secret[0] != '\0') {
		/* Cannot fail: cfg->digest was checked above. */
		if (fo_digest_key_init(&l->key, cfg->digest != 0 ? cfg->digest : FO_DIGEST_HMAC_MD5,
				       cfg->shared_secret, strlen(cfg->shared_secret)) != 0) {
			set_err(err, errlen, "failover link: unknown message digest type", 0);
			goto fail;
		}
		l->has_secret = true;
	}
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		l->c[i].wbuf = malloc(FO_LINK_SNDBUF_MAX);
		if (l->c[i].wbuf == NULL) {
			set_err(err, errlen, "failover link", ENOMEM);
			goto fail;
		}
	}
	if (cfg->shared_listener) {
		return l;	/* connections come from fo_link_adopt() */
	}
	l->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->lfd < 0) {
		set_err(err, errlen, "failover link: socket", errno);
		goto fail;
	}
	(void)setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->lfd, (struct sockaddr *)&l->local, sizeof(l->local)) < 0) {
		set_err(err, errlen, "failover link: bind", errno);
		goto fail;
	}
	if (listen(l->lfd, 8) < 0) {
		set_err(err, errlen, "failover link: listen", errno);
		goto fail;
	}
	return l;
fail:
	fo_link_free(l);
	return NULL;
}

void fo_link_free(struct fo_link *l)
{
	if (l == NULL) {
		return;
	}
	for (int i = 0; i < FO_LINK_MAX_CONN; i++) {
		conn_close(&l->c[i]);
		free(l->c[i].wbuf);
	}
	if (l->lfd >= 0) {
		close(l->lfd);
	}
	fo_digest_wipe(&l->key, sizeof(l->key));
	free(l);
}
