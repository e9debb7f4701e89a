/*
 * fo_digest: MD5, SHA-256, HMAC over either and the message-digest option. See fo_digest.h
 * for the contract.
 *
 * MD5 is written from the RFC 1321 description (little-endian words, four rounds of sixteen
 * steps, the sine-derived constants); it is checked against the RFC 1321 A.5 suite and HMAC
 * against RFC 2202 in tests/unit/test_fo_digest.c. MD5 is broken for collisions, not as the
 * PRF inside HMAC, which is all D12 asks of it.
 *
 * SHA-256 is written from FIPS 180-4 §4.1.2, §4.2.2, §5.3.3, §6.2 (big-endian words, 64 rounds);
 * checked against the FIPS 180-4 examples and HMAC-SHA-256 against RFC 4231. Written here
 * rather than taken from libcrypto so the module keeps no dependencies and stays fuzzable and
 * usable anywhere, as the MD5 half is; it runs once per failover message, far from any hot path.
 *
 * HMAC is written once, over a hash descriptor (struct hash_desc); the typed fo_hmac_md5_* and
 * fo_hmac_sha256_* functions are its two instances. Every buffer derived from the key (the
 * padded key blocks, a hashed long key, the inner digest, the block functions' message words)
 * is wiped with fo_digest_wipe() before its function returns.
 */
#include <errno.h>
#include <string.h>

#include "byteorder.h"
#include "fo_digest.h"
#include "fo_msg.h"

/* K[i] = floor(|sin(i + 1)| * 2^32) (RFC 1321 §3.4). */
static const uint32_t K[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
	0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
	0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
	0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
	0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
	0xeb86d391,
};

/* Left-rotation amounts, four per round. */
static const uint8_t S[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

static uint32_t rol(uint32_t x, unsigned int n)
{
	return x << n | x >> (32 - n);
}

static void md5_block(uint32_t *h, const uint8_t *p)
{
	uint32_t x[16];
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3];

	for (int i = 0; i < 16; i++) {
		x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	}
	for (unsigned int i = 0; i < 64; i++) {
		uint32_t f, t;
		unsigned int g;

		switch (i / 16) {
		case 0:
			f = (b & c) | (~b & d);
			g = i;
			break;
		case 1:
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
			break;
		case 2:
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
			break;
		default:
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
			break;
		}
		t = d;
		d = c;
		c = b;
		b = b + rol(a + f + K[i] + x[g], S[i / 16][i % 4]);
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	/* The block may be K ^ ipad, K ^ opad or the inner digest (HMAC). */
	fo_digest_wipe(x, sizeof(x));
}

void fo_md5_init(struct fo_md5 *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->n = 0;
}

/*
 * The Merkle-Damgard buffering both hashes share (64-byte blocks): whole blocks of @p data go
 * to @p block at once, a partial one waits in @p buf, *@p n counts every byte.
 */
static void md_update(uint32_t *h, uint8_t buf[64], uint64_t *n, const void *data, size_t len,
		      void (*block)(uint32_t *h, const uint8_t *p))
{
	const uint8_t *p = data;
	size_t have = (size_t)(*n % 64);

	if (len == 0) {
		return;
	}
	*n += len;
	if (have > 0) {
		size_t take = 64 - have < len ? 64 - have : len;

		memcpy(buf + have, p, take);
		p += take;
		len -= take;
		if (have + take < 64) {
			return;
		}
		block(h, buf);
	}
	for (; len >= 64; p += 64, len -= 64) {
		block(h, p);
	}
	if (len > 0) {
		memcpy(buf, p, len);
	}
}

void fo_md5_update(struct fo_md5 *c, const void *data, size_t len)
{
	_Static_assert(FO_MD5_BLOCK == 64, "md_update works on 64-byte blocks");
	md_update(c->h, c->buf, &c->n, data, len, md5_block);
}

/*
 * The Merkle-Damgard finish both hashes share: 0x80, zeros up to 56 mod 64 and the message's
 * bit length in 8 bytes, then the first @p words state words out; the length and the words
 * little-endian (MD5, RFC 1321 §3.1-3.5) or, @p big, big-endian (SHA-256, FIPS 180-4 §5.1.1).
 */
static void md_final(uint32_t *h, uint8_t buf[64], uint64_t *n,
		     void (*block)(uint32_t *h, const uint8_t *p), bool big, unsigned words,
		     uint8_t *out)
{
	static const uint8_t pad[64] = { 0x80 };
	uint64_t bits = *n * 8;
	uint8_t len8[8];
	size_t have = (size_t)(*n % 64);

	for (int i = 0; i < 8; i++) {
		len8[big ? 7 - i : i] = (uint8_t)(bits >> (8 * i));
	}
	md_update(h, buf, n, pad, have < 56 ? 56 - have : 120 - have, block);
	md_update(h, buf, n, len8, sizeof(len8), block);
	for (unsigned i = 0; i < words; i++) {
		for (int k = 0; k < 4; k++) {
			out[4 * i + (big ? 3 - k : k)] = (uint8_t)(h[i] >> (8 * k));
		}
	}
}

void fo_md5_final(struct fo_md5 *c, uint8_t out[FO_MD5_LEN])
{
	md_final(c->h, c->buf, &c->n, md5_block, false, FO_MD5_LEN / 4, out);
	fo_digest_wipe(c, sizeof(*c));
}

void fo_md5(const void *data, size_t len, uint8_t out[FO_MD5_LEN])
{
	struct fo_md5 c;

	fo_md5_init(&c);
	fo_md5_update(&c, data, len);
	fo_md5_final(&c, out);
}

bool fo_digest_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++) {
		d |= (uint8_t)(x[i] ^ y[i]);
	}
	return d == 0;
}

