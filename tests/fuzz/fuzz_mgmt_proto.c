/*
 * libFuzzer harness for the management channel's decoder (controlplane/mgmt_proto.c).
 *
 * The input is a TCP byte stream cut into frames by mgmt_frame_len(), each copied into a
 * buffer of exactly its size. Each frame goes to three receivers: a fresh responder (which
 * expects a HELLO), and an established responder and initiator (after a real handshake
 * made here). A copy whose MAC the harness recomputes (the formula of mgmt_proto.h) also
 * reaches the established responder, so that the checks after the MAC (sequence, time)
 * are fuzzed too. Beyond memory safety it aborts when an accepted frame has no object body,
 * a body that mgmt_body_check() refuses, or a sequence that is not the next one.
 * Without -fsanitize=fuzzer it is linked with replay_main.c and replays the corpus.
 */
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "mgmt_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			abort();                                                           \
		}                                                                          \
	} while (0)

#define NOW 1700000000ull
static const char secret[] = "fuzz";
static const uint8_t ni[MGMT_NONCE_LEN] = { 1, 2, 3 }, nr[MGMT_NONCE_LEN] = { 4, 5, 6 };

static void feed(struct mgmt_session *s, struct mgmt_nonce_cache *c, const uint8_t *f,
		 size_t len)
{
	struct mgmt_msg m;
	char err[256];
	uint64_t rx = s->rx_seq;

	int rc = mgmt_session_recv(s, c, f, len, NOW, &m, err, sizeof(err));
	if (rc != 0) {
		CHECK(m.body == NULL && rc <= MGMT_E_LENGTH && rc >= MGMT_E_CLOSED);
		CHECK(s->rx_seq == rx);
		return;
	}
	CHECK(json_is_object(m.body));
	CHECK(mgmt_body_check(m.type, m.body, err, sizeof(err)) == 0);
	if (m.authentic) {
		CHECK(m.seq == rx + 1 && s->rx_seq == m.seq);
	}
	json_decref(m.body);
}

/* The MAC a responder expects from the initiator, as mgmt_proto.h defines it. */
static void resign(const struct mgmt_session *r, uint8_t *f, size_t len)
{
	struct fo_hmac_sha256 h;
	uint8_t dir = 'I';

	fo_hmac_sha256_init(&h, secret, strlen(secret));
	fo_hmac_sha256_update(&h, "LWMGMT1", 7);
	fo_hmac_sha256_update(&h, r->nonce_i, MGMT_NONCE_LEN);
	fo_hmac_sha256_update(&h, r->nonce_r, MGMT_NONCE_LEN);
	fo_hmac_sha256_update(&h, &dir, 1);
	fo_hmac_sha256_update(&h, f, len - MGMT_MAC_LEN);
	fo_hmac_sha256_final(&h, f + len - MGMT_MAC_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mgmt_nonce_cache cache;
	struct mgmt_session fresh, r, i;
	struct mgmt_msg m;
	char err[256];
	uint8_t *f;
	size_t len;

	memset(&cache, 0, sizeof(cache));
	mgmt_session_init(&fresh, false, secret, strlen(secret), nr);
	mgmt_session_init(&r, false, secret, strlen(secret), nr);
	mgmt_session_init(&i, true, secret, strlen(secret), ni);
	json_t *b = mgmt_hello_new(&i, "fuzz");
	CHECK(mgmt_frame_encode(&i, MGMT_HELLO, NOW, b, &f, &len) == 0);
	json_decref(b);
	CHECK(mgmt_session_recv(&r, &cache, f, len, NOW, &m, err, sizeof(err)) == 0);
	json_decref(m.body);
	free(f);
	b = mgmt_hello_new(&r, NULL);
	CHECK(mgmt_frame_encode(&r, MGMT_WELCOME, NOW, b, &f, &len) == 0);
	json_decref(b);
	CHECK(mgmt_session_recv(&i, NULL, f, len, NOW, &m, err, sizeof(err)) == 0);
	json_decref(m.body);
	free(f);

	while (size > 0) {
		long l = mgmt_frame_len(data, size);
		if (l <= 0 || (size_t)l > size) {
			/* A bad length or a half frame: the stream stops here. Hand the rest over
			 * anyway as one frame, which must be refused or accepted cleanly. */
			if (size >= MGMT_FRAME_MIN) {
				uint8_t *copy = malloc(size);
				memcpy(copy, data, size);
				feed(&fresh, &cache, copy, size);
				free(copy);
			}
			break;
		}
		uint8_t *copy = malloc((size_t)l);
		memcpy(copy, data, (size_t)l);
		feed(&fresh, &cache, copy, (size_t)l);
		feed(&r, &cache, copy, (size_t)l);
		feed(&i, NULL, copy, (size_t)l);
		resign(&r, copy, (size_t)l);
		feed(&r, &cache, copy, (size_t)l);
		free(copy);
		data += l;
		size -= (size_t)l;
	}
	mgmt_session_wipe(&fresh);
	mgmt_session_wipe(&r);
	mgmt_session_wipe(&i);
	return 0;
}
