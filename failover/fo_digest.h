/*
 * fo_digest: the failover message-digest option (draft-ietf-dhc-failover-12 §11.1, §12.17):
 * MD5 (RFC 1321), SHA-256 (FIPS 180-4), HMAC (RFC 2104) over either, and signing / verifying
 * an encoded message. Every key-derived buffer is wiped before its function returns.
 *
 * Pure C on byte buffers: no dependencies (no OpenSSL), no allocation, no global state; every
 * function is safe to call from any thread on its own arguments.
 *
 * What the digest is (D12 §11.1): option 17 carries a type byte and the digest. Type 1 is the
 * only one D12 defines: a 16-byte HMAC-MD5, keyed with the relationship's shared secret, over
 * the WHOLE encoded message (header included) with the 16 digest bytes set to zero.
 *
 * Type 240 (FO_DIGEST_HMAC_SHA256) is leasewire's own: a 32-byte HMAC-SHA-256 (FIPS 180-4,
 * RFC 2104) computed exactly as type 1 (same key, same input, digest bytes zero), for two
 * leasewire partners. Why 240: D12 defines only 1; Windows Server sends type 2 (HMAC-SHA256,
 * "Microsoft-specific" in Wireshark's packet-dhcpfo.c, whose exact input is not documented),
 * so 2 must not be reused for a computation that may differ from Windows'; the low values
 * are where a future public assignment would go. 240 is far from both, so a Windows or ISC
 * peer sees an unknown type (reject 12), never a digest that fails to compare.
 * Windows' type 2 is NOT supported, and nothing here claims compatibility with it. ISC dhcpd
 * 4.4.3 neither sends nor checks a digest.
 *
 * Where the option sits: D12 §11.1 and §12.17 say first, the §6.3 schematic and ISC's parser
 * ("digest not at end of message") say last. fo_msg_encode() writes it last; the functions
 * below use the FIRST message-digest option wherever it is (the one fo_msg_decode() keeps),
 * and the HMAC covers every other byte, so the position does not weaken the check.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lw_attr.h"

#define FO_MD5_LEN		16	/**< MD5 output, bytes */
#define FO_MD5_BLOCK		64	/**< MD5 block, bytes (the HMAC key pad size) */
#define FO_SHA256_LEN		32	/**< SHA-256 output, bytes */
#define FO_SHA256_BLOCK		64	/**< SHA-256 block, bytes (the HMAC key pad size) */
#define FO_DIGEST_HMAC_MD5	1	/**< message-digest type byte for HMAC-MD5 (D12) */
#define FO_DIGEST_HMAC_SHA256	240	/**< type byte for HMAC-SHA-256 (leasewire, above) */
#define FO_DIGEST_DATA_LEN	(1 + FO_MD5_LEN)	/**< message-digest option data length */
#define FO_DIGEST_DATA_MAX	(1 + FO_SHA256_LEN)	/**< the longest option data */

/**
 * Errors of fo_digest_sign() / fo_digest_verify(); negative and distinct from enum fo_err
 * (fo_msg owns -1100 .. -1119).
 */
enum fo_digest_err {
	FO_DIGEST_E_MISSING = -1130,	/**< no message-digest option in the message */
	FO_DIGEST_E_TYPE = -1131,	/**< digest type is not 1, or its length is not 17 */
	FO_DIGEST_E_MISMATCH = -1132,	/**< verify: the HMAC does not match */
	FO_DIGEST_E_FORMAT = -1133,	/**< not a well-framed message (length, payload
					 *   offset, option framing) */
};

/** MD5 state. Plain data: copy it to fork a computation. */
struct fo_md5 {
	uint32_t h[4];
	uint64_t n;			/**< bytes hashed so far */
	uint8_t buf[FO_MD5_BLOCK];	/**< a partial block: n % 64 bytes of it */
};

/**
 * HMAC-MD5 state. After fo_hmac_md5_init() it holds the key only (as the MD5 states after
 * the inner and outer pads): keep one such keyed state and copy it for each message, so the
 * key is absorbed once. Holds key material: wipe it when done (fo_digest_wipe()).
 */