void fo_digest_wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	for (size_t i = 0; i < n; i++) {
		v[i] = 0;
	}
}

/* --- SHA-256 ------------------------------------------------------------------------------- */

/* First 32 bits of the fractional parts of the cube roots of the first 64 primes (§4.2.2). */
static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned int n)
{
	return x >> n | x << (32 - n);
}

static void sha256_block(uint32_t *h, const uint8_t *p)
{
	uint32_t w[64];
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];

	for (int i = 0; i < 16; i++) {
		w[i] = lw_get32(p + 4 * i);
	}
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
			      K256[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
	fo_digest_wipe(w, sizeof(w));
}

void fo_sha256_init(struct fo_sha256 *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, iv, sizeof(iv));
	c->n = 0;
}

void fo_sha256_update(struct fo_sha256 *c, const void *data, size_t len)
{
	_Static_assert(FO_SHA256_BLOCK == 64, "md_update works on 64-byte blocks");
	md_update(c->h, c->buf, &c->n, data, len, sha256_block);
}

void fo_sha256_final(struct fo_sha256 *c, uint8_t out[FO_SHA256_LEN])
{
	md_final(c->h, c->buf, &c->n, sha256_block, true, FO_SHA256_LEN / 4, out);
	fo_digest_wipe(c, sizeof(*c));
}

void fo_sha256(const void *data, size_t len, uint8_t out[FO_SHA256_LEN])
{
	struct fo_sha256 c;

	fo_sha256_init(&c);
	fo_sha256_update(&c, data, len);
	fo_sha256_final(&c, out);
}

/* --- HMAC (RFC 2104), once for both hashes ---------------------------------------------- */

/*
 * A hash as HMAC sees it: its output length and its three steps on an opaque state (a struct
 * fo_md5 or fo_sha256). Both hashes have 64-byte blocks, so one key schedule serves.
 */
#define HMAC_BLOCK 64
_Static_assert(FO_MD5_BLOCK == HMAC_BLOCK && FO_SHA256_BLOCK == HMAC_BLOCK,
	       "one HMAC key schedule serves both hashes");

struct hash_desc {
	size_t len;
	void (*init)(void *c);
	void (*update)(void *c, const void *data, size_t len);
	void (*final)(void *c, uint8_t *out);		/* wipes c */
};

/* Large enough for either state (a long key is hashed in one). */
union hash_state {
	struct fo_md5 md5;
	struct fo_sha256 sha256;
};

/*
 * Key @p inner and @p outer (states of @p d): the key, hashed first when longer than a block,
 * XOR 0x36 and XOR 0x5c, absorbed as their first block. Every key-derived buffer is wiped.
 */
static void hmac_init(const struct hash_desc *d, void *inner, void *outer, const void *key,
		      size_t key_len)
{
	uint8_t k[HMAC_BLOCK] = { 0 };
	uint8_t pad[HMAC_BLOCK];

	if (key_len > HMAC_BLOCK) {
		union hash_state c;

		d->init(&c);
		d->update(&c, key, key_len);
		d->final(&c, k);
	} else if (key_len > 0) {
		memcpy(k, key, key_len);
	}
	for (int i = 0; i < HMAC_BLOCK; i++) {
		pad[i] = k[i] ^ 0x36;
	}
	d->init(inner);
	d->update(inner, pad, sizeof(pad));
	for (int i = 0; i < HMAC_BLOCK; i++) {
		pad[i] = k[i] ^ 0x5c;
	}
	d->init(outer);
	d->update(outer, pad, sizeof(pad));
	fo_digest_wipe(k, sizeof(k));
	fo_digest_wipe(pad, sizeof(pad));
}

