/*
 * Unit tests of failover/fo_digest: MD5 against the RFC 1321 A.5 suite, HMAC-MD5 against
 * RFC 2202 test cases 1-7, SHA-256 against the FIPS 180-4 examples, HMAC-SHA-256 against
 * RFC 4231 test cases 1-7, signing / verifying encoded failover messages with both, and that
 * an HMAC leaves no key-derived bytes on the stack it ran on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "fmt.h"
#include "fo_digest.h"
#include "fo_msg.h"

static void check_md5(const char *in, const char *want)
{
	uint8_t d[FO_MD5_LEN];
	char h[2 * FO_MD5_LEN + 1];
	struct fo_md5 c;

	fo_md5(in, strlen(in), d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, want);
	/* The same bytes fed one at a time. */
	fo_md5_init(&c);
	for (size_t i = 0; in[i] != '\0'; i++) {
		fo_md5_update(&c, in + i, 1);
	}
	fo_md5_final(&c, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, want);
}

/* RFC 1321 appendix A.5. */
static void test_md5_rfc1321(void **state)
{
	(void)state;
	check_md5("", "d41d8cd98f00b204e9800998ecf8427e");
	check_md5("a", "0cc175b9c0f1b6a831c399e269772661");
	check_md5("abc", "900150983cd24fb0d6963f7d28e17f72");
	check_md5("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
	check_md5("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
	check_md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f");
	check_md5("1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a");
}

/* Every length around the block and padding boundaries, split at every point, agrees. */
static void test_md5_splits(void **state)
{
	uint8_t buf[200];
	uint8_t one[FO_MD5_LEN], two[FO_MD5_LEN];
	char h[2 * FO_MD5_LEN + 1];
	struct fo_md5 c;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 7 + 3);
	}
	for (size_t len = 0; len <= sizeof(buf); len++) {
		fo_md5(buf, len, one);
		for (size_t cut = 0; cut <= len; cut += 13) {
			fo_md5_init(&c);
			fo_md5_update(&c, buf, cut);
			fo_md5_update(&c, NULL, 0);
			fo_md5_update(&c, buf + cut, len - cut);
			fo_md5_final(&c, two);
			assert_memory_equal(one, two, FO_MD5_LEN);
		}
	}
	/* A million 'a' (the usual long-message check). */
	memset(buf, 'a', sizeof(buf));
	fo_md5_init(&c);
	for (int i = 0; i < 5000; i++) {
		fo_md5_update(&c, buf, sizeof(buf));
	}
	fo_md5_final(&c, one);
	lw_hex_fmt(h, sizeof(h), one, sizeof(one), 0);
	assert_string_equal(h, "7707d6ae4e027c70eea2a935c2296f21");
}

static void check_hmac(const uint8_t *key, size_t klen, const void *data, size_t dlen,
		       const char *want)
{
	uint8_t d[FO_MD5_LEN];
	char h[2 * FO_MD5_LEN + 1];

	fo_hmac_md5(key, klen, data, dlen, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, want);
}

