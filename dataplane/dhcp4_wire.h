/*
 * dhcp4_wire: parse and build BOOTP/DHCPv4 messages (RFC 951, 2131, 2132, 3396, 3046).
 *
 * Pure C on plain byte buffers: no DPDK, no allocation, no global state, safe to call from
 * any thread. Every length is checked before the byte it covers is read (validate, then
 * trust), so a hostile frame can at worst be refused with a reason code. Fuzzed by
 * tests/fuzz/fuzz_dhcp4.c.
 *
 * Addresses are IPv4 in HOST byte order everywhere in this API (uint32_t); the codec does the
 * conversion at the wire.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"
#include "lw_attr.h"

/** BOOTP op codes. */
enum { DHCP4_BOOTREQUEST = 1, DHCP4_BOOTREPLY = 2 };

/** DHCP message types (option 53). DHCP4_BOOTP marks a BOOTP message (no option 53). */
enum dhcp4_type {
	DHCP4_BOOTP = 0,
	DHCP4_DISCOVER = 1,
	DHCP4_OFFER = 2,
	DHCP4_REQUEST = 3,
	DHCP4_DECLINE = 4,
	DHCP4_ACK = 5,
	DHCP4_NAK = 6,
	DHCP4_RELEASE = 7,
	DHCP4_INFORM = 8,
	DHCP4_TYPE_MAX = 9,
};

/** Option codes the server looks at or writes itself. */
enum {
	DHCP4_OPT_PAD = 0,
	DHCP4_OPT_SUBNET_MASK = 1,
	DHCP4_OPT_ROUTER = 3,
	DHCP4_OPT_DNS = 6,
	DHCP4_OPT_HOSTNAME = 12,
	DHCP4_OPT_DOMAIN_NAME = 15,
	DHCP4_OPT_BROADCAST = 28,
	DHCP4_OPT_REQUESTED_IP = 50,
	DHCP4_OPT_LEASE_TIME = 51,
	DHCP4_OPT_OVERLOAD = 52,
	DHCP4_OPT_MSG_TYPE = 53,
	DHCP4_OPT_SERVER_ID = 54,
	DHCP4_OPT_PRL = 55,
	DHCP4_OPT_MESSAGE = 56,
	DHCP4_OPT_MAX_SIZE = 57,
	DHCP4_OPT_T1 = 58,
	DHCP4_OPT_T2 = 59,
	DHCP4_OPT_VENDOR_CLASS = 60,
	DHCP4_OPT_CLIENT_ID = 61,
	DHCP4_OPT_RELAY_AGENT = 82,
	DHCP4_OPT_END = 255,
};

#define DHCP4_FIXED_LEN		236	/**< op .. file */
#define DHCP4_HDR_LEN		240	/**< fixed part + magic cookie */
#define DHCP4_MIN_REPLY_LEN	300	/**< BOOTP minimum; replies are padded to it */
#define DHCP4_DEFAULT_MAX_MSG	576	/**< RFC 2131: IP datagram every client accepts */
#define DHCP4_CHADDR_LEN	16
#define DHCP4_SNAME_LEN		64
#define DHCP4_FILE_LEN		128
#define DHCP4_OFF_SNAME		44	/**< offset of sname: op .. chaddr come before it */
#define DHCP4_OFF_FILE		108	/**< offset of file */
/** Room for all option data of one message, after RFC 3396 concatenation. */
#define DHCP4_OPTDATA_MAX	2048

/**
 * Why a message was refused. Values are negative so they can be returned where 0 means OK;
 * dhcp4_err_str() names them (the names are the counter names operators see).
 */
enum dhcp4_err {
	DHCP4_OK = 0,
	DHCP4_E_TRUNCATED = -1,		/**< shorter than the 240-byte header */
	DHCP4_E_COOKIE = -2,		/**< bad magic cookie */
	DHCP4_E_HLEN = -3,		/**< hlen > 16 */
	DHCP4_E_OPT_OVERRUN = -4,	/**< an option's length runs past its field */
	DHCP4_E_OVERLOAD = -5,		/**< option 52 malformed, or overload inside sname/file */
	DHCP4_E_OPT_SIZE = -6,		/**< option data over DHCP4_OPTDATA_MAX, or a fixed-size
					 *   option (53, 50, 54, 51, 57) with the wrong length */
	DHCP4_E_OP = -7,		/**< op is neither BOOTREQUEST nor BOOTREPLY */
	DHCP4_E_MSG_TYPE = -8,		/**< option 53 value out of range */
	DHCP4_E_NOSPACE = -9,		/**< builder: the output buffer is full */
};

/**
 * A parsed message. The option index points into data[], which holds every option's value
 * with repeated instances of one code concatenated (RFC 3396), in the order the RFC gives:
 * options field, then file (overload 1 or 3), then sname (overload 2 or 3).
 *
 * The struct is about 3 KiB: workers keep one per burst slot in their lcore state; nothing
 * here is allocated.
 */
