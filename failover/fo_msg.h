/*
 * fo_msg: encode and decode DHCPv4 failover messages (draft-ietf-dhc-failover-12) the way
 * ISC dhcpd 4.4.3 speaks them on TCP/647.
 *
 * Pure C on byte buffers: no sockets, no DPDK, no allocation, no global state; every function
 * is safe to call from any thread on its own arguments. The codec knows nothing of the state
 * machine (fo_state) or of the connection (fo_link): it frames, checks and converts bytes.
 * Fuzzed by tests/fuzz/fuzz_fo_msg.c; checked against every message of the ISC lab captures
 * by tests/unit/test_fo_msg.c.
 *
 * Wire format (D12 §6.1, §6.2), all big-endian:
 *
 *	0      2      3        4          8          12 .. payload offset
 *	| len  | type | payoff | time     | xid      | [extra header] | options ... |
 *	option: | code (2) | len (2) | data (len) |
 *
 * How to read a stream: call fo_frame_len() on the bytes received so far; when it returns a
 * length, hand exactly that many bytes to fo_msg_decode(), then drop them and go on. Any
 * negative result from either is a protocol error: ISC drops the connection on every one of
 * them, and so should the caller (there is no way to resynchronise a TCP stream).
 *
 * Decode rules, copied from ISC 4.4.3 (server/failover.c do_a_failover_option() and the
 * ft_options/fto_allowed tables in server/stables.c), where they differ from D12:
 *   - Each message type carries a fixed set of options (fo_msg_type_opts()). A known option
 *     outside that set is skipped without any check: no size check and no duplicate check
 *     (ISC skips it before it would record it). D12 says any option may appear anywhere.
 *   - An option of the set that appears twice is FO_E_OPT_DUP. So is a second
 *     assigned-IP-address: ISC (and therefore this codec) carries one binding per BNDUPD and
 *     does not accept the batched BNDUPDs of D12 §6.3.
 *   - Unknown option codes (0, 30 and above) are skipped, repeated or not.
 *   - message-digest (17) is never checked by ISC 4.4.3 (typed as plain bytes and allowed in
 *     no message). Here the first one in a message of a known type is kept in m->digest, for
 *     a caller that wants to log it; later ones are skipped. It is not verified.
 *   - Message types outside 1..12: ISC ignores such a message when it carries no option it
 *     knows, and drops the connection ("invalid message type") at the first known option.
 *     Type 0 passes with every option skipped (ISC's table has an empty entry for it). So
 *     fo_msg_decode() returns FO_OK with m->type as received for those, FO_E_MSG_TYPE for the
 *     others; the CALLER MUST IGNORE a decoded message for which fo_msg_type_known() is false.
 *     (The order of checks is option framing, unknown codes, then the type: inferred from the
 *     lab's probe results, as no copy of 4.4.3's type check was at hand.)
 *   - A payload offset below 12 is FO_E_PAYOFF (ISC mis-frames the rest of the stream on it);
 *     FO_DECODE_MS_QUIRKS reads it as 12 instead (Windows sends 8). An offset above 12 skips
 *     the extra header bytes, as ISC does; one beyond the message is FO_E_PAYOFF.
 *   - Fixed sizes are ISC's (= D12 §12 except IP-flags, which D12's diagram gives 1 byte and
 *     ISC 2). hash-bucket-assignment is variable-length on the wire: ISC checks 32 bytes only
 *     when it handles a CONNECT, and answers CONNECTACK reject 18 rather than a drop, so that
 *     check belongs to the caller (FO_HBA_LEN).
 *   - DDNS (9) is decoded as D12 says (2 flag bytes + FQDN, at least 2 bytes). ISC's table
 *     gives it a fixed size of 0, so ISC 4.4.3 drops the connection on a DDNS option with any
 *     data [source, not exercised]: never send one to an ISC peer.
 *
 * Values: addresses and numbers are host order in struct fo_msg; times are the raw 32-bit
 * seconds since 1970 of the wire (no skew correction here). Variable-length options are
 * struct fo_bytes VIEWS INTO THE DECODED BUFFER: nothing is copied, and they are valid only as
 * long as that buffer is unchanged.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lw_attr.h"

#define FO_MSG_HDR_LEN	12	/**< fixed header; also ISC's minimum message length */
#define FO_MSG_MAX_LEN	2048	/**< ISC DHCP_FAILOVER_MAX_MESSAGE_SIZE (and D12 §6.1) */
#define FO_OPT_HDR_LEN	4	/**< option code + option length */
#define FO_HBA_LEN	32	/**< hash-bucket-assignment: 256 buckets, one bit each */
#define FO_PROTOCOL_VERSION 1	/**< the only protocol-version of D12 */
#define FO_PORT		647