struct fo_hmac_md5 {
	struct fo_md5 inner;
	struct fo_md5 outer;
};

/** SHA-256 state (FIPS 180-4). Plain data: copy it to fork a computation. */
struct fo_sha256 {
	uint32_t h[8];
	uint64_t n;			/**< bytes hashed so far */
	uint8_t buf[FO_SHA256_BLOCK];	/**< a partial block: n % 64 bytes of it */
};

/** HMAC-SHA-256 state, used as struct fo_hmac_md5 is (keyed once, copied per message). */
struct fo_hmac_sha256 {
	struct fo_sha256 inner;
	struct fo_sha256 outer;
};

/**
 * A keyed message-digest state of either type: what a link keeps for its shared secret.
 * Holds key material: wipe it when done (fo_digest_wipe()).
 */
struct fo_digest_key {
	uint8_t type;			/**< FO_DIGEST_HMAC_MD5 or FO_DIGEST_HMAC_SHA256 */
	union {
		struct fo_hmac_md5 md5;
		struct fo_hmac_sha256 sha256;
	} u;
};

/** Start an MD5 computation. */
void fo_md5_init(struct fo_md5 *c);

/** Hash @p len bytes at @p data (NULL allowed when @p len is 0). */
void fo_md5_update(struct fo_md5 *c, const void *data, size_t len);

/** Finish: write the 16-byte digest to @p out; @p c is wiped (initialise it again to reuse). */
void fo_md5_final(struct fo_md5 *c, uint8_t out[FO_MD5_LEN]);

/** One-shot MD5 of @p len bytes at @p data. */
void fo_md5(const void *data, size_t len, uint8_t out[FO_MD5_LEN]);

/**
 * Start an HMAC-MD5 (RFC 2104) with @p key: a key longer than 64 bytes is hashed first, as
 * RFC 2104 says. @p key may be NULL when @p key_len is 0.
 */
void fo_hmac_md5_init(struct fo_hmac_md5 *h, const void *key, size_t key_len);

/** Add @p len bytes of the message. */
void fo_hmac_md5_update(struct fo_hmac_md5 *h, const void *data, size_t len);

/** Finish: write the 16-byte MAC to @p out; @p h is wiped, and so is every key-derived
 *  temporary (the inner digest, the block words). Key it, or copy a keyed state, again. */
void fo_hmac_md5_final(struct fo_hmac_md5 *h, uint8_t out[FO_MD5_LEN]);

/** One-shot HMAC-MD5. */
void fo_hmac_md5(const void *key, size_t key_len, const void *data, size_t len,
		 uint8_t out[FO_MD5_LEN]);

/** Start a SHA-256 computation. */
void fo_sha256_init(struct fo_sha256 *c);

/** Hash @p len bytes at @p data (NULL allowed when @p len is 0). */
void fo_sha256_update(struct fo_sha256 *c, const void *data, size_t len);

/** Finish: write the 32-byte digest to @p out; @p c is wiped. */
void fo_sha256_final(struct fo_sha256 *c, uint8_t out[FO_SHA256_LEN]);

/** One-shot SHA-256 of @p len bytes at @p data. */
void fo_sha256(const void *data, size_t len, uint8_t out[FO_SHA256_LEN]);

/** Start an HMAC-SHA-256 (RFC 2104): a key longer than 64 bytes is hashed first. */
void fo_hmac_sha256_init(struct fo_hmac_sha256 *h, const void *key, size_t key_len);

/** Add @p len bytes of the message. */
void fo_hmac_sha256_update(struct fo_hmac_sha256 *h, const void *data, size_t len);

/** Finish: write the 32-byte MAC to @p out; @p h and the temporaries are wiped as by
 *  fo_hmac_md5_final(). */
void fo_hmac_sha256_final(struct fo_hmac_sha256 *h, uint8_t out[FO_SHA256_LEN]);