struct dhcp4_msg {
	uint8_t op;
	uint8_t htype;
	uint8_t hlen;
	uint8_t hops;
	uint32_t xid;		/**< as on the wire, byte for byte (network order kept) */
	uint16_t secs;		/**< host order */
	uint16_t flags;		/**< host order; bit 15 is BROADCAST */
	uint32_t ciaddr, yiaddr, siaddr, giaddr;	/**< host order */
	uint8_t chaddr[DHCP4_CHADDR_LEN];
	uint8_t sname[DHCP4_SNAME_LEN];	/**< raw field (may hold options when overloaded) */
	uint8_t file[DHCP4_FILE_LEN];	/**< raw field (may hold options when overloaded) */

	uint8_t type;		/**< enum dhcp4_type: option 53, or DHCP4_BOOTP */
	uint8_t overload;	/**< option 52 value, 0 if absent */
	uint16_t max_size;	/**< option 57, 0 if absent */

	uint16_t data_len;
	uint16_t opt_off[256];	/**< offset into data[] of the option's value */
	uint16_t opt_len[256];	/**< value length; both arrays are valid ONLY for codes whose
				 *   bit is set in present[] (not cleared per message) */
	uint32_t present[8];	/**< bitmap of option codes seen (an option may be empty) */
	uint8_t data[DHCP4_OPTDATA_MAX];
};

#define DHCP4_FLAG_BROADCAST 0x8000u

/**
 * Parse a BOOTP/DHCP message (the UDP payload).
 *
 * @param m    filled on success; left in an unspecified state on error.
 * @param buf  the UDP payload; not kept after return.
 * @param len  its length as the UDP header gives it (bounded by the frame).
 * @return DHCP4_OK, or a negative enum dhcp4_err.
 * @note A message without option 255 is accepted when every option fits its field (many
 *       stacks stop at the end of the buffer). Pads are skipped. An option 52 that appears
 *       in sname/file is an error, as is a second option 52 with a different value. Option
 *       53 outside 1..8 is DHCP4_E_MSG_TYPE. hlen > 16 is DHCP4_E_HLEN. op is not checked
 *       against BOOTREQUEST here (the caller counts replies it receives separately) but must
 *       be 1 or 2.
 */
_mustcheck_
int dhcp4_parse(struct dhcp4_msg *m, const uint8_t *buf, size_t len);

/** @return true when option @p code was present (possibly with length 0). */
static inline bool dhcp4_has(const struct dhcp4_msg *m, uint8_t code)
{
	return (m->present[code >> 5] >> (code & 31)) & 1u;
}

/**
 * Find an option. Inline: the engine and the reply builder ask for a dozen options a
 * request.
 * @param[out] len  the value's length (may be 0); may be NULL.
 * @return pointer into m->data, or NULL when absent. Valid while @p m is.
 */
static inline const uint8_t *dhcp4_opt(const struct dhcp4_msg *m, uint8_t code, uint16_t *len)
{
	if (!dhcp4_has(m, code)) {
		return NULL;
	}
	if (len) {
		*len = m->opt_len[code];
	}
	return m->data + m->opt_off[code];
}

/**
 * Read a 4-byte option as a host-order address or number.
 * @return true and *out when the option is present with length exactly 4.
 */
static inline bool dhcp4_opt_u32(const struct dhcp4_msg *m, uint8_t code, uint32_t *out)
{
	if (!dhcp4_has(m, code) || m->opt_len[code] != 4) {
		return false;
	}
	*out = lw_get32(m->data + m->opt_off[code]);
	return true;
}

/** Name of an enum dhcp4_err (static string). */
const char *dhcp4_err_str(int err);

/** Name of a message type ("DISCOVER", ..., "BOOTP"); "UNKNOWN" when out of range. */
const char *dhcp4_type_str(unsigned type);

/**
 * A reply being written. Use dhcp4_build_begin(), then dhcp4_put_*(), then dhcp4_build_end().
 * The writer never writes past buf + cap; once a put fails, later puts keep failing is NOT
 * implied: each put reports its own result so the caller can skip an option that does not
 * fit and go on with smaller ones.
 */
struct dhcp4_writer {
	uint8_t *buf;
	size_t cap;	/**< hard limit: min(buffer size, client's maximum message size) */
	size_t len;	/**< bytes written so far */
	size_t reserve;	/**< bytes kept back for options that must still fit (82 echo, END).
			 *   dhcp4_build_begin() sets it to 1 for END; add to it for an option
			 *   you will write last, and subtract that again just before its put. */
};

/**
 * Start a reply: writes the 236-byte fixed header and the magic cookie.
 *
 * @param buf,cap  destination; cap must be >= DHCP4_HDR_LEN + 1. The caller owns buf.
 * @param req      the request being answered: xid, flags, giaddr, hlen, htype and chaddr
 *                 are copied; hops is 0; secs 0.
 * @param ciaddr,yiaddr,siaddr  host order; the caller decides them (RFC 2131 table 3).
 * @param sname,file            NUL-terminated strings copied into the fields, or NULL.
 *                              Longer strings are cut to 63 / 127 bytes so that the field
 *                              stays NUL-terminated.
 * @return DHCP4_OK or DHCP4_E_NOSPACE. Sets w->reserve to 1 (room for END).
 */
