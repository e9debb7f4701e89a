/*
 * The client population and its poll loop (the design is described at the top of
 * lwbench.c). One lcore, one RX and one TX queue, no allocation after start-up.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "fmt.h"
#include "lwb_gen.h"
#include "lwb_wire.h"

#define BURST		32
#define TX_MAX		(4 * BURST)
#define STASH		64
#define NIL		UINT32_MAX

/* A client's place in its session. Every state but IDLE waits for a reply (or a timeout)
 * and has the client on the waiting list. */
enum cstate {
	C_IDLE = 0,
	C_SELECTING,		/* DISCOVER sent, waiting for an OFFER */
	C_REQUESTING,		/* REQUEST (option 50 + 54) sent, waiting for the ACK */
	C_RENEWING,		/* REQUEST with ciaddr sent, waiting for the ACK */
};

/* What the client holds at the end of its last session (for --leases-out). */
enum clease { L_NONE = 0, L_BOUND, L_RELEASED };

/* 32 bytes: 10 M clients take 320 MB. */
struct client {
	uint32_t addr;		/* offered, then bound address */
	uint32_t server_id;	/* option 54 of the OFFER (else its IP source) */
	uint32_t prev, next;	/* the waiting list, oldest transmission first */
	uint64_t t_sent;	/* TSC of the last transmission */
	uint32_t bound;		/* the address the DORA's ACK gave */
	uint8_t state;		/* enum cstate */
	uint8_t lease;		/* enum clease */
	uint8_t seq;		/* xid sequence of the current exchange */
	uint8_t tries;		/* transmissions of the current message */
	uint8_t renews_left;
	uint8_t pad[3];
};

/* Counters: one set for the run, one per report interval (same layout, summed). */
struct ctr {
	uint64_t started;	/* sessions started (the offered load) */
	uint64_t blocked;	/* rate mode: a session was due but the window was full */
	uint64_t discovers, requests, renews, releases;	/* first transmissions */
	uint64_t retransmits;
	uint64_t offers, dora_ok, renew_ok, renew_same, naks;
	uint64_t ack_addr_differs;	/* ACK yiaddr != the offered address */
	uint64_t timeouts;	/* exchanges given up after the last retry */
	uint64_t tx_full, nombuf;	/* frames not sent (the exchange then times out) */
	uint64_t tx_held;	/* refusals by the port's ring (the frame went on a later turn) */
	uint64_t rx, rx_bad, rx_foreign, rx_stale, rx_dup, rx_unexpected, arp_replies;
	uint64_t sessions_done;	/* ended by their last step (not by a timeout or NAK) */
	uint64_t idle_waits;	/* idle back-offs (idle_wait) */
	uint64_t rx_partial;	/* frames the port marked L4 NONE (a peer's partial checksum) */
};

struct gen {
	const struct lwb_opts *o;
	struct rte_mempool *mp;
	struct client *c;
	uint32_t head, tail;		/* waiting list */
	uint32_t in_flight;		/* sessions not IDLE */
	uint32_t cursor;		/* next client to start */
	uint64_t hz, timeout_tsc;
	double ns_per_tick;
	uint8_t port_mac[6];
	uint8_t server_mac[6];
	bool server_mac_known;
	struct rte_mbuf **tx;		/* [txq]: frames for the port, oldest first */
	unsigned ntx, txq;
	uint64_t queued;		/* frames built (client_send, arp_answer): idle test */
	struct rte_mbuf *stash[STASH];
	unsigned nstash;
	struct ctr tot, iv;
	struct lwb_hist h_do, h_ra, h_rn;	/* interval histograms */
	struct lwb_hist t_do, t_ra, t_rn;	/* totals */
	struct lwb_place place;
};

volatile sig_atomic_t lwb_quit;

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* --- the waiting list: O(1) push at the tail, unlink anywhere, oldest at the head ----- */

static void wl_unlink(struct gen *g, uint32_t i)
{
	struct client *c = &g->c[i];

	if (c->prev != NIL) {
		g->c[c->prev].next = c->next;
	} else {
		g->head = c->next;
	}
	if (c->next != NIL) {
		g->c[c->next].prev = c->prev;
	} else {
		g->tail = c->prev;
	}
	c->prev = c->next = NIL;
}