/* H(K ^ opad || H(K ^ ipad || text)) to @p out; both states are wiped (by d->final), and so is
 * the inner digest. */
static void hmac_final(const struct hash_desc *d, void *inner, void *outer, uint8_t *out)
{
	uint8_t in[FO_SHA256_LEN];

	_Static_assert(FO_SHA256_LEN >= FO_MD5_LEN, "in[] holds either digest");
	d->final(inner, in);
	d->update(outer, in, d->len);
	d->final(outer, out);
	fo_digest_wipe(in, sizeof(in));
}

/*
 * One instance of the above for hash NAME (fo_NAME_init/update/final on a struct fo_NAME, LEN
 * bytes out): its descriptor and the typed fo_hmac_NAME_init/update/final and one-shot of
 * fo_digest.h.
 */
#define HMAC_INSTANCE(NAME, LEN)							\
	static void NAME##_init_v(void *c)						\
	{										\
		fo_##NAME##_init(c);							\
	}										\
	static void NAME##_update_v(void *c, const void *data, size_t len)		\
	{										\
		fo_##NAME##_update(c, data, len);					\
	}										\
	static void NAME##_final_v(void *c, uint8_t *out)				\
	{										\
		fo_##NAME##_final(c, out);						\
	}										\
	static const struct hash_desc NAME##_desc = {					\
		LEN, NAME##_init_v, NAME##_update_v, NAME##_final_v,			\
	};										\
	void fo_hmac_##NAME##_init(struct fo_hmac_##NAME *h, const void *key,		\
				   size_t key_len)					\
	{										\
		hmac_init(&NAME##_desc, &h->inner, &h->outer, key, key_len);		\
	}										\
	void fo_hmac_##NAME##_update(struct fo_hmac_##NAME *h, const void *data,	\
				     size_t len)					\
	{										\
		fo_##NAME##_update(&h->inner, data, len);				\
	}										\
	void fo_hmac_##NAME##_final(struct fo_hmac_##NAME *h, uint8_t out[LEN])		\
	{										\
		hmac_final(&NAME##_desc, &h->inner, &h->outer, out);			\
	}										\
	void fo_hmac_##NAME(const void *key, size_t key_len, const void *data,		\
			    size_t len, uint8_t out[LEN])				\
	{										\
		struct fo_hmac_##NAME h;						\
											\
		fo_hmac_##NAME##_init(&h, key, key_len);				\
		fo_hmac_##NAME##_update(&h, data, len);					\
		fo_hmac_##NAME##_final(&h, out);					\
	}

HMAC_INSTANCE(md5, FO_MD5_LEN)
HMAC_INSTANCE(sha256, FO_SHA256_LEN)

size_t fo_digest_mac_len(uint8_t type)
{
	switch (type) {
	case FO_DIGEST_HMAC_MD5:
		return FO_MD5_LEN;
	case FO_DIGEST_HMAC_SHA256:
		return FO_SHA256_LEN;
	default:
		return 0;
	}
}

const char *fo_digest_type_str(uint8_t type)
{
	switch (type) {
	case FO_DIGEST_HMAC_MD5:
		return "HMAC-MD5";
	case FO_DIGEST_HMAC_SHA256:
		return "HMAC-SHA256";
	default:
		return "unknown";
	}
}

int fo_digest_key_init(struct fo_digest_key *k, uint8_t type, const void *secret,
		       size_t secret_len)
{
	memset(k, 0, sizeof(*k));
	switch (type) {
	case FO_DIGEST_HMAC_MD5:
		fo_hmac_md5_init(&k->u.md5, secret, secret_len);
		break;
	case FO_DIGEST_HMAC_SHA256:
		fo_hmac_sha256_init(&k->u.sha256, secret, secret_len);
		break;
	default:
		return -EINVAL;
	}
	k->type = type;
	return 0;
}

/*
 * Offset of the first message-digest option's data in @p msg, its length in @p dlen.
 * @return the offset, or FO_DIGEST_E_MISSING / FO_DIGEST_E_FORMAT.
 */