_mustcheck_
int dhcp4_build_begin(struct dhcp4_writer *w, uint8_t *buf, size_t cap,
		      const struct dhcp4_msg *req, uint32_t ciaddr, uint32_t yiaddr,
		      uint32_t siaddr, const char *sname, const char *file);

/**
 * Append one option. Values longer than 255 bytes are split into several instances of the
 * same code (RFC 3396). Fails without writing anything when it would eat into w->reserve.
 * @param val  may be NULL when @p len is 0 (an empty option).
 * @return DHCP4_OK, DHCP4_E_NOSPACE, or DHCP4_E_OPT_SIZE when @p code is PAD (0) or END
 *         (255), which have no length byte and cannot be written with this call.
 */
_mustcheck_
int dhcp4_put(struct dhcp4_writer *w, uint8_t code, const void *val, size_t len);

/* The inline half of dhcp4_put_u8() and dhcp4_put_u32(), which every reply calls half a
 * dozen times: dhcp4_put() of @p len (1 or 4) bytes from @p v, host order. */
static inline int __dhcp4_put_scalar(struct dhcp4_writer *w, uint8_t code, uint32_t v,
				     uint8_t len)
{
	size_t used = w->len + w->reserve;
	uint8_t *p;

	if (code == DHCP4_OPT_PAD || code == DHCP4_OPT_END) {
		return DHCP4_E_OPT_SIZE;
	}
	if (w->cap <= used || (size_t)len + 2 > w->cap - used) {
		return DHCP4_E_NOSPACE;
	}
	p = w->buf + w->len;
	p[0] = code;
	p[1] = len;
	if (len == 1) {
		p[2] = (uint8_t)v;
	} else {
		lw_put32(p + 2, v);
	}
	w->len += 2 + (size_t)len;
	return DHCP4_OK;
}

/** Append a 1-byte option. Same results as dhcp4_put(). */
_mustcheck_
static inline int dhcp4_put_u8(struct dhcp4_writer *w, uint8_t code, uint8_t v)
{
	return __dhcp4_put_scalar(w, code, v, 1);
}

/** Append a 4-byte option from a host-order value (addresses, lease times). Same results as
 *  dhcp4_put(). */
_mustcheck_
static inline int dhcp4_put_u32(struct dhcp4_writer *w, uint8_t code, uint32_t v)
{
	return __dhcp4_put_scalar(w, code, v, 4);
}

/**
 * Room for @p n bytes of options the caller encodes itself (dhcp4_enc_u8(),
 * dhcp4_enc_u32()), several at once with one bounds check: the bytes count as written.
 * The caller must fill all @p n of them, with whole options.
 * @return where to write them, or NULL (nothing written) when they would eat into
 *         w->reserve, as the same puts one by one would fail at one of them.
 */
static inline uint8_t *dhcp4_put_room(struct dhcp4_writer *w, size_t n)
{
	size_t used = w->len + w->reserve;
	uint8_t *p;

	if (w->cap <= used || n > w->cap - used) {
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

/** Encode a 1-byte option at @p p (room from dhcp4_put_room(); @p code is neither PAD nor
 *  END). @return the byte after it. */
static inline uint8_t *dhcp4_enc_u8(uint8_t *p, uint8_t code, uint8_t v)
{
	p[0] = code;
	p[1] = 1;
	p[2] = v;
	return p + 3;
}

/** Encode a 4-byte option from a host-order value at @p p, as dhcp4_enc_u8().
 *  @return the byte after it. */
static inline uint8_t *dhcp4_enc_u32(uint8_t *p, uint8_t code, uint32_t v)
{
	p[0] = code;
	p[1] = 4;
	lw_put32(p + 2, v);
	return p + 6;
}

/** Append @p len bytes of options already encoded (code, length, value ...), as earlier
 *  puts wrote them; all or nothing. @return DHCP4_OK or DHCP4_E_NOSPACE. */
_mustcheck_
int dhcp4_put_encoded(struct dhcp4_writer *w, const uint8_t *bytes, size_t len);

/**
 * Finish: writes option 255 and zero-pads the message to DHCP4_MIN_REPLY_LEN (or to cap if
 * cap is smaller). Uses the reserved bytes.
 * @return the message length, or DHCP4_E_NOSPACE when not even END fits.
 */
_mustcheck_
int dhcp4_build_end(struct dhcp4_writer *w);

/**
 * Largest BOOTP payload the client accepts, from option 57 (RFC 2132 §9.10): the value minus
 * the 28 bytes of IP and UDP header, never below 576 - 28, never above @p hard_cap.
 */
size_t dhcp4_reply_cap(const struct dhcp4_msg *req, size_t hard_cap);
