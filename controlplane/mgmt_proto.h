/*
 * mgmt_proto: the codec and the authentication of the management channel between two
 * leasewire partners (the channel that carries configuration: create-relationship,
 * replicate-scope, scope-digest). Pure C over byte buffers and jansson: no sockets, no DPDK,
 * no clock (time is a parameter), no global state. mgmt_proto.c explains the design.
 *
 * A frame (all integers big endian):
 *
 *     0  u32  length of the whole frame, these 4 bytes and the MAC included
 *     4  u8   version (MGMT_VERSION)
 *     5  u8   type (enum mgmt_type)
 *     6  u16  zero
 *     8  u64  sequence number: 1 for the first frame a side sends on a connection, then +1
 *    16  u64  sender's time, unix seconds
 *    24  ...  payload: one JSON object (UTF-8, no NUL)
 *   L-32 [32] HMAC-SHA-256 (key: the shared management secret) over
 *             "LWMGMT1" | initiator nonce | responder nonce | direction byte | bytes 0..L-33
 *
 * Sealed fields. A payload's "shared-secret" members (a relationship's secret, inside
 * create-relationship and set-relationship) never travel in clear: mgmt_frame_encode()
 * replaces each non-empty one with "shared-secret-enc", the lower-case hex of the secret
 * XORed with a keystream, and mgmt_session_recv() puts the secret back once the frame's MAC,
 * sequence and time passed (encrypt-then-MAC: the frame MAC covers the ciphertext). The
 * keystream is HKDF-SHA-256 (RFC 5869): PRK = HKDF-Extract(salt "LWMGMT1 field key", the
 * management secret), keystream = HKDF-Expand(PRK, "LWMGMT1 shared-secret" | initiator
 * nonce | responder nonce | direction byte | u64 sequence | the member's JSON path | NUL,
 * length of the secret): never the same twice (the nonces, direction and sequence make
 * each frame unique, the path each member in it). A secret's length shows.
 *
 * The nonces are 16 random bytes each side picks per connection, exchanged in HELLO
 * (initiator) and WELCOME (responder); while the responder's is unknown (the HELLO) it
 * counts as 16 zero bytes. The direction byte is 'I' for frames the initiator sends, 'R'
 * for the responder's. So a frame is valid on one connection, in one direction, at one
 * position only.
 *
 * Threads: every function works on its own arguments only (any thread). A struct
 * mgmt_session holds key material: wipe it with mgmt_session_wipe().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fo_digest.h"
#include "lw_attr.h"

#define MGMT_VERSION		1
#define MGMT_PORT_DEFAULT	6470		/**< TCP port of the channel, unless configured */
#define MGMT_NONCE_LEN		16
#define MGMT_HDR_LEN		24
#define MGMT_MAC_LEN		FO_SHA256_LEN
#define MGMT_FRAME_MIN		(MGMT_HDR_LEN + 2 + MGMT_MAC_LEN)	/**< "{}" payload */
#define MGMT_FRAME_MAX		(1u << 20)	/**< bound of a frame, so of a read buffer */
#define MGMT_TIME_WINDOW	60		/**< seconds a frame's time may differ from ours */
#define MGMT_NONCE_CACHE	256		/**< initiator nonces a responder remembers */
#define MGMT_SECRET_MAX		128		/**< bytes of a secret, NUL included */

/** Frame types. */
enum mgmt_type {
	MGMT_HELLO = 1,		/**< initiator -> responder, first frame: {"nonce", "name"?} */
	MGMT_WELCOME = 2,	/**< responder -> initiator, second frame: {"nonce"} */
	MGMT_REQUEST = 3,	/**< initiator -> responder: {"op", "id", op's fields} */
	MGMT_ANSWER = 4,	/**< responder -> initiator: {"id", "ok", "error"?, ...} */
	MGMT_REFUSE = 5,	/**< either side, then it closes: {"code", "error"} */
};

/**
 * Errors (negative; fo_msg owns -1100..-1119, fo_digest -1130..-1133, store -1000..).
 * mgmt_err_str() names them; the name is the "code" of a REFUSE frame.
 */
enum mgmt_err {
	MGMT_E_LENGTH = -1200,		/**< declared length below MGMT_FRAME_MIN or above max */
	MGMT_E_VERSION = -1201,		/**< another version, or reserved bits set */
	MGMT_E_TYPE = -1202,		/**< unknown type, or a type not expected now */
	MGMT_E_DIGEST = -1203,		/**< the HMAC does not match (wrong secret, altered) */
	MGMT_E_SEQUENCE = -1204,	/**< sequence not exactly the next one (replayed) */
	MGMT_E_TIME = -1205,		/**< sender's time more than MGMT_TIME_WINDOW away */
	MGMT_E_NONCE = -1206,		/**< initiator nonce seen before (replayed HELLO) */
	MGMT_E_PAYLOAD = -1207,		/**< payload is not one JSON object */
	MGMT_E_FIELD = -1208,		/**< a field the message does not have */
	MGMT_E_MISSING = -1209,		/**< a required field absent, or of the wrong type */
	MGMT_E_PEER = -1210,		/**< the address is not a configured partner */
	MGMT_E_TIMEOUT = -1211,		/**< a half-sent message, or no answer, timed out */
	MGMT_E_CLOSED = -1212,		/**< the partner closed the connection */
};