/* RFC 2202 section 2, test cases 1-7 (case 5 also as its 96-bit truncation). */
static void test_hmac_rfc2202(void **state)
{
	uint8_t key[80], data[80];
	uint8_t d[FO_MD5_LEN];
	char h[2 * FO_MD5_LEN + 1];
	const char *t;

	(void)state;
	memset(key, 0x0b, 16);
	t = "Hi There";
	check_hmac(key, 16, t, strlen(t), "9294727a3638bb1c13f48ef8158bfc9d");

	t = "what do ya want for nothing?";
	check_hmac((const uint8_t *)"Jefe", 4, t, strlen(t), "750c783e6ab0b503eaa86e310a5db738");

	memset(key, 0xaa, 16);
	memset(data, 0xdd, 50);
	check_hmac(key, 16, data, 50, "56be34521d144c88dbb8c733f0e8b3f6");

	for (int i = 0; i < 25; i++) {
		key[i] = (uint8_t)(i + 1);
	}
	memset(data, 0xcd, 50);
	check_hmac(key, 25, data, 50, "697eaf0aca3a3aea3a75164746ffaa79");

	memset(key, 0x0c, 16);
	t = "Test With Truncation";
	check_hmac(key, 16, t, strlen(t), "56461ef2342edc00f9bab995690efd4c");
	fo_hmac_md5(key, 16, t, strlen(t), d);
	lw_hex_fmt(h, sizeof(h), d, 12, 0);
	assert_string_equal(h, "56461ef2342edc00f9bab995");

	memset(key, 0xaa, 80);
	t = "Test Using Larger Than Block-Size Key - Hash Key First";
	check_hmac(key, 80, t, strlen(t), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");

	t = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
	check_hmac(key, 80, t, strlen(t), "6f630fad67cda0ee1fb1f562db3aa53e");
}

/* A keyed state reused by copy gives the same MAC as a fresh one, message after message. */
static void test_hmac_keyed_copy(void **state)
{
	struct fo_hmac_md5 key, h;
	uint8_t a[FO_MD5_LEN], b[FO_MD5_LEN];

	(void)state;
	fo_hmac_md5_init(&key, "s3cret", 6);
	for (int i = 0; i < 3; i++) {
		h = key;
		fo_hmac_md5_update(&h, "Hi ", 3);
		fo_hmac_md5_update(&h, "There", 5);
		fo_hmac_md5_final(&h, a);
		fo_hmac_md5("s3cret", 6, "Hi There", 8, b);
		assert_memory_equal(a, b, FO_MD5_LEN);
	}
	assert_true(fo_digest_equal(a, b, FO_MD5_LEN));
	b[FO_MD5_LEN - 1] ^= 1;
	assert_false(fo_digest_equal(a, b, FO_MD5_LEN));
	assert_true(fo_digest_equal(a, b, 0));
}

/* A STATE message with a message-digest placeholder, encoded; returns its length. */
static int signed_state(uint8_t *buf, size_t cap, const struct fo_hmac_md5 *key)
{
	static const uint8_t junk[FO_DIGEST_DATA_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9, 9,
							  9, 9, 9, 9, 9, 9, 9, 9 };
	struct fo_msg m;
	int n;

	fo_msg_init(&m, FO_MSG_STATE, 1700000000, 42);
	m.server_state = FO_SS_NORMAL;
	m.stos = 1699999000;
	m.digest = (struct fo_bytes){ junk, sizeof(junk) };
	m.present |= FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_STOS) |
		     FO_BIT(FO_OPT_MESSAGE_DIGEST);
	n = fo_msg_encode(&m, buf, cap);
	assert_true(n > 0);
	if (key != NULL) {
		assert_int_equal(fo_digest_sign(buf, (size_t)n, key), 0);
	}
	return n;
}

static void test_sign_verify(void **state)
{
	struct fo_hmac_md5 key, other;
	uint8_t buf[FO_MSG_MAX_LEN], copy[FO_MSG_MAX_LEN];
	uint8_t want[FO_MD5_LEN];
	struct fo_msg m;
	int n;

	(void)state;
	fo_hmac_md5_init(&key, "s3cret", 6);
	fo_hmac_md5_init(&other, "s3creT", 6);
	n = signed_state(buf, sizeof(buf), &key);
	/* Written last by the encoder: type 1, then the HMAC of the message with zeros there. */
	assert_int_equal(buf[n - 17], FO_DIGEST_HMAC_MD5);
	memcpy(copy, buf, (size_t)n);
	memset(copy + n - 16, 0, 16);
	fo_hmac_md5("s3cret", 6, copy, (size_t)n, want);
	assert_memory_equal(buf + n - 16, want, 16);
	/* Decodes, with the digest kept; verifies with the key, not with another. */
	assert_int_equal(fo_msg_decode(&m, buf, (size_t)n, 0), FO_OK);
	assert_int_equal(m.digest.len, FO_DIGEST_DATA_LEN);
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), 0);
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &other), FO_DIGEST_E_MISMATCH);
	/* Any single flipped bit fails, header and digest included. */
	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(copy, buf, (size_t)n);
			copy[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(fo_digest_verify(copy, (size_t)n, &key), 0);
		}
	}
	/* Signing does not depend on what the placeholder held. */
	memcpy(copy, buf, (size_t)n);
	memset(copy + n - 17, 0xee, 17);
	assert_int_equal(fo_digest_sign(copy, (size_t)n, &key), 0);
	assert_memory_equal(copy, buf, (size_t)n);
}