/** One-shot HMAC-SHA-256. */
void fo_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		    uint8_t out[FO_SHA256_LEN]);

/**
 * @return the MAC length of digest type @p type (16 for HMAC-MD5, 32 for HMAC-SHA-256), 0 for
 *         a type not implemented here. The option data is one byte more (the type).
 */
size_t fo_digest_mac_len(uint8_t type);

/** @return "HMAC-MD5", "HMAC-SHA256", or "unknown". */
const char *fo_digest_type_str(uint8_t type);

/**
 * Key a digest state with the shared secret.
 * @param type  FO_DIGEST_HMAC_MD5 or FO_DIGEST_HMAC_SHA256
 * @return 0, or -EINVAL for another type (@p k is then zeroed).
 */
__attribute__((warn_unused_result))
int fo_digest_key_init(struct fo_digest_key *k, uint8_t type, const void *secret,
		       size_t secret_len);

/**
 * As fo_digest_sign() with a key of either type: the first message-digest option must have
 * 1 + fo_digest_mac_len(k->type) bytes of data; it gets the type byte and the MAC.
 * @return 0, FO_DIGEST_E_MISSING, FO_DIGEST_E_TYPE (wrong data length) or
 *         FO_DIGEST_E_FORMAT; @p msg unchanged on error.
 */
__attribute__((warn_unused_result))
int fo_digest_key_sign(uint8_t *msg, size_t len, const struct fo_digest_key *k);

/**
 * As fo_digest_verify() with a key of either type. A digest of another type than k->type
 * (the partner uses the other algorithm, or Windows' 2), or of the wrong length, is
 * FO_DIGEST_E_TYPE: a relationship accepts exactly one algorithm.
 */
__attribute__((warn_unused_result))
int fo_digest_key_verify(const uint8_t *msg, size_t len, const struct fo_digest_key *k);

/**
 * Compare @p n bytes in time that depends on @p n only (not on where they differ).
 * @return true when equal.
 */
bool fo_digest_equal(const void *a, const void *b, size_t n);

/** Set @p n bytes to zero in a way the compiler does not remove (key material). */
void fo_digest_wipe(void *p, size_t n);

/**
 * Sign an encoded message in place: set the first message-digest option to type 1 and the
 * HMAC-MD5 of the message computed with its 16 digest bytes zero.
 *
 * @param msg  one whole encoded message (as fo_msg_encode() wrote it) that already carries a
 *             message-digest option with 17 bytes of data (their value does not matter).
 * @param len  its length (= its length field).
 * @param key  a keyed state from fo_hmac_md5_init(); not changed (copied).
 * @return 0, FO_DIGEST_E_MISSING (no digest option), FO_DIGEST_E_TYPE (its data is not 17
 *         bytes) or FO_DIGEST_E_FORMAT. On error @p msg is unchanged.
 */
_mustcheck_
int fo_digest_sign(uint8_t *msg, size_t len, const struct fo_hmac_md5 *key);

/**
 * Verify the first message-digest option of a received message.
 *
 * @param msg  one whole message, as fo_frame_len() delimited it; not modified (the digest
 *             bytes are replaced by zeros in the computation only).
 * @param len  its length.
 * @param key  a keyed state from fo_hmac_md5_init(); not changed.
 * @return 0 when authentic; FO_DIGEST_E_MISSING, FO_DIGEST_E_TYPE (a type other than 1, e.g.
 *         Windows' 2, or a length other than 17), FO_DIGEST_E_MISMATCH, FO_DIGEST_E_FORMAT.
 * @note The comparison is constant-time. A payload offset below 12 is read as 12 (as
 *       FO_DECODE_MS_QUIRKS does); the HMAC covers the bytes as received either way.
 */
_mustcheck_
int fo_digest_verify(const uint8_t *msg, size_t len, const struct fo_hmac_md5 *key);

/** Name of an FO_DIGEST_E_* code ("digest-missing", ...), "ok" for 0, else "unknown". */
const char *fo_digest_err_str(int err);