static void wl_push(struct gen *g, uint32_t i)
{
	struct client *c = &g->c[i];

	c->prev = g->tail;
	c->next = NIL;
	if (g->tail != NIL) {
		g->c[g->tail].next = i;
	} else {
		g->head = i;
	}
	g->tail = i;
}

/* --- transmit ----------------------------------------------------------------------- */

/* Hand the queued frames to the port. What its ring does not take (the peer has not emptied
 * it yet) stays queued for the next turn, in order, and no session starts until it has gone:
 * the generator waits for the transport instead of losing frames to its own ring, which
 * would show up as timeouts charged to the server. */
static void tx_flush(struct gen *g)
{
	uint16_t n;

	if (g->ntx == 0) {
		return;
	}
	n = rte_eth_tx_burst(g->o->port, 0, g->tx, (uint16_t)(g->ntx > UINT16_MAX ? UINT16_MAX : g->ntx));
	if (unlikely(n < g->ntx)) {
		g->iv.tx_held += g->ntx - n;
		memmove(g->tx, g->tx + n, (g->ntx - n) * sizeof(struct rte_mbuf *));
	}
	g->ntx -= n;
}

/* Queue @p m for the port, flushing every TX_MAX frames. The queue holds a window of frames
 * and more (each session has one message out at a time, a RELEASE ends it): a frame that
 * finds it full anyway is lost and counted, and its exchange times out. */