/** Message types (D12 §6.1; ISC FTM_*). */
enum fo_msg_type {
	FO_MSG_POOLREQ = 1,
	FO_MSG_POOLRESP = 2,
	FO_MSG_BNDUPD = 3,
	FO_MSG_BNDACK = 4,
	FO_MSG_CONNECT = 5,
	FO_MSG_CONNECTACK = 6,
	FO_MSG_UPDREQALL = 7,
	FO_MSG_UPDDONE = 8,
	FO_MSG_UPDREQ = 9,
	FO_MSG_STATE = 10,
	FO_MSG_CONTACT = 11,
	FO_MSG_DISCONNECT = 12,
	FO_MSG_TYPE_MAX = 13,	/**< one past the last known type */
};

/** Option codes (D12 §12; ISC FTO_*). The struct fo_msg field of each is named beside it. */
enum fo_opt {
	FO_OPT_ADDRESSES_TRANSFERRED = 1,	/**< u32 addresses_transferred */
	FO_OPT_ASSIGNED_IP_ADDRESS = 2,		/**< 4 bytes, assigned_addr */
	FO_OPT_BINDING_STATUS = 3,		/**< u8 binding_status (enum fo_binding_status) */
	FO_OPT_CLIENT_IDENTIFIER = 4,		/**< bytes client_id (DHCP option 61 value) */
	FO_OPT_CHADDR = 5,			/**< bytes chaddr: htype, then the address */
	FO_OPT_CLTT = 6,			/**< u32 cltt */
	FO_OPT_REPLY_OPTIONS = 7,		/**< bytes reply_options */
	FO_OPT_REQUEST_OPTIONS = 8,		/**< bytes request_options */
	FO_OPT_DDNS = 9,			/**< u16 ddns_flags + bytes ddns_name */
	FO_OPT_DELAYED_SERVICE = 10,		/**< u8; carried by no message (ISC) */
	FO_OPT_HBA = 11,			/**< bytes hba (FO_HBA_LEN expected) */
	FO_OPT_IP_FLAGS = 12,			/**< u16 ip_flags */
	FO_OPT_LEASE_EXPIRY = 13,		/**< u32 lease_expiry */
	FO_OPT_MAX_UNACKED = 14,		/**< u32 max_unacked */
	FO_OPT_MCLT = 15,			/**< u32 mclt */
	FO_OPT_MESSAGE = 16,			/**< bytes message (text, no NUL) */
	FO_OPT_MESSAGE_DIGEST = 17,		/**< bytes digest (type byte + digest) */
	FO_OPT_POTENTIAL_EXPIRY = 18,		/**< u32 potential_expiry */
	FO_OPT_RECEIVE_TIMER = 19,		/**< u32 receive_timer */
	FO_OPT_PROTOCOL_VERSION = 20,		/**< u8 protocol_version */
	FO_OPT_REJECT_REASON = 21,		/**< u8 reject_reason (enum fo_reject_reason) */
	FO_OPT_RELATIONSHIP_NAME = 22,		/**< bytes relationship_name */
	FO_OPT_SERVER_FLAGS = 23,		/**< u8 server_flags */
	FO_OPT_SERVER_STATE = 24,		/**< u8 server_state (enum fo_server_state) */
	FO_OPT_STOS = 25,			/**< u32 stos (start-time-of-state) */
	FO_OPT_TLS_REPLY = 26,			/**< u8 tls_reply */
	FO_OPT_TLS_REQUEST = 27,		/**< u8 tls_request */
	FO_OPT_VENDOR_CLASS = 28,		/**< bytes vendor_class */
	FO_OPT_VENDOR_OPTIONS = 29,		/**< bytes; carried by no message (ISC) */
	FO_OPT_MAX = 30,			/**< one past the last known code */
};

/** Bit of option @p code in fo_msg.present and in the masks of fo_msg_type_opts(). */
#define FO_BIT(code) (UINT32_C(1) << (code))

/** binding-status values (D12 §12.3; ISC FTS_*). */
enum fo_binding_status {
	FO_BS_FREE = 1,
	FO_BS_ACTIVE = 2,
	FO_BS_EXPIRED = 3,
	FO_BS_RELEASED = 4,
	FO_BS_ABANDONED = 5,
	FO_BS_RESET = 6,
	FO_BS_BACKUP = 7,
};

