/*
 * bindings_fill: pre-fill a store with N active bindings, for bench/bindings.sh.
 *
 *   leasewire-bindings-fill DIR N FIRST-ADDRESS [PCAP [CLIENTS]]
 *
 * Writes N ACTIVE bindings with the store API (relaxed sync, batches of 64 k changes): the
 * addresses FIRST-ADDRESS, FIRST-ADDRESS + 1, ..., each for its own client (htype 1, chaddr
 * 02:4c:i), leased from now for a year. With PCAP, also writes one DHCPDISCOVER from a
 * client that has no binding (chaddr 02:4d:00:00:00:01), broadcast, for the server to answer
 * once it serves; with CLIENTS, one DISCOVER from each of that many such clients (02:4d:i),
 * for bench/workers.sh (N may then be 0). Prints the LMDB bytes per binding (the data file's
 * allocated blocks).
 *
 * With LW_FILL_INFO=1 in the environment, every binding also remembers its client (record
 * version 3's information): host name "client-<i>" and vendor class "MSFT 5.0", as most
 * Windows clients send; without it, none (what a store written before version 3 loads as).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <arpa/inet.h>

#include "byteorder.h"
#include "lease.h"
#include "store.h"

#define BATCH 65536u

static uint16_t ip_csum(const uint8_t *h, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* One 342-byte broadcast DHCPDISCOVER from client 02:4d:<id>. */
static void discover(uint8_t f[342], uint32_t id)
{
	uint8_t mac[6] = {0x02, 0x4d}, *ip = f + 14, *udp = ip + 20, *bootp = udp + 8, *o;

	lw_put32(mac + 2, id);
	memset(f, 0, 342);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	lw_put16(ip + 2, (uint16_t)(342 - 14));
	ip[8] = 64;
	ip[9] = 17;
	lw_put32(ip + 16, 0xffffffffu);
	lw_put16(ip + 10, ip_csum(ip, 20));
	lw_put16(udp, 68);
	lw_put16(udp + 2, 67);
	lw_put16(udp + 4, (uint16_t)(342 - 34));
	bootp[0] = 1;
	bootp[1] = 1;
	bootp[2] = 6;
	lw_put32(bootp + 4, 0x4c570000 + id);
	lw_put16(bootp + 10, 0x8000);
	memcpy(bootp + 28, mac, 6);
	lw_put32(bootp + 236, 0x63825363);
	o = bootp + 240;
	*o++ = 53;
	*o++ = 1;
	*o++ = 1;
	*o = 255;
}

/* @p n DISCOVERs from clients 1..n in a pcap file (Ethernet link type). */
static int write_discovers(const char *path, uint32_t n)
{
	uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	uint32_t rec[4] = {0, 0, 342, 342};
	uint8_t f[342];
	FILE *fp = fopen(path, "wb");

	if (fp == NULL) {
		return -errno;
	}
	if (fwrite(hdr, sizeof(hdr), 1, fp) != 1) {
		fclose(fp);
		return -EIO;
	}
	for (uint32_t i = 1; i <= n; i++) {
		discover(f, i);
		if (fwrite(rec, sizeof(rec), 1, fp) != 1 || fwrite(f, sizeof(f), 1, fp) != 1) {
			fclose(fp);
			return -EIO;
		}
	}
	return fclose(fp) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
	struct store_opts so = {.sync = STORE_SYNC_RELAXED, .map_size = 1ull << 30};
	struct dp_change *v;
	struct in_addr first;
	struct store *s;
	struct stat st;
	char err[512], path[4096];
	uint64_t n, now = (uint64_t)time(NULL);
	const char *env = getenv("LW_FILL_INFO");
	int info = env != NULL && strcmp(env, "1") == 0;

	if (argc < 4 || inet_pton(AF_INET, argv[3], &first) != 1) {
		fprintf(stderr, "usage: %s DIR N FIRST-ADDRESS [PCAP]\n", argv[0]);
		return 2;
	}
	n = strtoull(argv[2], NULL, 10);
	if (info) {
		so.map_size = 4ull << 30;	/* ~25 more bytes per record */
	}
	if (argc > 4 && write_discovers(argv[4], argc > 5 ? (uint32_t)atoi(argv[5]) : 1) != 0) {
		fprintf(stderr, "cannot write %s\n", argv[4]);
		return 1;
	}
	s = store_open(argv[1], &so, err, sizeof(err));
	v = calloc(BATCH, sizeof(*v));
	if (s == NULL || v == NULL) {
		fprintf(stderr, "store_open: %s\n", s == NULL ? err : "out of memory");
		return 1;
	}
	for (uint64_t i = 0; i < n;) {
		size_t k = 0;

		for (; k < BATCH && i < n; k++, i++) {
			struct dp_change *c = &v[k];
			uint32_t id = (uint32_t)i;

			memset(c, 0, sizeof(*c));
			c->seq = i + 1;
			c->addr = ntohl(first.s_addr) + id;
			c->state = BT_ACTIVE;
			c->start = now;
			c->ends = now + 365 * 86400;
			c->key.type = DP_KEY_HWADDR;
			c->key.len = 7;
			c->key.data[0] = 1;
			c->key.data[1] = 0x02;
			c->key.data[2] = 0x4c;
			lw_put32(c->key.data + 3, id);
			c->hw_len = 7;
			memcpy(c->hw, c->key.data, 7);
			if (info) {
				c->info.host_len = (uint8_t)snprintf(c->info.host,
								     sizeof(c->info.host),
								     "client-%u", id);
				memcpy(c->info.vendor, "MSFT 5.0", c->info.vendor_len = 8);
			}
		}
		if (store_write_batch(s, v, k) != 0) {
			fprintf(stderr, "store_write_batch: %s\n", store_errmsg(s));
			return 1;
		}
	}
	printf("stored %llu bindings\n", (unsigned long long)store_count(s));
	store_close(s);
	free(v);
	snprintf(path, sizeof(path), "%s/data.mdb", argv[1]);
	if (stat(path, &st) == 0 && n != 0) {
		printf("lmdb: %lld bytes allocated, %.1f bytes per binding\n",
		       (long long)st.st_blocks * 512, (double)st.st_blocks * 512 / (double)n);
	}
	return 0;
}