static long find_digest(const uint8_t *msg, size_t len, uint16_t *dlen)
{
	size_t off;

	if (len < FO_MSG_HDR_LEN || len > FO_MSG_MAX_LEN || lw_get16(msg) != len) {
		return FO_DIGEST_E_FORMAT;
	}
	off = msg[3] < FO_MSG_HDR_LEN ? FO_MSG_HDR_LEN : msg[3];
	if (off > len) {
		return FO_DIGEST_E_FORMAT;
	}
	while (off < len) {
		uint16_t code, olen;

		if (len - off < FO_OPT_HDR_LEN) {
			return FO_DIGEST_E_FORMAT;
		}
		code = lw_get16(msg + off);
		olen = lw_get16(msg + off + 2);
		off += FO_OPT_HDR_LEN;
		if (olen > len - off) {
			return FO_DIGEST_E_FORMAT;
		}
		if (code == FO_OPT_MESSAGE_DIGEST) {
			*dlen = olen;
			return (long)off;
		}
		off += olen;
	}
	return FO_DIGEST_E_MISSING;
}

/* MAC of @p msg with the mac_len bytes at @p zoff taken as zero (a copy of the keyed state,
 * wiped). */
static void mac_zeroed(const uint8_t *msg, size_t len, size_t zoff,
		       const struct fo_digest_key *k, uint8_t out[FO_SHA256_LEN])
{
	static const uint8_t zero[FO_SHA256_LEN];
	struct fo_digest_key h = *k;
	const struct hash_desc *d = k->type == FO_DIGEST_HMAC_SHA256 ? &sha256_desc : &md5_desc;
	void *inner = k->type == FO_DIGEST_HMAC_SHA256 ? (void *)&h.u.sha256.inner :
			(void *)&h.u.md5.inner;
	void *outer = k->type == FO_DIGEST_HMAC_SHA256 ? (void *)&h.u.sha256.outer :
			(void *)&h.u.md5.outer;

	d->update(inner, msg, zoff);
	d->update(inner, zero, d->len);
	d->update(inner, msg + zoff + d->len, len - zoff - d->len);
	hmac_final(d, inner, outer, out);
	fo_digest_wipe(&h, sizeof(h));
}

int fo_digest_key_sign(uint8_t *msg, size_t len, const struct fo_digest_key *k)
{
	uint8_t mac[FO_SHA256_LEN];
	size_t ml = fo_digest_mac_len(k->type);
	uint16_t dlen = 0;
	long off = find_digest(msg, len, &dlen);

	if (off < 0) {
		return (int)off;
	}
	if (ml == 0 || dlen != 1 + ml) {
		return FO_DIGEST_E_TYPE;
	}
	msg[off] = k->type;
	mac_zeroed(msg, len, (size_t)off + 1, k, mac);
	memcpy(msg + off + 1, mac, ml);
	fo_digest_wipe(mac, sizeof(mac));
	return 0;
}

int fo_digest_key_verify(const uint8_t *msg, size_t len, const struct fo_digest_key *k)
{
	uint8_t mac[FO_SHA256_LEN];
	bool equal;
	size_t ml = fo_digest_mac_len(k->type);
	uint16_t dlen = 0;
	long off = find_digest(msg, len, &dlen);

	if (off < 0) {
		return (int)off;
	}
	if (ml == 0 || dlen != 1 + ml || msg[off] != k->type) {
		return FO_DIGEST_E_TYPE;
	}
	mac_zeroed(msg, len, (size_t)off + 1, k, mac);
	equal = fo_digest_equal(mac, msg + off + 1, ml);
	fo_digest_wipe(mac, sizeof(mac));
	return equal ? 0 : FO_DIGEST_E_MISMATCH;
}

int fo_digest_sign(uint8_t *msg, size_t len, const struct fo_hmac_md5 *key)
{
	struct fo_digest_key k = { .type = FO_DIGEST_HMAC_MD5, .u.md5 = *key };
	int rc = fo_digest_key_sign(msg, len, &k);

	fo_digest_wipe(&k, sizeof(k));
	return rc;
}

int fo_digest_verify(const uint8_t *msg, size_t len, const struct fo_hmac_md5 *key)
{
	struct fo_digest_key k = { .type = FO_DIGEST_HMAC_MD5, .u.md5 = *key };
	int rc = fo_digest_key_verify(msg, len, &k);

	fo_digest_wipe(&k, sizeof(k));
	return rc;
}

const char *fo_digest_err_str(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case FO_DIGEST_E_MISSING:
		return "digest-missing";
	case FO_DIGEST_E_TYPE:
		return "digest-type";
	case FO_DIGEST_E_MISMATCH:
		return "digest-mismatch";
	case FO_DIGEST_E_FORMAT:
		return "digest-format";
	default:
		return "unknown";
	}
}