static void test_digest_errors(void **state)
{
	struct fo_hmac_md5 key;
	uint8_t buf[FO_MSG_MAX_LEN], before[FO_MSG_MAX_LEN];
	struct fo_msg m;
	int n;

	(void)state;
	fo_hmac_md5_init(&key, "s3cret", 6);
	/* No digest option. */
	fo_msg_init(&m, FO_MSG_CONTACT, 1700000000, 7);
	n = fo_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, FO_MSG_HDR_LEN);
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), FO_DIGEST_E_MISSING);
	assert_int_equal(fo_digest_sign(buf, (size_t)n, &key), FO_DIGEST_E_MISSING);
	/* Type 2 (Windows, HMAC-SHA256): not supported. */
	n = signed_state(buf, sizeof(buf), &key);
	buf[n - 17] = 2;
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), FO_DIGEST_E_TYPE);
	/* A digest of the wrong length: neither signed nor verified. */
	m.digest = (struct fo_bytes){ (const uint8_t *)"0123456789abcdefXY", 18 };
	m.present = FO_BIT(FO_OPT_MESSAGE_DIGEST);
	n = fo_msg_encode(&m, buf, sizeof(buf));
	memcpy(before, buf, (size_t)n);
	assert_int_equal(fo_digest_sign(buf, (size_t)n, &key), FO_DIGEST_E_TYPE);
	assert_memory_equal(buf, before, (size_t)n);
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), FO_DIGEST_E_TYPE);
	/* Framing errors. */
	assert_int_equal(fo_digest_verify(buf, 5, &key), FO_DIGEST_E_FORMAT);
	assert_int_equal(fo_digest_verify(buf, (size_t)n - 1, &key), FO_DIGEST_E_FORMAT);
	buf[FO_MSG_HDR_LEN + 3] = 200;	/* option length past the end */
	assert_int_equal(fo_digest_verify(buf, (size_t)n, &key), FO_DIGEST_E_FORMAT);
	assert_string_equal(fo_digest_err_str(FO_DIGEST_E_MISMATCH), "digest-mismatch");
	assert_string_equal(fo_digest_err_str(1), "unknown");
}

/* D12 wants the digest first; a message built that way verifies as well (position-free). */
static void test_digest_first(void **state)
{
	struct fo_hmac_md5 key;
	uint8_t buf[64];
	uint8_t mac[FO_MD5_LEN];
	size_t n = 0;

	(void)state;
	fo_hmac_md5_init(&key, "s3cret", 6);
	memset(buf, 0, sizeof(buf));
	n = FO_MSG_HDR_LEN + 4 + 17 + 4 + 1;
	buf[0] = 0;
	buf[1] = (uint8_t)n;
	buf[2] = FO_MSG_STATE;
	buf[3] = FO_MSG_HDR_LEN;
	buf[11] = 5;
	buf[13] = FO_OPT_MESSAGE_DIGEST;
	buf[15] = 17;
	buf[16] = FO_DIGEST_HMAC_MD5;
	buf[34] = FO_OPT_SERVER_STATE;
	buf[36] = 1;
	buf[37] = FO_SS_NORMAL;
	fo_hmac_md5("s3cret", 6, buf, n, mac);
	memcpy(buf + 17, mac, sizeof(mac));
	assert_int_equal(fo_digest_verify(buf, n, &key), 0);
	buf[37] = FO_SS_PARTNER_DOWN;
	assert_int_equal(fo_digest_verify(buf, n, &key), FO_DIGEST_E_MISMATCH);
}