/**
 * server-state values (D12 §12.24). RECOVER_WAIT has no number in D12; ISC sends 254 for it.
 * STARTUP is never sent as a state (the STARTUP server flag is), but has a number.
 */
enum fo_server_state {
	FO_SS_STARTUP = 1,
	FO_SS_NORMAL = 2,
	FO_SS_COMM_INTERRUPTED = 3,
	FO_SS_PARTNER_DOWN = 4,
	FO_SS_POTENTIAL_CONFLICT = 5,
	FO_SS_RECOVER = 6,
	FO_SS_PAUSED = 7,
	FO_SS_SHUTDOWN = 8,
	FO_SS_RECOVER_DONE = 9,
	FO_SS_RESOLUTION_INTERRUPTED = 10,
	FO_SS_CONFLICT_DONE = 11,
	FO_SS_RECOVER_WAIT = 254,
};

/** reject-reason values (D12 §12.21; ISC FTR_*). */
enum fo_reject_reason {
	FO_RR_ILLEGAL_IP_ADDR = 1,
	FO_RR_FATAL_CONFLICT = 2,
	FO_RR_MISSING_BINDINFO = 3,
	FO_RR_TIMEMISMATCH = 4,
	FO_RR_INVALID_MCLT = 5,
	FO_RR_MISC_REJECT = 6,
	FO_RR_DUP_CONNECTION = 7,
	FO_RR_INVALID_PARTNER = 8,
	FO_RR_TLS_UNSUPPORTED = 9,
	FO_RR_TLS_UNCONFIGURED = 10,
	FO_RR_TLS_REQUIRED = 11,
	FO_RR_DIGEST_UNSUPPORTED = 12,
	FO_RR_DIGEST_UNCONFIGURED = 13,
	FO_RR_VERSION_MISMATCH = 14,
	FO_RR_OUTDATED_BIND_INFO = 15,
	FO_RR_LESS_CRIT_BIND_INFO = 16,
	FO_RR_NO_TRAFFIC = 17,
	FO_RR_HBA_CONFLICT = 18,
	FO_RR_IP_NOT_RESERVED = 19,
	FO_RR_IP_DIGEST_FAILURE = 20,
	FO_RR_IP_MISSING_DIGEST = 21,
	FO_RR_UNKNOWN = 254,
};

#define FO_SERVER_FLAG_STARTUP	0x01u	/**< server-flags bit 0 (D12 §12.23) */
#define FO_IP_FLAG_RESERVED	0x0001u	/**< IP-flags R: address reserved on the sender */
#define FO_IP_FLAG_BOOTP	0x0002u	/**< IP-flags B: a BOOTP client */
#define FO_DDNS_FLAG_C		0x0001u	/**< forward (A) update done */
#define FO_DDNS_FLAG_A		0x0002u	/**< server controls the A RR */
#define FO_DDNS_FLAG_D		0x0004u	/**< reverse (PTR) update done */
#define FO_DDNS_FLAG_P		0x0008u	/**< server controls the PTR RR */
#define FO_TLS_NONE		0	/**< TLS-request / TLS-reply: no TLS (all ISC sends) */

/**
 * Errors. Each is distinct and negative (project codes from -1100 down; lmdb-store owns -1000
 * .. -1099); fo_err_str() names them, and the names are the counter names operators see.
 * Every decode error means "drop the connection" (ISC does; see the file comment).
 */
enum fo_err {
	FO_OK = 0,
	FO_E_SHORT = -1100,	/**< decode: fewer than 12 bytes */
	FO_E_LEN_SMALL = -1101,	/**< length field below 12 */
	FO_E_LEN_BIG = -1102,	/**< length field (or an encoded message) above the maximum */
	FO_E_LEN_MISMATCH = -1103,	/**< decode: buffer length differs from length field */
	FO_E_PAYOFF = -1104,	/**< payload offset below 12, or beyond the message */
	FO_E_MSG_TYPE = -1105,	/**< decode: unknown type with a known option;
				 *   encode: type outside 1..12 */
	FO_E_OPT_TRUNC = -1106,	/**< 1 to 3 bytes left: an option header cut short */
	FO_E_OPT_OVERRUN = -1107,	/**< option data runs past the end of the message */
	FO_E_OPT_SIZE = -1108,	/**< fixed-size option (or DDNS) of the wrong length */
	FO_E_OPT_DUP = -1109,	/**< an option of the type's set appears twice */
	FO_E_NOSPACE = -1110,	/**< encode: the output buffer is too small */
	FO_E_OPT_NOT_ALLOWED = -1111,	/**< encode: option outside the type's set */
	FO_E_INVAL = -1112,	/**< bad argument (NULL view with a length, bad max_len) */
};

