/*
 * fo_hash: RFC 3074 load balancing, bit for bit as ISC dhcpd (see fo_hash.h).
 */
#include "fo_hash.h"

/*
 * RFC 3074 §6 mixing table: a permutation of 0..255 that every interoperable implementation
 * MUST use (the same table as ISC loadb_mx_tbl and Kea's query_filter.cc).
 */
static const uint8_t mx_tbl[256] = {
	251, 175, 119, 215, 81, 14, 79, 191, 103, 49, 181, 143, 186, 157, 0, 232,
	31, 32, 55, 60, 152, 58, 17, 237, 174, 70, 160, 144, 220, 90, 57, 223,
	59, 3, 18, 140, 111, 166, 203, 196, 134, 243, 124, 95, 222, 179, 197, 65,
	180, 48, 36, 15, 107, 46, 233, 130, 165, 30, 123, 161, 209, 23, 97, 16,
	40, 91, 219, 61, 100, 10, 210, 109, 250, 127, 22, 138, 29, 108, 244, 67,
	207, 9, 178, 204, 74, 98, 126, 249, 167, 116, 34, 77, 193, 200, 121, 5,
	20, 113, 71, 35, 128, 13, 182, 94, 25, 226, 227, 199, 75, 27, 41, 245,
	230, 224, 43, 225, 177, 26, 155, 150, 212, 142, 218, 115, 241, 73, 88, 105,
	39, 114, 62, 255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12, 84,
	82, 163, 44, 139, 228, 236, 205, 242, 217, 11, 187, 146, 159, 64, 86, 239,
	195, 42, 106, 198, 118, 112, 184, 172, 87, 2, 173, 117, 176, 229, 247, 253,
	137, 185, 99, 164, 102, 147, 45, 66, 231, 52, 141, 211, 194, 206, 246, 238,
	56, 110, 78, 248, 63, 240, 189, 93, 92, 51, 53, 183, 19, 171, 72, 50,
	33, 104, 101, 69, 8, 252, 83, 120, 76, 135, 85, 54, 202, 125, 188, 213,
	96, 235, 136, 208, 162, 129, 190, 132, 156, 38, 47, 1, 7, 254, 24, 4,
	216, 131, 89, 21, 28, 133, 37, 153, 149, 80, 170, 68, 6, 169, 234, 151,
};

uint8_t fo_hash_bucket(const uint8_t *key, size_t len)
{
	uint8_t h = (uint8_t)len;	/* ISC: unsigned char hash = len */
	size_t i;

	for (i = len; i > 0;) {
		h = mx_tbl[h ^ key[--i]];
	}
	return h;
}

uint8_t fo_hash_client_bucket(const uint8_t *client_id, size_t client_id_len,
			      const uint8_t *chaddr, size_t hlen)
{
	if (client_id && client_id_len) {
		return fo_hash_bucket(client_id, client_id_len);
	}
	return fo_hash_bucket(chaddr, hlen > FO_HASH_CHADDR_MAX ? FO_HASH_CHADDR_MAX : hlen);
}

void fo_hash_hba_from_split(uint8_t hba[FO_HASH_HBA_SIZE], unsigned split)
{
	unsigned b;

	for (b = 0; b < FO_HASH_HBA_SIZE; b++) {
		hba[b] = 0;
	}
	for (b = 0; b < split && b < 256; b++) {
		hba[b >> 3] |= (uint8_t)(1u << (b & 7));	/* ISC confpars.c: LSB first */
	}
}

unsigned fo_hash_split_from_percent(enum fo_role role, unsigned local_percent)
{
	unsigned mine;

	if (local_percent > 100) {
		local_percent = 100;
	}
	mine = (local_percent * 256u + 50) / 100;	/* 0 -> 0, 50 -> 128, 100 -> 256 */
	return role == FO_ROLE_PRIMARY ? mine : 256 - mine;
}

bool fo_hash_hba_primary(const uint8_t hba[FO_HASH_HBA_SIZE], uint8_t bucket)
{
	return hba[bucket >> 3] & (1u << (bucket & 7));
}

unsigned fo_hash_hba_count(const uint8_t hba[FO_HASH_HBA_SIZE])
{
	unsigned b, n = 0;

	for (b = 0; b < 256; b++) {
		n += fo_hash_hba_primary(hba, (uint8_t)b);
	}
	return n;
}

bool fo_hash_mine(const uint8_t *hba, enum fo_role role, uint32_t max_secs,
		  const struct fo_hash_client *c)
{
	bool primary_serves;

	/* ISC: "if (state->load_balance_max_secs < ec) return 1", before the HBA check. */
	if (max_secs != FO_HASH_MAX_SECS_NEVER && c->secs > max_secs) {
		return true;
	}
	if (!hba) {
		return false;	/* ISC: without an HBA nothing is ours */
	}
	primary_serves = fo_hash_hba_primary(
		hba, fo_hash_client_bucket(c->client_id, c->client_id_len, c->chaddr, c->hlen));
	return role == FO_ROLE_PRIMARY ? primary_serves : !primary_serves;
}

bool fo_hash_partner_wants(const uint8_t *hba, enum fo_role role, const uint8_t *client_id,
			   size_t client_id_len, const uint8_t *chaddr, size_t hlen)
{
	bool primary_serves;

	if (!hba || (!client_id_len && !hlen)) {
		return false;	/* ISC: no HBA, or nothing to hash */
	}
	primary_serves = fo_hash_hba_primary(
		hba, fo_hash_client_bucket(client_id, client_id_len, chaddr, hlen));
	return role == FO_ROLE_PRIMARY ? !primary_serves : primary_serves;
}
