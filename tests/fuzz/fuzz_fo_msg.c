/*
 * libFuzzer harness for the failover message codec (failover/fo_msg.c).
 *
 * The input is used twice: as one message handed straight to fo_msg_decode() (so the header
 * checks see any length), and as a TCP byte stream cut into messages by fo_frame_len(), each
 * copied into a buffer of exactly its size (so ASan sees a read past it). Every message is
 * decoded for ISC and with FO_DECODE_MS_QUIRKS. Beyond memory safety it aborts when one of
 * these properties breaks:
 *   - decode returns FO_OK or a named error; err_opt is set exactly for the option errors;
 *   - every view points inside the message; every held option is one the type carries
 *     (or the digest); an unknown type holds nothing and does not encode;
 *   - a decoded message of a known type encodes, no longer than it came (IP-flags aside),
 *     and decodes again to the same header and option values, with nothing skipped;
 *   - encoding it again gives the same bytes (the encoding is canonical).
 * Without -fsanitize=fuzzer it is linked with replay_main.c and replays the corpus.
 */
#include <stdlib.h>
#include <string.h>

#include "fo_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			abort();                                                           \
		}                                                                          \
	} while (0)

static uint8_t out1[FO_MSG_MAX_LEN], out2[FO_MSG_MAX_LEN];

static void check_view(const struct fo_bytes *b, const uint8_t *buf, size_t len)
{
	if (b->len) {
		CHECK(b->ptr >= buf && b->ptr + b->len <= buf + len);
	}
}

static bool view_eq(const struct fo_bytes *a, const struct fo_bytes *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* Same header and option values; fields of absent options are 0 after decode. */
static bool same(const struct fo_msg *a, const struct fo_msg *b)
{
	return a->type == b->type && a->time == b->time && a->xid == b->xid &&
	       a->present == b->present &&
	       a->addresses_transferred == b->addresses_transferred &&
	       a->assigned_addr == b->assigned_addr && a->binding_status == b->binding_status &&
	       view_eq(&a->client_id, &b->client_id) && view_eq(&a->chaddr, &b->chaddr) &&
	       a->cltt == b->cltt && view_eq(&a->reply_options, &b->reply_options) &&
	       view_eq(&a->request_options, &b->request_options) &&
	       a->ddns_flags == b->ddns_flags && view_eq(&a->ddns_name, &b->ddns_name) &&
	       view_eq(&a->hba, &b->hba) && a->ip_flags == b->ip_flags &&
	       a->lease_expiry == b->lease_expiry && a->max_unacked == b->max_unacked &&
	       a->mclt == b->mclt && view_eq(&a->message, &b->message) &&
	       view_eq(&a->digest, &b->digest) && a->potential_expiry == b->potential_expiry &&
	       a->receive_timer == b->receive_timer &&
	       a->protocol_version == b->protocol_version &&
	       a->reject_reason == b->reject_reason &&
	       view_eq(&a->relationship_name, &b->relationship_name) &&
	       a->server_flags == b->server_flags && a->server_state == b->server_state &&
	       a->stos == b->stos && a->tls_reply == b->tls_reply &&
	       a->tls_request == b->tls_request && view_eq(&a->vendor_class, &b->vendor_class);
}

static void one(const uint8_t *buf, size_t len, unsigned int flags)
{
	struct fo_msg m, d;
	int ret, n, n2;

	ret = fo_msg_decode(&m, buf, len, flags);
	CHECK(strcmp(fo_err_str(ret), "unknown") != 0);
	if (ret == FO_E_OPT_SIZE || ret == FO_E_OPT_DUP || ret == FO_E_MSG_TYPE) {
		CHECK(m.err_opt != 0 && m.present == 0);
	} else {
		CHECK(m.err_opt == 0);
	}
	if (ret != FO_OK) {
		CHECK(ret < 0);
		return;
	}
	CHECK(m.len == len && len >= FO_MSG_HDR_LEN && len <= FO_MSG_MAX_LEN);
	CHECK((m.present & ~(fo_msg_type_opts(m.type) | FO_BIT(FO_OPT_MESSAGE_DIGEST))) == 0);
	check_view(&m.client_id, buf, len);
	check_view(&m.chaddr, buf, len);
	check_view(&m.reply_options, buf, len);
	check_view(&m.request_options, buf, len);
	check_view(&m.ddns_name, buf, len);
	check_view(&m.hba, buf, len);
	check_view(&m.message, buf, len);
	check_view(&m.digest, buf, len);
	check_view(&m.relationship_name, buf, len);
	check_view(&m.vendor_class, buf, len);

	if (!fo_msg_type_known(m.type)) {
		CHECK(m.present == 0);
		CHECK(fo_msg_encode(&m, out1, sizeof(out1)) == FO_E_MSG_TYPE);
		return;
	}
	n = fo_msg_encode(&m, out1, sizeof(out1));
	if (n == FO_E_LEN_BIG) {
		/* Only a 1-byte IP-flags (MS quirks) grows on the way back. */
		CHECK((flags & FO_DECODE_MS_QUIRKS) && fo_msg_has(&m, FO_OPT_IP_FLAGS));
		return;
	}
	CHECK(n >= FO_MSG_HDR_LEN);
	CHECK((size_t)n <= len + ((flags & FO_DECODE_MS_QUIRKS) ? 1u : 0u));
	CHECK(fo_msg_decode(&d, out1, (size_t)n, 0) == FO_OK);
	CHECK(d.payoff == FO_MSG_HDR_LEN && d.n_skipped == 0 && d.len == n);
	CHECK(same(&m, &d));
	n2 = fo_msg_encode(&d, out2, sizeof(out2));
	CHECK(n2 == n && memcmp(out1, out2, (size_t)n) == 0);
	/* Too small a buffer is refused. */
	CHECK(fo_msg_encode(&d, out2, (size_t)n - 1) == FO_E_NOSPACE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int n;

	one(data, size, 0);
	one(data, size, FO_DECODE_MS_QUIRKS);

	while ((n = fo_frame_len(data + off, size - off, FO_MSG_MAX_LEN)) > 0) {
		uint8_t *msg = malloc((size_t)n);

		CHECK(msg != NULL);
		CHECK((size_t)n <= size - off && n >= FO_MSG_HDR_LEN);
		memcpy(msg, data + off, (size_t)n);
		one(msg, (size_t)n, 0);
		one(msg, (size_t)n, FO_DECODE_MS_QUIRKS);
		free(msg);
		off += (size_t)n;
	}
	CHECK(n == 0 || n == FO_E_LEN_SMALL || n == FO_E_LEN_BIG);
	return 0;
}