/** One side of one connection. Holds key material: wipe it (mgmt_session_wipe()). */
struct mgmt_session {
	struct fo_hmac_sha256 key;		/**< keyed with the secret once */
	struct fo_hmac_sha256 field_key;	/**< keyed with the field PRK (HKDF-Extract) */
	uint8_t nonce_i[MGMT_NONCE_LEN];	/**< initiator's nonce */
	uint8_t nonce_r[MGMT_NONCE_LEN];	/**< responder's (zero until known) */
	bool initiator;
	bool established;			/**< HELLO and WELCOME both passed */
	uint64_t tx_seq;			/**< sequence of the last frame sent */
	uint64_t rx_seq;			/**< sequence of the last frame accepted */
};

/** A received frame, as mgmt_session_recv() accepted it. */
struct mgmt_msg {
	uint8_t type;			/**< enum mgmt_type */
	uint64_t seq, time;
	bool authentic;			/**< false only for a REFUSE whose MAC failed */
	json_t *body;			/**< the payload object; the caller owns it (json_decref) */
};

/** Nonces a responder has accepted, so that a replayed HELLO is refused even on a new
 *  connection. Plain data; zero it to initialise. One per listener. */
struct mgmt_nonce_cache {
	struct {
		uint8_t nonce[MGMT_NONCE_LEN];
		uint64_t time;
	} e[MGMT_NONCE_CACHE];
};

/**
 * Start one side of a connection.
 * @param initiator  true on the side that connected (it sends HELLO).
 * @param secret     the shared management secret (@p len bytes, 1..MGMT_SECRET_MAX - 1).
 * @param nonce      this side's fresh random nonce (the caller reads it from getrandom()).
 */
void mgmt_session_init(struct mgmt_session *s, bool initiator, const void *secret, size_t len,
		       const uint8_t nonce[MGMT_NONCE_LEN]);

/** Forget the key material. */
void mgmt_session_wipe(struct mgmt_session *s);

/**
 * Frame length of a stream's first bytes.
 * @return 0 when fewer than 4 bytes are there, the declared length when it lies in
 *         MGMT_FRAME_MIN..MGMT_FRAME_MAX, else MGMT_E_LENGTH (the stream is unusable).
 */
_mustcheck_
long mgmt_frame_len(const uint8_t *buf, size_t n);

/**
 * Encode, seal the secrets of, sign and count one frame.
 * @param body  the payload (not changed: a copy is sealed; its keys written sorted).
 * @param[out] out  a malloc'd frame the caller frees; *len its length.
 * @return 0, -ENOMEM, MGMT_E_LENGTH when the frame would exceed MGMT_FRAME_MAX, or -EINVAL
 *         when a secret cannot be sealed (over 1024 bytes, or beside a sealed one); the
 *         sequence is then not consumed.
 * @note Unsigned use: a REFUSE to an unknown address is signed with whatever key @p s holds;
 *       the receiver reports it as not authentic.
 */
_mustcheck_
int mgmt_frame_encode(struct mgmt_session *s, uint8_t type, uint64_t now, const json_t *body,
		      uint8_t **out, size_t *len);

/**
 * Check one whole frame (as mgmt_frame_len() delimited it) and decode its payload, in this
 * order: length, version, type (allowed in the session's state), payload JSON, its fields
 * (mgmt_body_check()), the MAC, the sequence, the time, and for a responder's HELLO the
 * nonce cache; then the sealed fields are opened (a bad one: MGMT_E_PAYLOAD). HELLO/WELCOME
 * set the peer's nonce and establish the session.
 *
 * @param cache  the responder's nonce cache (NULL on the initiator's side).
 * @param now    our time, unix seconds.
 * @param[out] m on 0: the frame; m->body is the caller's. On error m->body is NULL.
 * @param err,errlen  on error, a sentence naming the reason (times, field names).
 * @return 0, or a negative enum mgmt_err; then nothing in @p s changed except that a
 *         failed HELLO leaves it unusable (close the connection).
 */
_mustcheck_
int mgmt_session_recv(struct mgmt_session *s, struct mgmt_nonce_cache *cache,
		      const uint8_t *buf, size_t len, uint64_t now, struct mgmt_msg *m,
		      char *err, size_t errlen);

/**
 * Check a payload against the fields its type (and for REQUEST its "op") allows: every
 * field known, every required one present with its JSON type.
 * @return 0, MGMT_E_FIELD (unknown field or op, named in @p err) or MGMT_E_MISSING.
 */
_mustcheck_
int mgmt_body_check(uint8_t type, const json_t *body, char *err, size_t errlen);

/**
 * Remember an authenticated initiator nonce.
 * @return 0, or MGMT_E_NONCE when it is already there, or when the cache is full of
 *         nonces younger than 2 * MGMT_TIME_WINDOW (refused rather than forgetting one
 *         that could still be replayed).
 */
_mustcheck_
int mgmt_nonce_cache_add(struct mgmt_nonce_cache *c, const uint8_t nonce[MGMT_NONCE_LEN],
			 uint64_t now);

/**
 * The payload of this side's HELLO (initiator) or WELCOME (responder): {"nonce": this
 * side's nonce in hex, "name": @p name (omitted when NULL)}.
 * @return a new object the caller owns, or NULL (no memory).
 */
json_t *mgmt_hello_new(const struct mgmt_session *s, const char *name);

/** @return "digest", "sequence", ... for an enum mgmt_err, "ok" for 0, else "error". */
const char *mgmt_err_str(int err);
