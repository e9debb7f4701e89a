/*
 * leasewire-bench: a stateful DHCPv4 client population on a DPDK port.
 *
 *   leasewire-bench [EAL args] -- [--mode generate|reflect] [options]   (--help lists them)
 *
 * HOW IT WORKS
 *
 * One lcore (the EAL main lcore, pinned with -l/--lcores) polls one port with one RX and one
 * TX queue, in the manner of DPDK's l3fwd and testpmd: rx_burst, handle every frame, send
 * what that produced in one tx_burst, free what the port would not take, repeat. Nothing is
 * allocated after start-up: the clients live in one flat array sized at start, frames come
 * from a pre-created mempool through a small stash filled by rte_pktmbuf_alloc_bulk, and
 * received mbufs go back with rte_pktmbuf_free_bulk.
 *
 * The population. Client i (0 <= i < --clients, shifted by --first-client) has chaddr
 * 02:42:<i as 4 bytes>, optionally option 61 = 01:<chaddr>. Its state (32 bytes: state,
 * offered and bound address, server id, exchange sequence, tries, last transmit TSC, two
 * list links) is c[i]. The xid of each exchange is <8-bit sequence><24-bit index>, so a
 * reply finds its client by index in O(1) and a late reply to an earlier exchange (a
 * retransmission answered twice) is recognised as stale and counted, never mistaken.
 *
 * A session is one client's scenario: DISCOVER -> OFFER -> REQUEST (SELECTING: option 50 =
 * the offered address, option 54 = the server id, same xid) -> ACK, then --renew times a
 * RENEWING REQUEST (ciaddr, unicast to the server that bound it) -> ACK with the same address,
 * then, with --release, a RELEASE (no answer expected). Direct clients broadcast from
 * 0.0.0.0:68 with their own MAC and the broadcast flag; relayed ones (--relay GIADDR) are sent
 * by a relay from GIADDR:67 to --server:67 with giaddr, hops 1 and option 82 (circuit-id: one
 * "port" per 256 clients, remote-id: the chaddr), and the server answers the relay's port 67.
 *
 * Load. Flat out (default): a new session starts whenever fewer than --window are in flight,
 * so the window bounds the exchanges outstanding, as a closed-loop client population does.
 * With --rate R: a token bucket on the TSC starts a session every hz/R cycles (open loop); a
 * token due while the window is full is counted as "blocked", not queued. Sessions go round
 * the population; a client still busy is skipped.
 *
 * Loss. Every client waiting for a reply is on one intrusive doubly linked list ordered by
 * its last transmission (a send moves it to the tail, a reply unlinks it), so the oldest is
 * at the head and timeouts cost O(1) per expiry, whatever the population: after --timeout-ms
 * the message is sent again (a retransmit), up to --retries times, then the exchange counts
 * as a timeout and the session ends. A frame the port's ring does not take yet (the peer has
 * not emptied it) stays queued, in order, for the next turn, and no session starts while any
 * is queued: the generator waits for the transport rather than lose frames to its own ring,
 * which would be charged to the server as timeouts (counted as tx_held). A frame that finds
 * no mbuf, or the queue (a window of frames and more) full, is counted and recovered by the
 * timeout (a RELEASE, which has no answer, is then lost and counted).
 *
 * Idle back-off. After --idle-polls empty turns in a row (nothing received, nothing built to
 * send) the loop gives its CPU away once: sched_yield, or a sleep of --idle-sleep-us (timer
 * slack set to 1 us). On a machine where the server's threads share the generator's CPU
 * (lwbench.sh: leasewired's control thread and committer), a busy-polling generator takes
 * the CPU they need and the figures measure the generator; at the ceiling it is never idle,
 * so the back-off costs it nothing. --idle-polls 0 busy-polls. Compare runs only with the
 * same setting (lwbench.sh uses one for every case and prints it). At the end the port is polled 200 ms more before it stops, so that the peer
 * drains the last frames from the TX ring.
 *
 * Figures. Every reply is timestamped by the TSC read after its rx_burst; DISCOVER->OFFER,
 * REQUEST->ACK and renew REQUEST->ACK go into log-linear histograms (lwb_hist.h: HDR-style,
 * 1.6 % resolution, no allocation) per interval and in total. Each second a line gives the
 * lcore and CPU it ran on, offered sessions/s, DORA/s (and its share of --ceiling), renewals,
 * releases, NAKs, timeouts, retransmits and p50/p90/p99/p99.9; at the end a summary, or with
 * --json one JSON object on stdout (the per-second lines then go to stderr). DORA/s in the
 * summary counts the DORAs completed while sessions were being started, over that time;
 * the drain that follows (in-flight exchanges get all their tries) is reported apart.
 *
 * Reflect. --mode reflect is the ceiling: it runs where the server would (the other end of
 * the same transport) and turns each DISCOVER into an "OFFER" and REQUEST into an "ACK" by
 * swapping Ethernet/IP/UDP headers, flipping option 53 and recomputing the checksums
 * (lwb_reflect()): no lookup, no state. The generator against it measures what the transport
 * and the generator allow; lwbench.sh passes that rate as --ceiling to the runs against
 * leasewired, so each is printed as a fraction of a ceiling measured in the same session.
 *
 * Transports: virtio_user against leasewired's net_vhost port (both processes need
 * --single-file-segments and their own --file-prefix), net_af_packet / net_af_xdp on a veth
 * towards a kernel-socket server (Kea, ISC dhcpd: give --answer-arp, so that the kernel can
 * resolve the relay's address and renewing clients' addresses; the veth peer needs
 * `ethtool -K tx off` as dpdk-on-this-machine.md explains), or a NIC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "lwb_wire.h"
#include "lwb_gen.h"

#define BURST	32
#define RX_DESC	1024
#define TX_DESC	1024

static void on_signal(int sig)
{
	(void)sig;
	lwb_quit++;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: leasewire-bench [EAL args] -- [options]\n"
		"  --mode generate|reflect  clients (default), or the ceiling responder\n"
		"  --port N              DPDK port id (default 0)\n"
		"  --clients N           distinct clients, at most 16777216 (default 100000)\n"
		"  --first-client N      first client index: chaddr 02:42:<index> (default 0)\n"
		"  --xid-base B          0-255: the top byte of every client's first xid (default:\n"
		"                        from the clock, so that two runs in a row differ: a server\n"
		"                        that outlives a run answers a repeated xid from memory)\n"
		"  --sessions N          sessions to start (default --clients, unless --duration)\n"
		"  --duration S          seconds to start sessions for\n"
		"  --rate R              sessions started per second (default 0: flat out)\n"
		"  --window W            most sessions in flight (default 256)\n"
		"  --timeout-ms T        retransmit after T ms (default 1000)\n"
		"  --retries N           retransmissions before an exchange is lost (default 3)\n"
		"  --renew N             RENEWING requests per session after its DORA (default 0)\n"
		"  --release             end each session with a RELEASE\n"
		"  --relay A.B.C.D       relayed: giaddr A.B.C.D, option 82 (default: direct)\n"
		"  --no-opt82            relayed without option 82\n"
		"  --client-id           send option 61 (01 + chaddr)\n"
		"  --unicast             clear the broadcast flag\n"
		"  --server A.B.C.D      relayed: the server; reflect: our address (198.18.0.1)\n"
		"  --check-csum          verify the UDP checksum of every reply (one the port\n"
		"                        verified is taken, one it marks as a peer's partial sum\n"
		"                        must hold the pseudo-header's sum)\n"
		"  --csum-offload        leave UDP checksums to the port both ways: requests (and\n"
		"                        reflect's replies) go out with the sum for the port to\n"
		"                        complete (TX UDP checksum offload; virtio_user hands it\n"
		"                        to the vhost peer as a partial checksum, which the\n"
		"                        server sees as L4 NONE), and the port is asked for RX\n"
		"                        checksum offload so that a server's partial sums come\n"
		"                        in marked NONE. Both ends of a comparison must run with\n"
		"                        the same setting (a server that sums every request in\n"
		"                        software drops partial ones as bad checksums)\n"
		"  --answer-arp          answer every ARP request with the port's MAC (a kernel\n"
		"                        server resolving the relay or a renewing client)\n"
		"  --ceiling R           DORA/s of a reflect run: figures also as fractions of it\n"
		"  --json                final summary as one JSON object on stdout\n"
		"  --leases-out FILE     write 'index chaddr address bound|released' per client\n"
		"  --label TEXT          copied into the JSON summary\n"
		"  --mbufs N             mbuf pool size (default 16383)\n"
		"  --quiet               no per-second lines\n"
		"  --idle-polls K        after K empty polls in a row (nothing received, nothing\n"
		"                        to send) give the CPU away once; 0 = busy-poll (default %u)\n"
		"  --idle-sleep-us U     how: 0 = sched_yield, else sleep U us (default %u)\n",
		LWB_IDLE_POLLS, LWB_IDLE_SLEEP_US);
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "leasewire-bench: not an IPv4 address: %s\n", s);
		return -1;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_num(const char *name, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "leasewire-bench: --%s: %s is not a number in [%g, %g]\n", name, s,
			lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct lwb_opts *o)
{
	enum {
		O_MODE = 256, O_PORT, O_CLIENTS, O_FIRST, O_XID_BASE, O_SESSIONS, O_DURATION, O_RATE,
		O_WINDOW, O_TIMEOUT, O_RETRIES, O_RENEW, O_RELEASE, O_RELAY, O_NO82, O_CID,
		O_UNICAST, O_SERVER, O_CSUM, O_CSUM_OFFLOAD, O_ARP, O_CEILING, O_JSON, O_LEASES,
		O_LABEL, O_MBUFS,
		O_QUIET, O_IDLE_POLLS, O_IDLE_SLEEP, O_HELP,
	};
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, O_MODE},
		{"port", required_argument, NULL, O_PORT},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"first-client", required_argument, NULL, O_FIRST},
		{"xid-base", required_argument, NULL, O_XID_BASE},
		{"sessions", required_argument, NULL, O_SESSIONS},
		{"duration", required_argument, NULL, O_DURATION},
		{"rate", required_argument, NULL, O_RATE},
		{"window", required_argument, NULL, O_WINDOW},
		{"timeout-ms", required_argument, NULL, O_TIMEOUT},
		{"retries", required_argument, NULL, O_RETRIES},
		{"renew", required_argument, NULL, O_RENEW},
		{"release", no_argument, NULL, O_RELEASE},
		{"relay", required_argument, NULL, O_RELAY},
		{"no-opt82", no_argument, NULL, O_NO82},
		{"client-id", no_argument, NULL, O_CID},
		{"unicast", no_argument, NULL, O_UNICAST},
		{"server", required_argument, NULL, O_SERVER},
		{"check-csum", no_argument, NULL, O_CSUM},
		{"csum-offload", no_argument, NULL, O_CSUM_OFFLOAD},
		{"answer-arp", no_argument, NULL, O_ARP},
		{"ceiling", required_argument, NULL, O_CEILING},
		{"json", no_argument, NULL, O_JSON},
		{"leases-out", required_argument, NULL, O_LEASES},
		{"label", required_argument, NULL, O_LABEL},
		{"mbufs", required_argument, NULL, O_MBUFS},
		{"quiet", no_argument, NULL, O_QUIET},
		{"idle-polls", required_argument, NULL, O_IDLE_POLLS},
		{"idle-sleep-us", required_argument, NULL, O_IDLE_SLEEP},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	bool sessions_set = false;
	double v;
	int c;

	*o = (struct lwb_opts){
		.clients = 100000, .window = 256, .timeout_ms = 1000, .retries = 3, .opt82 = true,
		.broadcast = true, .server_ip = 0xc6120001u, .mbufs = 16383,
		.idle_polls = LWB_IDLE_POLLS, .idle_sleep_us = LWB_IDLE_SLEEP_US, .xid_base = -1,
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int rc = 0;

		switch (c) {
		case O_MODE:
			if (strcmp(optarg, "reflect") == 0) {
				o->reflect = true;
			} else if (strcmp(optarg, "generate") != 0) {
				fprintf(stderr, "leasewire-bench: --mode generate|reflect\n");
				return -1;
			}
			break;
		case O_PORT:
			rc = parse_num("port", optarg, 0, RTE_MAX_ETHPORTS - 1, &v);
			o->port = (uint16_t)v;
			break;
		case O_CLIENTS:
			rc = parse_num("clients", optarg, 1, LWB_MAX_CLIENTS, &v);
			o->clients = (uint32_t)v;
			break;
		case O_FIRST:
			rc = parse_num("first-client", optarg, 0, LWB_MAX_CLIENTS - 1, &v);
			o->first_client = (uint32_t)v;
			break;
		case O_XID_BASE:
			rc = parse_num("xid-base", optarg, 0, 255, &v);
			o->xid_base = (int)v;
			break;
		case O_SESSIONS:
			rc = parse_num("sessions", optarg, 1, 1e15, &v);
			o->sessions = (uint64_t)v;
			sessions_set = true;
			break;
		case O_DURATION:
			rc = parse_num("duration", optarg, 0.001, 1e7, &o->duration);
			break;
		case O_RATE:
			rc = parse_num("rate", optarg, 0, 1e9, &o->rate);
			break;
		case O_WINDOW:
			rc = parse_num("window", optarg, 1, LWB_MAX_CLIENTS, &v);
			o->window = (uint32_t)v;
			break;
		case O_TIMEOUT:
			rc = parse_num("timeout-ms", optarg, 0.001, 1e6, &o->timeout_ms);
			break;
		case O_RETRIES:
			rc = parse_num("retries", optarg, 0, 100, &v);
			o->retries = (uint32_t)v;
			break;
		case O_RENEW:
			rc = parse_num("renew", optarg, 0, 255, &v);
			o->renews = (uint32_t)v;
			break;
		case O_RELEASE:
			o->release = true;
			break;
		case O_RELAY:
			rc = parse_ip(optarg, &o->relay);
			break;
		case O_NO82:
			o->opt82 = false;
			break;
		case O_CID:
			o->client_id = true;
			break;
		case O_UNICAST:
			o->broadcast = false;
			break;
		case O_SERVER:
			rc = parse_ip(optarg, &o->server_ip);
			break;
		case O_CSUM:
			o->check_csum = true;
			break;
		case O_CSUM_OFFLOAD:
			o->csum_offload = true;
			break;
		case O_ARP:
			o->answer_arp = true;
			break;
		case O_CEILING:
			rc = parse_num("ceiling", optarg, 0, 1e12, &o->ceiling);
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_LEASES:
			o->leases_out = optarg;
			break;
		case O_LABEL:
			o->label = optarg;
			break;
		case O_MBUFS:
			rc = parse_num("mbufs", optarg, 1023, 1 << 24, &v);
			o->mbufs = (uint32_t)v;
			break;
		case O_QUIET:
			o->quiet = true;
			break;
		case O_IDLE_POLLS:
			rc = parse_num("idle-polls", optarg, 0, 1e9, &v);
			o->idle_polls = (uint32_t)v;
			break;
		case O_IDLE_SLEEP:
			rc = parse_num("idle-sleep-us", optarg, 0, 1e6, &v);
			o->idle_sleep_us = (uint32_t)v;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (rc != 0) {
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "leasewire-bench: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	if ((uint64_t)o->first_client + o->clients > LWB_MAX_CLIENTS) {
		fprintf(stderr, "leasewire-bench: --first-client + --clients over %u\n",
			LWB_MAX_CLIENTS);
		return -1;
	}
	if (!sessions_set && o->duration == 0) {
		o->sessions = o->clients;
	}
	return 0;
}

/* One RX and one TX queue, started, link up (or 5 s gone: a vhost peer may be late). */
static int port_setup(const struct lwb_opts *o, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	struct rte_eth_link link;
	int rc;

	if (!rte_eth_dev_is_valid_port(o->port)) {
		fprintf(stderr, "leasewire-bench: no port %u (give one with --vdev or -a)\n",
			o->port);
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	if (o->csum_offload) {
		struct rte_eth_dev_info info;

		rc = rte_eth_dev_info_get(o->port, &info);
		if (rc != 0 || !(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) {
			fprintf(stderr, "leasewire-bench: port %u: --csum-offload: the port has no "
				"TX UDP checksum offload\n", o->port);
			return -1;
		}
		/* RX as well, where offered: virtio_user then negotiates
		 * VIRTIO_NET_F_GUEST_CSUM, so that the vhost server may send partial sums. */
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		conf.rxmode.offloads = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	}
	rc = rte_eth_dev_configure(o->port, 1, 1, &conf);
	if (rc == 0) {
		rc = rte_eth_rx_queue_setup(o->port, 0, RX_DESC, rte_eth_dev_socket_id(o->port),
					    NULL, mp);
	}
	if (rc == 0) {
		rc = rte_eth_tx_queue_setup(o->port, 0, TX_DESC, rte_eth_dev_socket_id(o->port),
					    NULL);
	}
	if (rc == 0) {
		rc = rte_eth_dev_start(o->port);
	}
	if (rc != 0) {
		fprintf(stderr, "leasewire-bench: port %u: %s\n", o->port, rte_strerror(-rc));
		return -1;
	}
	(void)rte_eth_promiscuous_enable(o->port);	/* vhost refuses it: harmless */
	for (int k = 0; k < 500 && !lwb_quit; k++) {
		if (rte_eth_link_get_nowait(o->port, &link) == 0 && link.link_status) {
			return 0;
		}
		usleep(10000);
	}
	fprintf(stderr, "leasewire-bench: port %u: link still down after 5 s, going on\n",
		o->port);
	return 0;
}

/* The ceiling: answer every DISCOVER/REQUEST by reflection until SIGINT/SIGTERM. */
static void reflect_run(const struct lwb_opts *o)
{
	struct rte_mbuf *rx[BURST], *tx[BURST], *drop[BURST];
	struct rte_ether_addr ea;
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc(), last = t0, now;
	uint64_t n_rx = 0, n_tx = 0, n_ign = 0, n_full = 0, l_rx = 0, l_tx = 0;
	unsigned lcore = rte_lcore_id();
	int cpu = sched_getcpu();
	FILE *f = o->json ? stderr : stdout;

	memset(&ea, 0, sizeof(ea));
	(void)rte_eth_macaddr_get(o->port, &ea);
	while (!lwb_quit) {
		uint16_t n = rte_eth_rx_burst(o->port, 0, rx, BURST), nt = 0, nd = 0, sent;

		for (uint16_t k = 0; k < n; k++) {
			uint8_t *p = rte_pktmbuf_mtod(rx[k], uint8_t *);
			struct lwb_reply r;
			size_t len = 0;

			if (lwb_parse(p, rx[k]->data_len, false, &r) == 0) {
				len = lwb_reflect(p, &r, ea.addr_bytes, o->server_ip,
						  o->csum_offload);
			}
			if (len == 0) {
				drop[nd++] = rx[k];
				continue;
			}
			rx[k]->data_len = rx[k]->pkt_len = (uint32_t)len;
			rx[k]->ol_flags = 0;
			if (o->csum_offload) {
				lwb_tx_csum_offload(rx[k]);
			}
			tx[nt++] = rx[k];
		}
		if (nd != 0) {
			n_ign += nd;
			rte_pktmbuf_free_bulk(drop, nd);
		}
		sent = nt ? rte_eth_tx_burst(o->port, 0, tx, nt) : 0;
		if (unlikely(sent < nt)) {
			n_full += nt - sent;
			rte_pktmbuf_free_bulk(tx + sent, nt - sent);
		}
		n_rx += n;
		n_tx += sent;
		now = rte_rdtsc();
		if (now - last >= hz) {
			double dt = (double)(now - last) / (double)hz;

			cpu = sched_getcpu();
			if (!o->quiet) {
				fprintf(f, "[lcore %u cpu %d] reflect rx %.0f/s tx %.0f/s ignored %"
					PRIu64 " txfull %" PRIu64 "\n", lcore, cpu,
					(double)(n_rx - l_rx) / dt,
					(double)(n_tx - l_tx) / dt, n_ign, n_full);
				fflush(f);
			}
			l_rx = n_rx;
			l_tx = n_tx;
			last = now;
		}
	}
	now = rte_rdtsc();
	if (o->json) {
		printf("{\"mode\": \"reflect\", \"label\": \"%s\", \"lcore\": %u, \"cpu\": %d, "
		       "\"seconds\": %.3f, \"rx\": %" PRIu64 ", \"tx\": %" PRIu64
		       ", \"ignored\": %" PRIu64 ", \"tx_full\": %" PRIu64
		       ", \"csum_offload\": %s}\n",
		       o->label ? o->label : "", lcore, cpu, (double)(now - t0) / (double)hz, n_rx,
		       n_tx, n_ign, n_full, o->csum_offload ? "true" : "false");
	} else {
		printf("[lcore %u cpu %d] reflect total: %.2f s rx %" PRIu64 " tx %" PRIu64
		       " ignored %" PRIu64 " txfull %" PRIu64 "\n", lcore, cpu,
		       (double)(now - t0) / (double)hz, n_rx, n_tx, n_ign, n_full);
	}
}

int main(int argc, char **argv)
{
	struct lwb_opts o;
	struct rte_mempool *mp;
	struct sigaction sa;
	int n, status = 1;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "leasewire-bench: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (parse_args(argc - n, argv + n, &o) != 0) {
		rte_eal_cleanup();
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	mp = rte_pktmbuf_pool_create("lwb_mbufs", o.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, "leasewire-bench: mbuf pool of %u: %s\n", o.mbufs,
			rte_strerror(rte_errno));
		goto out;
	}
	if (port_setup(&o, mp) != 0) {
		goto out;
	}
	if (o.reflect) {
		reflect_run(&o);
		status = 0;
	} else {
		status = lwb_gen_run(&o, mp) == 0 ? 0 : 1;
	}
	rte_eth_dev_stop(o.port);
	rte_eth_dev_close(o.port);
out:
	rte_eal_cleanup();
	return status;
}
