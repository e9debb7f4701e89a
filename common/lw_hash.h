/*
 * lw_hash.h: the 64-bit mixer and byte-string hash the data plane's tables share.
 *
 * lw_mix64 is MurmurHash3's fmix64 finaliser. lw_hash_chain runs a byte string through it
 * 8 bytes at a time (the tail zero-padded) from a state already seeded with a table's
 * per-start secret, so that clients cannot aim at one bucket; lw_hash_bytes seeds it with
 * the secret and the length. Pure functions, any thread.
 */
#ifndef LW_HASH_H
#define LW_HASH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t lw_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/** The chain of @p len bytes at @p p from state @p h (already seeded), finalised. */
static inline uint64_t lw_hash_chain(uint64_t h, const uint8_t *p, uint32_t len)
{
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		h = lw_mix64(h ^ v) * 0x9e3779b97f4a7c15ULL;
	}
	if (i < len) {
		uint64_t v = 0;

		memcpy(&v, p + i, len - i);
		h = lw_mix64(h ^ v) * 0x9e3779b97f4a7c15ULL;
	}
	return lw_mix64(h);
}

/** Hash of @p len bytes at @p p under @p seed (the length is part of it). */
static inline uint64_t lw_hash_bytes(uint64_t seed, const uint8_t *p, uint32_t len)
{
	return lw_hash_chain(lw_mix64(seed ^ 0x13198a2e03707344ULL ^ len), p, len);
}

#endif /* LW_HASH_H */