static void check_sha256(const void *in, size_t len, const char *want)
{
	uint8_t d[FO_SHA256_LEN];
	char h[2 * FO_SHA256_LEN + 1];
	struct fo_sha256 c;
	const uint8_t *p = in;

	fo_sha256(in, len, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, want);
	/* The same bytes in uneven pieces (1, 2, 3, ... bytes). */
	fo_sha256_init(&c);
	for (size_t off = 0, step = 1; off < len; off += step, step = step % 97 + 1) {
		fo_sha256_update(&c, p + off, len - off < step ? len - off : step);
	}
	fo_sha256_final(&c, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, want);
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional"): one block, two blocks,
 * the 896-bit message, the empty message, a million 'a'. */
static void test_sha256_fips180(void **state)
{
	char *million = malloc(1000000);

	(void)state;
	assert_non_null(million);
	check_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_sha256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
		     "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
		     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	memset(million, 'a', 1000000);
	check_sha256(million, 1000000,
		     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

/*
 * The padding's edges (one function pads both hashes): messages whose length mod 64 is 55 (the
 * 0x80 and the length just fit), 56 and 63 (they spill into another block), 0 and 55 again a
 * block later. Digests of "a" x n from Python's hashlib (OpenSSL).
 */
static void test_padding_edges(void **state)
{
	static const struct {
		size_t n;
		const char *md5, *sha256;
	} v[] = {
		{ 55, "ef1772b6dff9a122358552954ad0df65",
		  "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "3b0c8ac703f828b04c6c197006d17218",
		  "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "b06521f39153d618550606be297466d5",
		  "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "014842d480b571495a4a0363793f7367",
		  "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 119, "8a7bd0732ed6a28ce75f6dabc90e1613",
		  "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "5f61c0ccad4cac44c75ff505e1f1e537",
		  "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	char a[120];

	(void)state;
	memset(a, 'a', sizeof(a));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char z[121];

		memcpy(z, a, v[i].n);
		z[v[i].n] = '\0';
		check_md5(z, v[i].md5);
		check_sha256(a, v[i].n, v[i].sha256);
	}
}

/* RFC 4231 §4.2-4.8 (case 5 is truncated to 128 bits by the RFC). */
static void test_hmac_sha256_rfc4231(void **state)
{
	static const char t7[] = "This is a test using a larger than block-size key and a larger "
				 "than block-size data. The key needs to be hashed before being "
				 "used by the HMAC algorithm.";
	uint8_t key[131], data[50], d[FO_SHA256_LEN];
	char h[2 * FO_SHA256_LEN + 1];

	(void)state;
	memset(key, 0x0b, 20);
	fo_hmac_sha256(key, 20, "Hi There", 8, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	fo_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	fo_hmac_sha256(key, 20, data, 50, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	for (int i = 0; i < 25; i++) {
		key[i] = (uint8_t)(i + 1);
	}
	memset(data, 0xcd, 50);
	fo_hmac_sha256(key, 25, data, 50, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	memset(key, 0x0c, 20);
	fo_hmac_sha256(key, 20, "Test With Truncation", 20, d);
	lw_hex_fmt(h, sizeof(h), d, 16, 0);
	assert_string_equal(h, "a3b6167473100ee06e0c796c2955552b");
	memset(key, 0xaa, 131);
	fo_hmac_sha256(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	fo_hmac_sha256(key, 131, t7, strlen(t7), d);
	lw_hex_fmt(h, sizeof(h), d, sizeof(d), 0);
	assert_string_equal(h, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* A STATE message carrying a digest option of @p dlen placeholder bytes; returns its length. */
static int state_with_digest(uint8_t *buf, size_t cap, size_t dlen)
{
	static const uint8_t junk[FO_DIGEST_DATA_MAX] = { 7 };
	struct fo_msg m;
	int n;

	fo_msg_init(&m, FO_MSG_STATE, 1700000000, 42);
	m.server_state = FO_SS_NORMAL;
	m.stos = 1699999000;
	m.digest = (struct fo_bytes){ junk, (uint16_t)dlen };
	m.present |= FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_STOS) |
		     FO_BIT(FO_OPT_MESSAGE_DIGEST);
	n = fo_msg_encode(&m, buf, cap);
	assert_true(n > 0);
	return n;
}

/* Type 240: HMAC-SHA-256 over the message with the 32 MAC bytes zero, written last. */
static void test_sign_verify_sha256(void **state)
{
	struct fo_digest_key key, other, md5;
	uint8_t buf[FO_MSG_MAX_LEN], copy[FO_MSG_MAX_LEN];
	uint8_t want[FO_SHA256_LEN];
	struct fo_msg m;
	int n;

	(void)state;
	assert_int_equal(fo_digest_key_init(&key, FO_DIGEST_HMAC_SHA256, "s3cret", 6), 0);
	assert_int_equal(fo_digest_key_init(&other, FO_DIGEST_HMAC_SHA256, "s3creT", 6), 0);
	assert_int_equal(fo_digest_key_init(&md5, FO_DIGEST_HMAC_MD5, "s3cret", 6), 0);
	assert_int_equal(fo_digest_key_init(&other, 2, "s3cret", 6), -EINVAL);
	assert_int_equal(fo_digest_key_init(&other, FO_DIGEST_HMAC_SHA256, "s3creT", 6), 0);
	assert_int_equal(fo_digest_mac_len(FO_DIGEST_HMAC_SHA256), 32);
	assert_int_equal(fo_digest_mac_len(FO_DIGEST_HMAC_MD5), 16);
	assert_int_equal(fo_digest_mac_len(2), 0);
	assert_string_equal(fo_digest_type_str(FO_DIGEST_HMAC_SHA256), "HMAC-SHA256");

	n = state_with_digest(buf, sizeof(buf), 1 + FO_SHA256_LEN);
	assert_int_equal(fo_digest_key_sign(buf, (size_t)n, &key), 0);
	assert_int_equal(buf[n - 33], FO_DIGEST_HMAC_SHA256);
	memcpy(copy, buf, (size_t)n);
	memset(copy + n - 32, 0, 32);
	fo_hmac_sha256("s3cret", 6, copy, (size_t)n, want);
	assert_memory_equal(buf + n - 32, want, 32);
	assert_int_equal(fo_msg_decode(&m, buf, (size_t)n, 0), FO_OK);
	assert_int_equal(m.digest.len, 1 + FO_SHA256_LEN);
	assert_int_equal(fo_digest_key_verify(buf, (size_t)n, &key), 0);
	assert_int_equal(fo_digest_key_verify(buf, (size_t)n, &other), FO_DIGEST_E_MISMATCH);
	/* The other algorithm is refused as a type, not compared. */
	assert_int_equal(fo_digest_key_verify(buf, (size_t)n, &md5), FO_DIGEST_E_TYPE);
	for (int i = 0; i < n; i++) {
		memcpy(copy, buf, (size_t)n);
		copy[i] ^= 0x10;
		assert_int_not_equal(fo_digest_key_verify(copy, (size_t)n, &key), 0);
	}
	/* Windows' type 2 with a 32-byte MAC: a type we do not take. */
	memcpy(copy, buf, (size_t)n);
	copy[n - 33] = 2;
	assert_int_equal(fo_digest_key_verify(copy, (size_t)n, &key), FO_DIGEST_E_TYPE);
	/* A 17-byte (MD5-sized) option cannot be signed with SHA-256, and vice versa. */
	n = state_with_digest(buf, sizeof(buf), FO_DIGEST_DATA_LEN);
	assert_int_equal(fo_digest_key_sign(buf, (size_t)n, &key), FO_DIGEST_E_TYPE);
	assert_int_equal(fo_digest_key_sign(buf, (size_t)n, &md5), 0);
	assert_int_equal(fo_digest_key_verify(buf, (size_t)n, &md5), 0);
	assert_int_equal(fo_digest_key_verify(buf, (size_t)n, &key), FO_DIGEST_E_TYPE);
	fo_digest_wipe(&key, sizeof(key));
}

/*
 * Key-derived bytes left behind (HMAC-MD5's final kept its inner digest on the stack, and the
 * MD5 block function its copy of each block: K ^ ipad, K ^ opad, the inner digest). The HMAC
 * runs on a stack of our own (makecontext), which is then searched for the key, K ^ ipad and
 * K ^ opad (their first 16 bytes, also as the big-endian words SHA-256 makes of them) and the
 * inner digest H(K ^ ipad || text). Twice: after the keying alone (later calls would
 * overwrite what it left), and after a whole MAC. Under ASan locals may live on its fake
 * stack, where nothing is searched: the test is skipped there.
 */
#if defined(__SANITIZE_ADDRESS__)
#define LW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LW_ASAN 1
#endif
#endif

static const char res_text[] = "what do ya want for nothing?";
static uint8_t res_stack[64 * 1024] __attribute__((aligned(64)));
static ucontext_t res_main, res_uc;
static bool res_sha, res_whole;
static uint8_t res_key[16], res_mac[FO_SHA256_LEN];

static void hmac_on_stack(void)
{
	if (res_sha) {
		struct fo_hmac_sha256 h;

		fo_hmac_sha256_init(&h, res_key, sizeof(res_key));
		if (res_whole) {
			fo_hmac_sha256_update(&h, res_text, sizeof(res_text) - 1);
			fo_hmac_sha256_final(&h, res_mac);
		}
		fo_digest_wipe(&h, sizeof(h));
	} else {
		struct fo_hmac_md5 h;

		fo_hmac_md5_init(&h, res_key, sizeof(res_key));
		if (res_whole) {
			fo_hmac_md5_update(&h, res_text, sizeof(res_text) - 1);
			fo_hmac_md5_final(&h, res_mac);
		}
		fo_digest_wipe(&h, sizeof(h));
	}
}

/* Fail if the first @p n bytes of @p pat (or, @p swap, of its 32-bit words byte-swapped) are
 * anywhere on the HMAC's stack. */
static void no_residue(const char *what, const uint8_t *pat, size_t n, bool swap)
{
	uint8_t p[FO_SHA256_LEN] = { 0 };

	assert_true(n > 0 && n <= sizeof(p));
	for (size_t i = 0; i < n; i++) {
		p[i] = swap ? pat[(i & ~(size_t)3) + 3 - (i & 3)] : pat[i];
	}
	for (size_t i = 0; i + n <= sizeof(res_stack); i++) {
		if (memcmp(res_stack + i, p, n) == 0) {
			fail_msg("HMAC-%s %s left %s%s on the stack", res_sha ? "SHA-256" : "MD5",
				 res_whole ? "init/update/final" : "init", what,
				 swap ? " (as words)" : "");
		}
	}
}

static void check_no_residue(bool sha, bool whole)
{
	uint8_t ipad[64], opad[64], inner[FO_SHA256_LEN], want[FO_SHA256_LEN] = { 0 };
	size_t len = sha ? FO_SHA256_LEN : FO_MD5_LEN;

	for (size_t i = 0; i < sizeof(res_key); i++) {
		res_key[i] = (uint8_t)(0xa0 + 7 * i);
	}
	memset(ipad, 0x36, sizeof(ipad));
	memset(opad, 0x5c, sizeof(opad));
	for (size_t i = 0; i < sizeof(res_key); i++) {
		ipad[i] ^= res_key[i];
		opad[i] ^= res_key[i];
	}
	/* The inner digest, computed here (on this stack, not the searched one). */
	if (sha) {
		struct fo_sha256 c;

		fo_sha256_init(&c);
		fo_sha256_update(&c, ipad, sizeof(ipad));
		fo_sha256_update(&c, res_text, sizeof(res_text) - 1);
		fo_sha256_final(&c, inner);
	} else {
		struct fo_md5 c;

		fo_md5_init(&c);
		fo_md5_update(&c, ipad, sizeof(ipad));
		fo_md5_update(&c, res_text, sizeof(res_text) - 1);
		fo_md5_final(&c, inner);
	}
	memset(res_stack, 0, sizeof(res_stack));
	memset(res_mac, 0, sizeof(res_mac));
	res_sha = sha;
	res_whole = whole;
	assert_int_equal(getcontext(&res_uc), 0);
	res_uc.uc_stack.ss_sp = res_stack;
	res_uc.uc_stack.ss_size = sizeof(res_stack);
	res_uc.uc_link = &res_main;
	makecontext(&res_uc, hmac_on_stack, 0);
	assert_int_equal(swapcontext(&res_main, &res_uc), 0);

	/* It ran on that stack (its top is not zero any more), and gave the one-shot's MAC. */
	assert_memory_not_equal(res_stack + sizeof(res_stack) - sizeof(want), want, sizeof(want));
	if (whole) {
		if (sha) {
			fo_hmac_sha256(res_key, sizeof(res_key), res_text, sizeof(res_text) - 1,
				       want);
		} else {
			fo_hmac_md5(res_key, sizeof(res_key), res_text, sizeof(res_text) - 1, want);
		}
		assert_memory_equal(res_mac, want, len);
		no_residue("the inner digest", inner, len, false);
	}
	no_residue("the key", res_key, sizeof(res_key), false);
	no_residue("K ^ ipad", ipad, 16, false);
	no_residue("K ^ opad", opad, 16, false);
	if (sha) {
		no_residue("K ^ ipad", ipad, 16, true);
		no_residue("K ^ opad", opad, 16, true);
	}
}

static void test_hmac_no_residue(void **state)
{
	(void)state;
#ifdef LW_ASAN
	(void)check_no_residue;	/* compiled all the same: the other builds run it */
	skip();
#else
	for (int whole = 0; whole <= 1; whole++) {
		check_no_residue(false, whole);
		check_no_residue(true, whole);
	}
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_rfc1321),
		cmocka_unit_test(test_md5_splits),
		cmocka_unit_test(test_hmac_rfc2202),
		cmocka_unit_test(test_hmac_keyed_copy),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_digest_errors),
		cmocka_unit_test(test_digest_first),
		cmocka_unit_test(test_sha256_fips180),
		cmocka_unit_test(test_padding_edges),
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_sign_verify_sha256),
		cmocka_unit_test(test_hmac_no_residue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