static void tx_queue(struct gen *g, struct rte_mbuf *m)
{
	if (g->ntx != 0 && g->ntx % TX_MAX == 0) {
		tx_flush(g);
	}
	if (g->ntx == g->txq) {
		tx_flush(g);
		if (g->ntx == g->txq) {
			g->iv.tx_full++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	g->tx[g->ntx++] = m;
}

static struct rte_mbuf *mbuf_get(struct gen *g)
{
	if (unlikely(g->nstash == 0)) {
		if (rte_pktmbuf_alloc_bulk(g->mp, g->stash, STASH) != 0) {
			g->iv.nombuf++;
			return NULL;
		}
		g->nstash = STASH;
	}
	return g->stash[--g->nstash];
}

/* Build and queue the message client @p i's state calls for; put it on the waiting list
 * (a message that is not sent for lack of mbufs or TX room simply times out). */
static void client_send(struct gen *g, uint32_t i, uint64_t now)
{
	const struct lwb_opts *o = g->o;
	struct client *c = &g->c[i];
	struct lwb_req r;
	struct rte_mbuf *m;

	g->queued++;
	memset(&r, 0, sizeof(r));
	r.index = o->first_client + i;
	r.xid = lwb_xid(r.index, c->seq);
	r.client_id = o->client_id;
	r.sport = LWB_PORT_CLIENT;
	r.dport = LWB_PORT_SERVER;
	if (c->state == C_RENEWING) {
		/* RENEWING (RFC 2131 4.4.5): unicast from the client's address straight to the
		 * server that bound it, relayed or not. */
		r.type = LWB_REQUEST;
		r.ciaddr = c->bound;
		lwb_chaddr(r.index, r.src_mac);
		memcpy(r.dst_mac, g->server_mac_known ? g->server_mac : bcast, 6);
		r.ip_src = c->bound;
		r.ip_dst = c->server_id;
	} else {
		r.type = c->state == C_SELECTING ? LWB_DISCOVER : LWB_REQUEST;
		if (c->state == C_REQUESTING) {
			r.requested_ip = c->addr;
			r.server_id = c->server_id;
		}
		r.broadcast = o->broadcast;
		if (o->relay) {
			r.giaddr = o->relay;
			r.opt82 = o->opt82;
			r.sport = LWB_PORT_SERVER;
			memcpy(r.src_mac, g->port_mac, 6);
			memcpy(r.dst_mac, g->server_mac_known ? g->server_mac : bcast, 6);
			r.ip_src = o->relay;
			r.ip_dst = o->server_ip;
		} else {
			lwb_chaddr(r.index, r.src_mac);
			memcpy(r.dst_mac, bcast, 6);
			r.ip_src = 0;
			r.ip_dst = UINT32_MAX;
		}
	}
	c->t_sent = now;
	wl_push(g, i);
	m = mbuf_get(g);
	if (m == NULL) {
		return;
	}
	r.csum_offload = o->csum_offload;
	m->data_len = m->pkt_len = (uint32_t)lwb_build(rte_pktmbuf_mtod(m, uint8_t *), &r);
	if (o->csum_offload) {
		lwb_tx_csum_offload(m);
	}
	tx_queue(g, m);
}

/* A RELEASE expects no answer: sent once, the session ends with it. */
static void client_release(struct gen *g, uint32_t i)
{
	struct client *c = &g->c[i];
	struct lwb_req r;
	struct rte_mbuf *m;

	memset(&r, 0, sizeof(r));
	r.type = LWB_RELEASE;
	r.index = g->o->first_client + i;
	r.xid = lwb_xid(r.index, ++c->seq);
	r.client_id = g->o->client_id;
	r.ciaddr = c->bound;
	r.server_id = c->server_id;
	lwb_chaddr(r.index, r.src_mac);
	memcpy(r.dst_mac, g->server_mac_known ? g->server_mac : bcast, 6);
	r.ip_src = c->bound;
	r.ip_dst = c->server_id;
	r.sport = LWB_PORT_CLIENT;
	r.dport = LWB_PORT_SERVER;
	c->lease = L_RELEASED;
	g->iv.releases++;
	m = mbuf_get(g);
	if (m == NULL) {
		return;
	}
	r.csum_offload = g->o->csum_offload;
	m->data_len = m->pkt_len = (uint32_t)lwb_build(rte_pktmbuf_mtod(m, uint8_t *), &r);
	if (g->o->csum_offload) {
		lwb_tx_csum_offload(m);
	}
	tx_queue(g, m);
}

static void session_end(struct gen *g, struct client *c, bool done)
{
	c->state = C_IDLE;
	g->in_flight--;
	if (done) {
		g->iv.sessions_done++;
	}
}

/* After an ACK: the next renewal, the release, or the end of the session. */
static void client_next(struct gen *g, uint32_t i, uint64_t now)
{
	struct client *c = &g->c[i];

	if (c->renews_left > 0) {
		c->renews_left--;
		c->state = C_RENEWING;
		c->seq++;
		c->tries = 1;
		g->iv.renews++;
		client_send(g, i, now);
		return;
	}
	if (g->o->release) {
		client_release(g, i);
	}
	session_end(g, c, true);
}

static void session_start(struct gen *g, uint32_t i, uint64_t now)
{
	struct client *c = &g->c[i];

	c->state = C_SELECTING;
	c->seq++;
	c->tries = 1;
	c->renews_left = (uint8_t)(g->o->renews > 255 ? 255 : g->o->renews);
	c->addr = c->server_id = 0;
	g->in_flight++;
	g->iv.started++;
	g->iv.discovers++;
	client_send(g, i, now);
}

/* --- receive ------------------------------------------------------------------------ */

/* A received frame @p buf of @p len bytes; @p l4: what the port said of its UDP checksum
 * (NONE: a server on the same host left the sum to be done; --check-csum checks its seed). */
static void on_reply(struct gen *g, const uint8_t *buf, size_t len, enum lwb_rx_l4 l4,
		     uint64_t now)
{
	struct lwb_reply r;
	struct client *c;
	uint32_t i;
	uint64_t ns;

	g->iv.rx_partial += l4 == LWB_RX_L4_NONE;
	if (lwb_parse_rx(buf, len, g->o->check_csum, l4, &r) != 0) {
		g->iv.rx_bad++;
		return;
	}
	/* Ours: a reply whose chaddr and xid name the same client of our population. */
	if (r.op != 2 || !r.chaddr_ours || r.index != lwb_xid_index(r.xid) ||
	    r.index - g->o->first_client >= g->o->clients) {
		g->iv.rx_foreign++;
		return;
	}
	i = r.index - g->o->first_client;
	c = &g->c[i];
	if (lwb_xid_seq(r.xid) != c->seq || c->state == C_IDLE) {
		g->iv.rx_stale++;	/* a late reply to an exchange already answered or lost */
		return;
	}
	if (unlikely(!g->server_mac_known)) {
		memcpy(g->server_mac, r.src_mac, 6);
		g->server_mac_known = true;
	}
	ns = (uint64_t)((double)(now - c->t_sent) * g->ns_per_tick);
	switch (r.type) {
	case LWB_OFFER:
		if (c->state == C_REQUESTING) {
			g->iv.rx_dup++;	/* a second OFFER: our DISCOVER was retransmitted */
			return;
		}
		if (c->state != C_SELECTING) {
			break;
		}
		wl_unlink(g, i);
		lwb_hist_add(&g->h_do, ns);
		g->iv.offers++;
		c->addr = r.yiaddr;
		c->server_id = r.server_id ? r.server_id : r.ip_src;
		c->state = C_REQUESTING;	/* same xid as the DISCOVER (RFC 2131 4.4.1) */
		c->tries = 1;
		g->iv.requests++;
		client_send(g, i, now);
		return;
	case LWB_ACK:
		if (c->state == C_REQUESTING) {
			wl_unlink(g, i);
			lwb_hist_add(&g->h_ra, ns);
			g->iv.dora_ok++;
			if (r.yiaddr != c->addr) {
				g->iv.ack_addr_differs++;
			}
			c->bound = r.yiaddr;
			c->lease = L_BOUND;
			client_next(g, i, now);
			return;
		}
		if (c->state == C_RENEWING) {
			wl_unlink(g, i);
			lwb_hist_add(&g->h_rn, ns);
			g->iv.renew_ok++;
			if (r.yiaddr == c->bound) {
				g->iv.renew_same++;
			}
			client_next(g, i, now);
			return;
		}
		break;
	case LWB_NAK:
		if (c->state == C_REQUESTING || c->state == C_RENEWING) {
			wl_unlink(g, i);
			g->iv.naks++;
			c->lease = L_NONE;
			session_end(g, c, false);
			return;
		}
		break;
	default:
		break;
	}
	g->iv.rx_unexpected++;
}

/* ARP from a kernel-socket server resolving the relay or a client: answer with a copy (the
 * received mbuf goes back with the burst). */
static void arp_answer(struct gen *g, const uint8_t *p, size_t len)
{
	struct rte_mbuf *m;
	size_t n;

	if (!g->o->answer_arp || len > 128) {
		g->iv.rx_bad++;
		return;
	}
	g->queued++;
	m = mbuf_get(g);
	if (m == NULL) {
		return;
	}
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), p, len);
	n = lwb_arp_reply(rte_pktmbuf_mtod(m, uint8_t *), len, g->port_mac);
	if (n == 0) {
		rte_pktmbuf_free(m);
		g->iv.rx_bad++;
		return;
	}
	m->data_len = m->pkt_len = (uint32_t)(n < 60 ? 60 : n);
	if (n < 60) {
		memset(rte_pktmbuf_mtod_offset(m, uint8_t *, n), 0, 60 - n);
	}
	g->iv.arp_replies++;
	tx_queue(g, m);
}