/** A view of @p len bytes at @p ptr; ptr may be NULL when len is 0. Never owns memory. */
struct fo_bytes {
	const uint8_t *ptr;
	uint16_t len;
};

/**
 * One failover message, decoded or to encode. A field is meaningful only when the bit of its
 * option is set in @c present (decode clears the whole struct first; fo_msg_init() too).
 * No member points to memory of its own: the views point into the decoded buffer (decode) or
 * to whatever the caller set (encode). 256 bytes on x86-64; keep one per connection.
 */
struct fo_msg {
	/* Header. */
	uint16_t len;		/**< decode: the length field (= buffer length) */
	uint8_t type;		/**< enum fo_msg_type, or the raw value of an unknown type */
	uint8_t payoff;		/**< decode: payload offset as received; encode writes 12 */
	uint32_t time;		/**< sender's clock, seconds since 1970 */
	uint32_t xid;

	uint32_t present;	/**< FO_BIT(code) for each option held below */
	uint16_t n_skipped;	/**< decode: options skipped (unknown, outside the type's set,
				 *   repeated digest) */
	uint16_t err_opt;	/**< decode, on FO_E_OPT_SIZE / FO_E_OPT_DUP / FO_E_MSG_TYPE:
				 *   the code of the offending option (for the log), else 0 */

	/* Options, in code order. */
	uint32_t addresses_transferred;
	uint32_t assigned_addr;		/**< host order */
	uint8_t binding_status;
	struct fo_bytes client_id;
	struct fo_bytes chaddr;		/**< htype (1 = Ethernet) followed by the address */
	uint32_t cltt;
	struct fo_bytes reply_options;	/**< magic cookie + DHCP options (ISC never sends) */
	struct fo_bytes request_options; /**< magic cookie + DHCP options (ISC never sends) */
	uint16_t ddns_flags;		/**< FO_DDNS_FLAG_* */
	struct fo_bytes ddns_name;	/**< FQDN in DNS wire format */
	struct fo_bytes hba;
	uint16_t ip_flags;		/**< FO_IP_FLAG_* */
	uint32_t lease_expiry;
	uint32_t max_unacked;
	uint32_t mclt;
	struct fo_bytes message;
	struct fo_bytes digest;		/**< message-digest, kept but never verified */
	uint32_t potential_expiry;
	uint32_t receive_timer;
	uint8_t protocol_version;
	uint8_t reject_reason;
	struct fo_bytes relationship_name;
	uint8_t server_flags;
	uint8_t server_state;
	uint32_t stos;
	uint8_t tls_reply;
	uint8_t tls_request;
	struct fo_bytes vendor_class;
};

/** fo_msg_decode() flags. */
enum fo_decode_flags {
	/**
	 * Microsoft peers (MS-DHCPF, as Wireshark documents them; not yet checked against a
	 * real Windows server): read a payload offset below 12 as 12, and accept a 1-byte
	 * IP-flags as well as ISC's 2 bytes.
	 */
	FO_DECODE_MS_QUIRKS = 1u << 0,
};

/**
 * Length of the next complete message at the start of a byte stream.
 *
 * @param buf      the bytes received and not yet consumed; may be NULL when @p avail is 0.
 * @param avail    how many there are.
 * @param max_len  the largest message accepted: FO_MSG_MAX_LEN (ISC's limit), or less.
 *                 Values above FO_MSG_MAX_LEN are treated as FO_MSG_MAX_LEN, since
 *                 fo_msg_decode() refuses longer messages anyway.
 * @return the message length (12 .. max_len) when that many bytes are in @p buf; 0 when more
 *         bytes are needed; FO_E_LEN_SMALL or FO_E_LEN_BIG as soon as the 2-byte length is
 *         readable and out of range (as ISC, which checks it before waiting for the rest);
 *         FO_E_INVAL when @p max_len < FO_MSG_HDR_LEN.
 * @note Pure function; thread-safe.
 */
_mustcheck_
int fo_frame_len(const uint8_t *buf, size_t avail, size_t max_len);

