/*
 * fo_linkprobe: run one fo_link against a real partner and print what happens, for
 * tests/e2e/test_fo_isc_link.sh.
 *
 *	fo_linkprobe primary|secondary LOCAL_IP PARTNER_IP NAME TIMEOUT_S LINGER_S
 *
 * Port 647 on both sides; receive-timer 15, max-unacked 10, MCLT 60, HBA = split 128 (as the
 * ISC lab). One line per event on stdout:
 *	UP partner_rt=N partner_mu=N partner_mclt=N hba=0|1 hba0=XX vendor=TEXT skew=N
 *	MSG TYPE [state=N flags=N stos=N]
 *	REJECTED local=0|1 reason=N msg=TEXT
 *	DOWN TEXT
 * After UP the probe sends STATE (communications-interrupted, flags 0). Exit status: 0 once a
 * STATE from the partner was seen and LINGER_S more seconds passed with the link up (CONTACTs
 * flowing); 3 on REJECTED; 4 on DOWN; 2 on TIMEOUT_S without any of them; 1 on a usage or
 * setup error.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fo_link.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_state(struct fo_link *l, uint32_t now)
{
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_STATE, 0, 0);
	m.server_state = FO_SS_COMM_INTERRUPTED;
	m.server_flags = 0;
	m.stos = now;
	m.present = FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_SERVER_FLAGS) |
		    FO_BIT(FO_OPT_STOS);
	if (fo_link_send(l, &m) != 0) {
		printf("SENDFAIL STATE\n");
	}
}

static int print_event(struct fo_link *l, const struct fo_link_event *e, bool *got_state)
{
	switch (e->type) {
	case FO_LINK_UP:
		printf("UP partner_rt=%u partner_mu=%u partner_mclt=%u hba=%d hba0=%02x "
		       "vendor=%s skew=%d\n",
		       e->partner_receive_timer, e->partner_max_unacked, e->partner_mclt,
		       e->partner_has_hba, e->partner_hba[0], e->reason, e->skew);
		send_state(l, (uint32_t)time(NULL));
		return 0;
	case FO_LINK_DOWN:
		printf("DOWN %s\n", e->reason);
		return 4;
	case FO_LINK_REJECTED:
		printf("REJECTED local=%d reason=%u msg=%s\n", e->local, e->reject_reason,
		       e->reason);
		return 3;
	case FO_LINK_MESSAGE:
		if (e->msg.type == FO_MSG_STATE) {
			printf("MSG STATE state=%u flags=%u stos=%u\n", e->msg.server_state,
			       e->msg.server_flags, e->msg.stos);
			*got_state = true;
		} else {
			printf("MSG %s\n", fo_msg_type_str(e->msg.type));
		}
		return 0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fo_link_cfg cfg;
	struct fo_link *l;
	struct fo_link_event ev[8];
	char err[160];
	uint64_t t_end, t_state = 0, linger;
	bool got_state = false;
	int rc = 2;

	if (argc != 7 || (strcmp(argv[1], "primary") != 0 && strcmp(argv[1], "secondary") != 0)) {
		fprintf(stderr, "usage: %s primary|secondary LOCAL PARTNER NAME TIMEOUT LINGER\n",
			argv[0]);
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = strcmp(argv[1], "primary") == 0 ? FO_LINK_PRIMARY : FO_LINK_SECONDARY;
	if (inet_pton(AF_INET, argv[2], &cfg.local_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &cfg.partner_addr) != 1) {
		fprintf(stderr, "bad address\n");
		return 1;
	}
	cfg.name = argv[4];
	cfg.receive_timer = 15;
	cfg.max_unacked = 10;
	cfg.mclt = 60;
	memset(cfg.hba, 0xff, 16);
	cfg.vendor_class = "leasewire-probe";
	l = fo_link_new(&cfg, err, sizeof(err));
	if (l == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_end = mono_ms() + (uint64_t)atoi(argv[5]) * 1000;
	linger = (uint64_t)atoi(argv[6]) * 1000;
	for (;;) {
		struct pollfd pfd[FO_LINK_MAX_CONN + 1];
		uint64_t now = mono_ms();
		int n, to;

		if (now >= t_end) {
			printf("TIMEOUT\n");
			break;
		}
		if (got_state && now - t_state >= linger) {
			rc = 0;
			break;
		}
		n = fo_link_fds(l, pfd, FO_LINK_MAX_CONN + 1);
		to = fo_link_timeout_ms(l, now);
		(void)poll(pfd, (nfds_t)n, to > 100 ? 100 : to);
		now = mono_ms();
		n = fo_link_poll(l, now, (uint32_t)time(NULL), ev, 8);
		for (int i = 0; i < n; i++) {
			bool was = got_state;
			int r = print_event(l, &ev[i], &got_state);

			if (got_state && !was) {
				t_state = now;
			}
			if (r != 0) {
				rc = r;
				goto out;
			}
		}
	}
out:
	printf("STATS refused_src=%llu refused_dup=%llu connects=%llu accepts=%llu rx=%llu "
	       "tx=%llu\n",
	       (unsigned long long)fo_link_stats(l)->refused_src,
	       (unsigned long long)fo_link_stats(l)->refused_dup,
	       (unsigned long long)fo_link_stats(l)->connects,
	       (unsigned long long)fo_link_stats(l)->accepts,
	       (unsigned long long)fo_link_stats(l)->rx_msgs,
	       (unsigned long long)fo_link_stats(l)->tx_msgs);
	fo_link_free(l);
	return rc;
}
