/*
 * fo_hash: RFC 3074 load balancing as ISC dhcpd computes it (server/failover.c loadb_p_hash,
 * load_balance_mine, peer_wants_lease).
 *
 *   bucket  = Pearson hash (RFC 3074 §6 mixing table) of the client-identifier option's
 *             contents when the client sent a non-empty one, else of chaddr (hlen bytes,
 *             without htype); bytes are taken last to first, the hash starts at the length.
 *   HBA     = the 256-bit hash-bucket-assignment, 32 bytes on the wire (failover option 11,
 *             in CONNECT from the primary). Bucket b is bit (1 << (b & 7)) of byte b >> 3.
 *   serving = ISC: the PRIMARY answers the buckets whose bit is 1, the secondary the others.
 *             D12 §12.11 says a 1 bit means the secondary; every peer we interoperate with
 *             (ISC, and leasewire itself) uses ISC's meaning, so we do too.
 *   split N = ISC's `split N`: buckets 0..N-1 set (split 128 = ff x16, 00 x16).
 *   secs    = ISC `load balance max seconds`: a client whose BOOTP secs field is greater than
 *             the limit is answered whatever its bucket (RFC 3074 service delay).
 *
 * Load balancing applies only in NORMAL (D12 §9.8.2; fo_state_service() == BALANCED), and even
 * there every RENEWING/REBINDING request is answered: the caller checks those first.
 *
 * Threads: pure functions over caller memory, no state; callable from any thread, including
 * the dataplane workers (no allocation, no locks, no system calls).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_state.h"

/** Size of the hash-bucket-assignment bitmap (failover option 11). */
#define FO_HASH_HBA_SIZE 32
/** chaddr bytes a BOOTP header holds; longer hlen values are clamped to it. */
#define FO_HASH_CHADDR_MAX 16
/** load-balance-max-seconds value that never overrides the hash (secs is 16 bits). */
#define FO_HASH_MAX_SECS_NEVER UINT32_MAX

/**
 * RFC 3074 bucket of a key (ISC loadb_p_hash). The length enters the hash as its low 8 bits,
 * as in ISC. An empty key is bucket 0.
 * @param key  may be NULL when len is 0
 */
uint8_t fo_hash_bucket(const uint8_t *key, size_t len);

/**
 * Bucket of a DHCP client: its client-identifier (option 61 contents, type byte included) when
 * present and non-empty, else chaddr[0..hlen-1].
 * @param client_id      option 61 contents or NULL
 * @param client_id_len  0 when the client sent none
 * @param chaddr         BOOTP chaddr (16 bytes)
 * @param hlen           BOOTP hlen; values above 16 are clamped to 16
 * @note ISC hashes an empty option 61 as bucket 0; an empty option 61 is invalid (RFC 2132
 *       §9.14, minimum length 2), so we fall back to chaddr like a client without one.
 */
uint8_t fo_hash_client_bucket(const uint8_t *client_id, size_t client_id_len,
			      const uint8_t *chaddr, size_t hlen);

/** Fill an HBA as ISC `split N` does: buckets 0..N-1 set; N >= 256 sets every bucket. */
void fo_hash_hba_from_split(uint8_t hba[FO_HASH_HBA_SIZE], unsigned split);

/**
 * The primary's bucket count (the `split`) for a load-balance percentage as Windows states it:
 * the share of clients served by THIS server (`-LoadBalancePercent`, 0..100; above 100 is
 * taken as 100). This server gets round(percent * 256 / 100) buckets: 0 % none, 50 % 128,
 * 100 % all 256; the partner the rest, so the two shares always add up to 256.
 * @param role  this server's role (the HBA always counts the primary's buckets)
 * @return 0..256, for fo_hash_hba_from_split()
 */
unsigned fo_hash_split_from_percent(enum fo_role role, unsigned local_percent);

/** @return true when the HBA gives bucket @p bucket to the primary (ISC bit meaning). */
bool fo_hash_hba_primary(const uint8_t hba[FO_HASH_HBA_SIZE], uint8_t bucket);

/** Number of buckets the HBA gives to the primary (0..256), e.g. to log "split 128". */
unsigned fo_hash_hba_count(const uint8_t hba[FO_HASH_HBA_SIZE]);

/** One client request, as the load balancer needs it. */
struct fo_hash_client {
	const uint8_t *client_id;	/**< option 61 contents, or NULL */
	size_t client_id_len;
	const uint8_t *chaddr;		/**< 16 bytes */
	size_t hlen;
	uint16_t secs;			/**< BOOTP secs, host byte order */
};

/**
 * Whether this server answers this client in NORMAL (ISC load_balance_mine).
 * @param hba       the relationship's HBA, or NULL when none was configured/received: then no
 *                  client is ours (ISC), except by @p max_secs
 * @param role      our role
 * @param max_secs  load balance max seconds; the client is ours when secs > max_secs (ISC
 *                  compares with "<", so secs equal to the limit still goes by the hash);
 *                  FO_HASH_MAX_SECS_NEVER disables the override
 */
bool fo_hash_mine(const uint8_t *hba, enum fo_role role, uint32_t max_secs,
		  const struct fo_hash_client *c);

/**
 * Whether the partner would answer a client with this key in NORMAL (ISC peer_wants_lease,
 * used to give a freed address to the server its last client hashes to). False without an HBA.
 */
bool fo_hash_partner_wants(const uint8_t *hba, enum fo_role role, const uint8_t *client_id,
			   size_t client_id_len, const uint8_t *chaddr, size_t hlen);