/**
 * Decode one message: check the header, then every option (validate, then trust).
 *
 * @param m      filled on success; cleared first, and on error only m->err_opt is meaningful
 *               (with the header fields that were read).
 * @param buf    exactly one message, as fo_frame_len() delimited it. Not copied: the
 *               struct fo_bytes members of @p m point into it, so keep it unchanged as long
 *               as they are used.
 * @param len    its length; must equal the length field.
 * @param flags  0 for ISC, or FO_DECODE_MS_QUIRKS.
 * @return FO_OK (check fo_msg_type_known(m->type) before acting on it: see the file comment),
 *         or FO_E_SHORT, FO_E_LEN_SMALL, FO_E_LEN_BIG, FO_E_LEN_MISMATCH, FO_E_PAYOFF,
 *         FO_E_OPT_TRUNC, FO_E_OPT_OVERRUN, FO_E_MSG_TYPE, FO_E_OPT_SIZE, FO_E_OPT_DUP.
 * @note Does not check values (state numbers, protocol-version, HBA length, required
 *       options): that is the state machine's job, which answers with a reject-reason where
 *       the codec can only drop. Thread-safe; no allocation.
 */
_mustcheck_
int fo_msg_decode(struct fo_msg *m, const uint8_t *buf, size_t len, unsigned int flags);

/**
 * Clear @p m and set its header, ready for the caller to fill options and present bits:
 * @code
 *	fo_msg_init(&m, FO_MSG_STATE, now, xid);
 *	m.server_state = FO_SS_NORMAL;
 *	m.present |= FO_BIT(FO_OPT_SERVER_STATE);
 * @endcode
 */
void fo_msg_init(struct fo_msg *m, uint8_t type, uint32_t time, uint32_t xid);

/**
 * Encode @p m into @p buf: the 12-byte header with payload offset 12, then each option whose
 * bit is set in m->present, in the order ISC sends them (message-digest last), so that a
 * message decoded from ISC encodes back to the same bytes.
 *
 * @param buf  destination owned by the caller; nothing is written unless the whole message
 *             fits (so an error leaves @p buf untouched).
 * @param cap  its size.
 * @return the message length (> 0), or FO_E_MSG_TYPE (type outside 1..12),
 *         FO_E_OPT_NOT_ALLOWED (a present bit outside fo_msg_type_opts(m->type) and not
 *         message-digest), FO_E_INVAL (a view with len > 0 and ptr NULL),
 *         FO_E_LEN_BIG (longer than FO_MSG_MAX_LEN), FO_E_NOSPACE (longer than @p cap).
 * @note Values are written as they are, unchecked (a state machine may need to send odd
 *       ones in tests). IP-flags is always 2 bytes. Thread-safe; no allocation.
 */
_mustcheck_
int fo_msg_encode(const struct fo_msg *m, uint8_t *buf, size_t cap);

/** @return true when option @p code is held by @p m. */
static inline bool fo_msg_has(const struct fo_msg *m, unsigned int code)
{
	return code < FO_OPT_MAX && (m->present & FO_BIT(code)) != 0;
}

/** @return true for the message types 1..12 (FO_MSG_POOLREQ .. FO_MSG_DISCONNECT). */
static inline bool fo_msg_type_known(unsigned int type)
{
	return type >= FO_MSG_POOLREQ && type < FO_MSG_TYPE_MAX;
}

/**
 * The options a message type carries (ISC's fto_allowed table), as FO_BIT() mask; 0 for an
 * unknown type. message-digest is not in any mask: it is accepted with every known type.
 */
uint32_t fo_msg_type_opts(unsigned int type);

/**
 * Fixed length of option @p code, or 0 when it is variable-length (or unknown).
 * IP-flags is 2 (ISC).
 */
unsigned int fo_opt_size(unsigned int code);

/** Name of a message type ("POOLREQ" .. "DISCONNECT"); "UNKNOWN" otherwise. Static string. */
const char *fo_msg_type_str(unsigned int type);

/** D12 name of an option code ("assigned-IP-address", ...); "unknown" otherwise. */
const char *fo_opt_str(unsigned int code);

/** Name of a binding-status ("free", "active", ... as ISC's lease file); "unknown". */
const char *fo_binding_status_str(unsigned int status);

/** Name of a server-state ("normal", ..., "recover-wait" for 254, as ISC logs); "unknown". */
const char *fo_server_state_str(unsigned int state);

/** Text of a reject-reason (D12 §12.21 wording, as ISC logs it); "unknown reject reason". */
const char *fo_reject_reason_str(unsigned int reason);

/** Name of an enum fo_err ("ok", "short-header", ...); "unknown" for anything else. */
const char *fo_err_str(int err);