/* Exchanges whose last transmission is older than the timeout: send again, or give up. */
static void expire(struct gen *g, uint64_t now)
{
	unsigned n = 0;

	while (g->head != NIL && n < BURST && now - g->c[g->head].t_sent > g->timeout_tsc) {
		uint32_t i = g->head;
		struct client *c = &g->c[i];

		wl_unlink(g, i);
		n++;
		if (c->tries <= g->o->retries) {
			c->tries++;
			g->iv.retransmits++;
			client_send(g, i, now);
		} else {
			g->iv.timeouts++;
			if (c->state == C_RENEWING) {
				c->lease = L_NONE;
			}
			session_end(g, c, false);
		}
	}
}

/* --- reports ------------------------------------------------------------------------ */

static void ctr_add(struct ctr *to, const struct ctr *from)
{
	const uint64_t *f = (const uint64_t *)from;
	uint64_t *t = (uint64_t *)to;

	for (size_t k = 0; k < sizeof(*to) / sizeof(uint64_t); k++) {
		t[k] += f[k];
	}
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void print_lat(FILE *f, const char *name, const struct lwb_hist *h)
{
	if (h->count == 0) {
		return;
	}
	fprintf(f, " | %s us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f", name,
		us(lwb_hist_quantile(h, 0.5)), us(lwb_hist_quantile(h, 0.9)),
		us(lwb_hist_quantile(h, 0.99)), us(lwb_hist_quantile(h, 0.999)));
}

void lwb_print_lat_json(FILE *f, const char *name, const struct lwb_hist *h)
{
	fprintf(f, "\"%s\": {\"count\": %" PRIu64 ", \"p50\": %.3f, \"p90\": %.3f, "
		"\"p99\": %.3f, \"p99.9\": %.3f, \"max\": %.3f, \"mean\": %.3f}", name, h->count,
		us(lwb_hist_quantile(h, 0.5)), us(lwb_hist_quantile(h, 0.9)),
		us(lwb_hist_quantile(h, 0.99)), us(lwb_hist_quantile(h, 0.999)),
		us(h->count ? h->max : 0), h->count ? us(h->sum / h->count) : 0.0);
}

static void report_interval(struct gen *g, double dt, double t)
{
	FILE *f = g->o->json ? stderr : stdout;
	const struct ctr *v = &g->iv;

	g->place.cpu = sched_getcpu();
	if (!g->o->quiet && dt > 0) {
		fprintf(f, "[lcore %u cpu %d] t=%5.1fs offered %.0f/s DORA %.0f/s", g->place.lcore,
			g->place.cpu, t, (double)v->started / dt, (double)v->dora_ok / dt);
		if (g->o->ceiling > 0) {
			fprintf(f, " (%.1f%% of ceiling)",
				100.0 * (double)v->dora_ok / dt / g->o->ceiling);
		}
		fprintf(f, " renew %.0f/s release %.0f/s nak %" PRIu64 " timeout %" PRIu64
			" retrans %" PRIu64 " txfull %" PRIu64 " inflight %u",
			(double)v->renew_ok / dt,
			(double)v->releases / dt, v->naks, v->timeouts, v->retransmits, v->tx_full,
			g->in_flight);
		print_lat(f, "D->O", &g->h_do);
		print_lat(f, "R->A", &g->h_ra);
		print_lat(f, "renew", &g->h_rn);
		fputc('\n', f);
		fflush(f);
	}
	ctr_add(&g->tot, &g->iv);
	memset(&g->iv, 0, sizeof(g->iv));
	lwb_hist_merge(&g->t_do, &g->h_do);
	lwb_hist_merge(&g->t_ra, &g->h_ra);
	lwb_hist_merge(&g->t_rn, &g->h_rn);
	lwb_hist_reset(&g->h_do);
	lwb_hist_reset(&g->h_ra);
	lwb_hist_reset(&g->h_rn);
}

static void report_final(struct gen *g, double run_s, uint64_t dora_in_run, double total_s)
{
	const struct lwb_opts *o = g->o;
	const struct ctr *v = &g->tot;
	double rate = run_s > 0 ? (double)dora_in_run / run_s : 0;
	uint64_t bound = 0, released = 0;

	for (uint32_t i = 0; i < o->clients; i++) {
		bound += g->c[i].lease == L_BOUND;
		released += g->c[i].lease == L_RELEASED;
	}
	if (!o->json) {
		printf("[lcore %u cpu %d] total: %.2f s (%.2f s starting sessions), sessions %"
		       PRIu64 " started, %" PRIu64 " done; DORA %" PRIu64 " (%.0f/s",
		       g->place.lcore, g->place.cpu, total_s, run_s, v->started, v->sessions_done,
		       v->dora_ok, rate);
		if (o->ceiling > 0) {
			printf(", %.1f%% of ceiling %.0f/s", 100.0 * rate / o->ceiling, o->ceiling);
		}
		printf("), renewals %" PRIu64 " ACKed (%" PRIu64 " same address), releases %" PRIu64
		       ", NAKs %" PRIu64 ", timeouts %" PRIu64 ", retransmits %" PRIu64
		       ", tx full %" PRIu64 ", no mbuf %" PRIu64 ", rx %" PRIu64 " (bad %" PRIu64
		       ", foreign %" PRIu64 ", stale %" PRIu64 ", duplicate %" PRIu64
		       ", unexpected %" PRIu64 ")\n",
		       v->renew_ok, v->renew_same, v->releases, v->naks, v->timeouts,
		       v->retransmits, v->tx_full, v->nombuf, v->rx, v->rx_bad, v->rx_foreign,
		       v->rx_stale, v->rx_dup, v->rx_unexpected);
		printf("[lcore %u cpu %d] latency", g->place.lcore, g->place.cpu);
		print_lat(stdout, "DISCOVER->OFFER", &g->t_do);
		print_lat(stdout, "REQUEST->ACK", &g->t_ra);
		print_lat(stdout, "renew REQUEST->ACK", &g->t_rn);
		printf("\n");
		return;
	}
	printf("{\"mode\": \"generate\", \"label\": \"%s\", \"lcore\": %u, \"cpu\": %d, "
	       "\"clients\": %u, \"first_client\": %u, \"relayed\": %s, \"client_id\": %s, "
	       "\"window\": %u, \"rate_asked\": %.0f, \"seconds_total\": %.3f, "
	       "\"seconds_run\": %.3f, ", o->label ? o->label : "", g->place.lcore, g->place.cpu,
	       o->clients, o->first_client, o->relay ? "true" : "false",
	       o->client_id ? "true" : "false", o->window, o->rate, total_s, run_s);
	printf("\"sessions_started\": %" PRIu64 ", \"sessions_done\": %" PRIu64
	       ", \"blocked\": %" PRIu64 ", \"discovers\": %" PRIu64 ", \"offers\": %" PRIu64
	       ", \"requests\": %" PRIu64 ", \"dora_completed\": %" PRIu64
	       ", \"ack_addr_differs\": %" PRIu64 ", \"renews\": %" PRIu64
	       ", \"renew_acked\": %" PRIu64 ", \"renew_same_addr\": %" PRIu64
	       ", \"releases\": %" PRIu64 ", \"naks\": %" PRIu64 ", \"timeouts\": %" PRIu64
	       ", \"retransmits\": %" PRIu64 ", \"tx_full\": %" PRIu64
	       ", \"tx_held\": %" PRIu64 ", \"nombuf\": %" PRIu64
	       ", \"rx\": %" PRIu64 ", \"rx_bad\": %" PRIu64 ", \"rx_foreign\": %" PRIu64
	       ", \"rx_stale\": %" PRIu64 ", \"rx_dup\": %" PRIu64 ", \"rx_unexpected\": %" PRIu64
	       ", \"arp_replies\": %" PRIu64 ", \"clients_bound\": %" PRIu64
	       ", \"clients_released\": %" PRIu64 ", \"idle_polls\": %u, \"idle_sleep_us\": %u"
	       ", \"idle_waits\": %" PRIu64 ", \"csum_offload\": %s, \"rx_partial\": %" PRIu64
	       ", ",
	       v->started, v->sessions_done, v->blocked, v->discovers, v->offers, v->requests,
	       v->dora_ok, v->ack_addr_differs, v->renews, v->renew_ok, v->renew_same,
	       v->releases, v->naks, v->timeouts, v->retransmits, v->tx_full, v->tx_held,
	       v->nombuf, v->rx, v->rx_bad, v->rx_foreign, v->rx_stale, v->rx_dup, v->rx_unexpected,
	       v->arp_replies, bound, released, o->idle_polls, o->idle_sleep_us, v->idle_waits,
	       o->csum_offload ? "true" : "false", v->rx_partial);
	printf("\"dora_per_s\": %.1f, \"ceiling_per_s\": %.1f, \"fraction_of_ceiling\": %.4f, ",
	       rate, o->ceiling, o->ceiling > 0 ? rate / o->ceiling : 0.0);
	printf("\"latency_us\": {");
	lwb_print_lat_json(stdout, "discover_offer", &g->t_do);
	printf(", ");
	lwb_print_lat_json(stdout, "request_ack", &g->t_ra);
	printf(", ");
	lwb_print_lat_json(stdout, "renew_ack", &g->t_rn);
	printf("}}\n");
}

static int write_leases(const struct gen *g, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "leasewire-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < g->o->clients; i++) {
		const struct client *c = &g->c[i];
		uint8_t mac[6];

		if (c->lease == L_NONE) {
			continue;
		}
		lwb_chaddr(g->o->first_client + i, mac);
		fprintf(f, "%u %02x:%02x:%02x:%02x:%02x:%02x %s %s\n", g->o->first_client + i,
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], lw_ip4_fmt(c->bound).s,
			c->lease == L_BOUND ? "bound" : "released");
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* --- the loop ----------------------------------------------------------------------- */

/*
 * Nothing came in and nothing went out for o->idle_polls turns in a row: give the CPU away
 * for a moment (sched_yield, or a sleep of o->idle_sleep_us), so that whatever shares this
 * CPU with the generator (on a 2-core machine: the server's control thread and committer)
 * runs instead of our empty polls. At the ceiling the generator is never idle, so this
 * costs it nothing; the price is up to one sleep of latency on the first reply after a
 * lull. Rate mode never sleeps past the next session due.
 */
static void idle_wait(const struct gen *g, uint64_t now, uint64_t next_start)
{
	const struct lwb_opts *o = g->o;
	struct timespec ts;

	if (o->idle_sleep_us == 0) {
		sched_yield();
		return;
	}
	if (o->rate > 0 && next_start <= now + (uint64_t)o->idle_sleep_us * g->hz / 1000000) {
		return;
	}
	ts.tv_sec = o->idle_sleep_us / 1000000;
	ts.tv_nsec = (long)(o->idle_sleep_us % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

int lwb_gen_run(const struct lwb_opts *o, struct rte_mempool *mp)
{
	struct gen *g;
	struct rte_ether_addr ea;
	struct rte_mbuf *rx[BURST];
	uint64_t t0, now, next_report, last_report, run_end, drain_end = 0, next_start;
	uint64_t tsc_per_session = 0, dora_in_run = 0, t_run_end = 0;
	size_t csize = (size_t)o->clients * sizeof(struct client);
	bool starting = true;
	uint32_t idle = 0;
	int rc = 0;

	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		fprintf(stderr, "leasewire-bench: out of memory\n");
		return -1;
	}
	/* The client array: one anonymous mapping, populated up front so the first pass over
	 * the population does not take a page fault per 128 clients on the poll path. */
	g->c = mmap(NULL, csize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_POPULATE, -1, 0);
	if (g->c == MAP_FAILED) {
		fprintf(stderr, "leasewire-bench: cannot map %zu bytes for %u clients\n", csize,
			o->clients);
		free(g);
		return -1;
	}
	g->txq = o->window + 2 * TX_MAX;
	g->tx = calloc(g->txq, sizeof(struct rte_mbuf *));
	if (g->tx == NULL) {
		fprintf(stderr, "leasewire-bench: out of memory\n");
		munmap(g->c, csize);
		free(g);
		return -1;
	}
	/*
	 * Every client's xids start from one base, different from run to run: a server that
	 * outlives a run (compare.sh's steps) answers a REQUEST whose xid repeats its last ACK
	 * within seconds as a retransmission, from memory, writing nothing (engine.c,
	 * dup_request()), and runs that each started at 0 measured those cheap answers. The
	 * base is the xid's top byte: compare.sh alternates 0 and 128.
	 */
	{
		struct timespec ts;
		uint8_t base;

		clock_gettime(CLOCK_REALTIME, &ts);
		base = o->xid_base >= 0 ? (uint8_t)o->xid_base :
		       (uint8_t)((uint64_t)ts.tv_nsec >> 12 ^ (uint64_t)ts.tv_sec);
		for (uint32_t i = 0; i < o->clients; i++) {
			g->c[i].prev = g->c[i].next = NIL;
			g->c[i].seq = base;
		}
	}
	g->o = o;
	g->mp = mp;
	g->head = g->tail = NIL;
	g->hz = rte_get_tsc_hz();
	g->ns_per_tick = 1e9 / (double)g->hz;
	g->timeout_tsc = (uint64_t)(o->timeout_ms * (double)g->hz / 1000.0);
	if (rte_eth_macaddr_get(o->port, &ea) == 0) {
		memcpy(g->port_mac, ea.addr_bytes, 6);
	}
	lwb_hist_reset(&g->h_do);
	lwb_hist_reset(&g->h_ra);
	lwb_hist_reset(&g->h_rn);
	lwb_hist_reset(&g->t_do);
	lwb_hist_reset(&g->t_ra);
	lwb_hist_reset(&g->t_rn);
	g->place.lcore = rte_lcore_id();
	g->place.cpu = sched_getcpu();
	if (o->idle_polls != 0 && o->idle_sleep_us != 0) {
		/* A sleep of a few us must not be stretched to the default 50 us slack. */
		(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	}
	if (o->rate > 0) {
		tsc_per_session = (uint64_t)((double)g->hz / o->rate);
		if (tsc_per_session == 0) {
			tsc_per_session = 1;
		}
	}

	t0 = now = rte_rdtsc();
	next_start = t0;
	last_report = t0;
	next_report = t0 + g->hz;
	run_end = o->duration > 0 ? t0 + (uint64_t)(o->duration * (double)g->hz) : UINT64_MAX;

	for (;;) {
		uint16_t n = rte_eth_rx_burst(o->port, 0, rx, BURST);
		uint64_t queued = g->queued;

		now = rte_rdtsc();
		for (uint16_t k = 0; k < n; k++) {
			uint8_t *p = rte_pktmbuf_mtod(rx[k], uint8_t *);

			if (k + 1 < n) {
				rte_prefetch0(rte_pktmbuf_mtod(rx[k + 1], void *));
			}
			if (unlikely(p[12] == 0x08 && p[13] == 0x06)) {
				arp_answer(g, p, rx[k]->data_len);
				continue;
			}
			on_reply(g, p, rx[k]->data_len, lwb_rx_l4(rx[k]), now);
		}
		if (n != 0) {
			g->iv.rx += n;
			rte_pktmbuf_free_bulk(rx, n);
		}
		expire(g, now);

		if (starting) {
			if (lwb_quit || now >= run_end ||
			    (o->sessions != 0 && g->tot.started + g->iv.started >= o->sessions)) {
				starting = false;
				t_run_end = now;
				dora_in_run = g->tot.dora_ok + g->iv.dora_ok;
				/* Drain: every exchange in flight gets all its tries. */
				drain_end = now + g->timeout_tsc * (o->retries + 1) + g->hz / 10;
			}
		}
		if (starting && g->ntx == 0) {
			unsigned budget = BURST;

			while (budget-- > 0) {
				uint32_t probes = 8, i;

				if (o->rate > 0) {
					if (now < next_start) {
						break;
					}
					next_start += tsc_per_session;
					/* Over 10 ms behind (a stall): no burst to catch up. */
					if (now > next_start && now - next_start > g->hz / 100) {
						next_start = now;
					}
				}
				if (g->in_flight >= o->window) {
					if (o->rate > 0) {
						g->iv.blocked++;
						continue;
					}
					break;
				}
				do {
					i = g->cursor;
					g->cursor = g->cursor + 1 == o->clients ? 0 : g->cursor + 1;
				} while (g->c[i].state != C_IDLE && --probes > 0);
				if (g->c[i].state != C_IDLE) {
					break;
				}
				session_start(g, i, now);
				if (o->sessions != 0 &&
				    g->tot.started + g->iv.started >= o->sessions) {
					break;
				}
			}
		}
		tx_flush(g);

		if (now >= next_report) {
			report_interval(g, (double)(now - last_report) / (double)g->hz,
					(double)(now - t0) / (double)g->hz);
			last_report = now;
			next_report = now + g->hz;
		}
		if (!starting && (g->in_flight == 0 || now >= drain_end || lwb_quit > 1)) {
			break;
		}
		if (n != 0 || g->queued != queued) {
			idle = 0;
		} else if (o->idle_polls != 0 && ++idle >= o->idle_polls) {
			idle = 0;
			g->iv.idle_waits++;
			idle_wait(g, now, next_start);
		}
	}
	/* Linger: tx_burst only queues frames; the peer takes them from the ring later, and a
	 * port stopped at once would lose the last burst (RELEASEs have no reply to wait for).
	 * Late replies are still counted (as stale). */
	for (uint64_t end = rte_rdtsc() + g->hz / 5; rte_rdtsc() < end;) {
		uint16_t n = rte_eth_rx_burst(o->port, 0, rx, BURST);

		now = rte_rdtsc();
		for (uint16_t k = 0; k < n; k++) {
			on_reply(g, rte_pktmbuf_mtod(rx[k], uint8_t *), rx[k]->data_len,
				 lwb_rx_l4(rx[k]), now);
		}
		if (n != 0) {
			g->iv.rx += n;
			rte_pktmbuf_free_bulk(rx, n);
		}
	}
	if (g->ntx != 0) {
		g->iv.tx_full += g->ntx;
		rte_pktmbuf_free_bulk(g->tx, g->ntx);
		g->ntx = 0;
	}
	if (g->nstash != 0) {
		rte_pktmbuf_free_bulk(g->stash, g->nstash);
	}
	now = rte_rdtsc();
	report_interval(g, (double)(now - last_report) / (double)g->hz,
			(double)(now - t0) / (double)g->hz);
	report_final(g, (double)(t_run_end - t0) / (double)g->hz, dora_in_run,
		     (double)(now - t0) / (double)g->hz);
	if (o->leases_out != NULL && write_leases(g, o->leases_out) != 0) {
		rc = -1;
	}
	munmap(g->c, csize);
	free(g->tx);
	free(g);
	return rc;
}
