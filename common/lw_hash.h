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

/* A 32-bit word read from memory as little-endian bytes, as a number. */
static inline uint32_t lw_le32(uint32_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(w);
#else
	return w;
#endif
}

static inline uint64_t lw_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/**
 * The last @p n bytes (1 to 7) at @p p as one word, zero-padded: what a memcpy() of them into
 * a zeroed uint64_t gives on a little-endian machine (the byte at p[k] in bits 8k..8k+7),
 * read with loads of whole words of its own instead. The memcpy() wrote the word in pieces
 * and read it back whole, and a load over several smaller stores cannot be forwarded from
 * them: it waits for them to reach the cache (perf: 41 % of bt_key_hash()'s samples on the
 * next instruction, for every client key, whose usual 7 bytes are all tail). Reads exactly
 * p[0] .. p[n - 1].
 */
static inline uint64_t lw_tail64(const uint8_t *p, uint32_t n)
{
	if (n >= 4) {
		uint32_t lo, hi;

		/* Bytes 0-3 and n-4 .. n-1: the overlap carries the same bytes in both. */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return lw_le32(lo) | (uint64_t)lw_le32(hi) << (8 * (n - 4));
	}
	/* 1 to 3 bytes: first, middle, last. */
	return (uint64_t)p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) |
	       (uint64_t)p[n - 1] << (8 * (n - 1));
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
		h = lw_mix64(h ^ lw_tail64(p + i, len - i)) * 0x9e3779b97f4a7c15ULL;
	}
	return lw_mix64(h);
}

/** Hash of @p len bytes at @p p under @p seed (the length is part of it). */
static inline uint64_t lw_hash_bytes(uint64_t seed, const uint8_t *p, uint32_t len)
{
	return lw_hash_chain(lw_mix64(seed ^ 0x13198a2e03707344ULL ^ len), p, len);
}

#endif /* LW_HASH_H */
