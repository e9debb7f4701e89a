/*
 * dhcp4_wire: BOOTP/DHCPv4 parse and build.
 *
 * Parsing runs for every received packet, so it is written to touch as little memory as it
 * can: only present[] and a handful of scalars are cleared, opt_off[]/opt_len[] are written
 * for the options that occur and nothing else, and data[] is never cleared.
 *
 * RFC 3396 asks for every instance of one option code to be concatenated, in the order
 * options field, file, sname. The first pass copies each instance to the end of data[] as it
 * comes. When all instances of a code are adjacent (the usual case, including a long option
 * split into consecutive pieces) that already yields the concatenated value. Only when
 * another option sits between two instances of one code is a second pass run; it knows
 * each code's total length from the first pass and lays the values out contiguously. Both
 * passes are linear in the message length, so a hostile message cannot make us quadratic.
 */
#include <string.h>

#include "byteorder.h"
#include "dhcp4_wire.h"
#include "lw_copy.h"

/* RFC 1497 magic cookie 99.130.83.99. */
static const uint8_t cookie[4] = { 99, 130, 83, 99 };

/* Offsets of the fixed BOOTP header (RFC 951). */
enum {
	OFF_OP = 0,
	OFF_HTYPE = 1,
	OFF_HLEN = 2,
	OFF_HOPS = 3,
	OFF_XID = 4,
	OFF_SECS = 8,
	OFF_FLAGS = 10,
	OFF_CIADDR = 12,
	OFF_YIADDR = 16,
	OFF_SIADDR = 20,
	OFF_GIADDR = 24,
	OFF_CHADDR = 28,
	OFF_SNAME = DHCP4_OFF_SNAME,
	OFF_FILE = DHCP4_OFF_FILE,
	OFF_COOKIE = 236,
};

/* The RFC 2131 overload bits of option 52. */
enum { OVERLOAD_FILE = 1, OVERLOAD_SNAME = 2 };

/* IP + UDP header bytes that option 57 counts but the BOOTP payload does not have. */
#define IP_UDP_HDR_LEN 28


static inline bool bit_test(const uint32_t *map, uint8_t code)
{
	return (map[code >> 5] >> (code & 31)) & 1u;
}

static inline void bit_set(uint32_t *map, uint8_t code)
{
	map[code >> 5] |= 1u << (code & 31);
}

/* Parser state that does not belong in the result. */
struct pstate {
	bool relayout;		/* second pass: lay out values contiguously */
	bool scattered;		/* first pass saw a code whose instances are not adjacent */
	uint16_t cursor;	/* second pass: next free byte of data[] */
	uint32_t seen[8];	/* second pass: codes already placed */
};

/*
 * First pass over one option area (options field, file or sname), up to END or its last
 * byte: validate each instance and append its value to data[]. Every request comes through
 * here, so data_len is kept in a local (the value copies through uint8_t pointers would
 * otherwise make the compiler reload it) and the room check is made once for the whole area
 * when it can be: the values of an area are shorter than the area.
 */
static int opt_area_add(struct dhcp4_msg *m, struct pstate *st, const uint8_t *p, size_t len,
			bool options_field)
{
	uint16_t dlen = m->data_len;
	bool fits = len <= (size_t)(DHCP4_OPTDATA_MAX - dlen);
	int ret = DHCP4_OK;
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i];
		const uint8_t *v;
		uint8_t l;

		if (code == DHCP4_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP4_OPT_END) {
			break;
		}
		/* The length byte itself must be inside the area. */
		if (len - i < 2) {
			ret = DHCP4_E_OPT_OVERRUN;
			break;
		}
		l = p[i + 1];
		if (l > len - i - 2) {
			ret = DHCP4_E_OPT_OVERRUN;
			break;
		}
		v = p + i + 2;
		i += 2 + (size_t)l;
		if (code == DHCP4_OPT_OVERLOAD) {
			/* Only the options field may say where more options are (RFC 2131 4.1). */
			if (!options_field || l != 1 || v[0] < 1 || v[0] > 3) {
				ret = DHCP4_E_OVERLOAD;
				break;
			}
			if (m->overload) {
				/* A repeat is harmless when it agrees; never concatenate it. */
				if (m->overload != v[0]) {
					ret = DHCP4_E_OVERLOAD;
					break;
				}
				continue;
			}
			m->overload = v[0];
		}
		if (!fits && l > DHCP4_OPTDATA_MAX - dlen) {
			ret = DHCP4_E_OPT_SIZE;
			break;
		}
		if (!bit_test(m->present, code)) {
			bit_set(m->present, code);
			m->opt_off[code] = dlen;
			m->opt_len[code] = l;
		} else {
			if (m->opt_off[code] + m->opt_len[code] != dlen) {
				st->scattered = true;
			}
			m->opt_len[code] = (uint16_t)(m->opt_len[code] + l);
		}
		lw_copy_short(m->data + dlen, v, l);
		dlen = (uint16_t)(dlen + l);
	}
	m->data_len = dlen;
	return ret;
}

/*
 * Second pass: the first pass left each code's total length in opt_len[]; reserve that much
 * at the first instance and fill it in order. The input was validated by the first pass.
 */
static void opt_place(struct dhcp4_msg *m, struct pstate *st, uint8_t code, const uint8_t *v,
		      uint8_t l)
{
	if (!bit_test(st->seen, code)) {
		bit_set(st->seen, code);
		m->opt_off[code] = st->cursor;
		st->cursor = (uint16_t)(st->cursor + m->opt_len[code]);
		m->opt_len[code] = 0;
	} else if (code == DHCP4_OPT_OVERLOAD) {
		return;
	}
	memcpy(m->data + m->opt_off[code] + m->opt_len[code], v, l);
	m->opt_len[code] = (uint16_t)(m->opt_len[code] + l);
}

/* Second pass over one option area (validated by the first). */
static void opt_area_place(struct dhcp4_msg *m, struct pstate *st, const uint8_t *p,
			   size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i];
		uint8_t l;

		if (code == DHCP4_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP4_OPT_END || len - i < 2) {
			break;
		}
		l = p[i + 1];
		if (l > len - i - 2) {
			break;
		}
		opt_place(m, st, code, p + i + 2, l);
		i += 2 + (size_t)l;
	}
}

static int opt_area(struct dhcp4_msg *m, struct pstate *st, const uint8_t *p, size_t len,
		    bool options_field)
{
	if (st->relayout) {
		opt_area_place(m, st, p, len);
		return DHCP4_OK;
	}
	return opt_area_add(m, st, p, len, options_field);
}

/* All option areas in RFC 3396 order; option 52 is only known after the options field. */
static int opt_walk(struct dhcp4_msg *m, struct pstate *st, const uint8_t *buf, size_t len)
{
	int ret;

	ret = opt_area(m, st, buf + DHCP4_HDR_LEN, len - DHCP4_HDR_LEN, true);
	if (ret == DHCP4_OK && (m->overload & OVERLOAD_FILE)) {
		ret = opt_area(m, st, buf + OFF_FILE, DHCP4_FILE_LEN, false);
	}
	if (ret == DHCP4_OK && (m->overload & OVERLOAD_SNAME)) {
		ret = opt_area(m, st, buf + OFF_SNAME, DHCP4_SNAME_LEN, false);
	}
	return ret;
}

/* Options the server reads as scalars must have their exact size (after concatenation). */
static int opt_check(struct dhcp4_msg *m)
{
	uint8_t type;

	/* Written out rather than a loop over a table: every request comes through here. */
	if ((dhcp4_has(m, DHCP4_OPT_MSG_TYPE) && m->opt_len[DHCP4_OPT_MSG_TYPE] != 1) ||
	    (dhcp4_has(m, DHCP4_OPT_REQUESTED_IP) && m->opt_len[DHCP4_OPT_REQUESTED_IP] != 4) ||
	    (dhcp4_has(m, DHCP4_OPT_LEASE_TIME) && m->opt_len[DHCP4_OPT_LEASE_TIME] != 4) ||
	    (dhcp4_has(m, DHCP4_OPT_SERVER_ID) && m->opt_len[DHCP4_OPT_SERVER_ID] != 4) ||
	    (dhcp4_has(m, DHCP4_OPT_MAX_SIZE) && m->opt_len[DHCP4_OPT_MAX_SIZE] != 2)) {
		return DHCP4_E_OPT_SIZE;
	}
	if (dhcp4_has(m, DHCP4_OPT_MSG_TYPE)) {
		type = m->data[m->opt_off[DHCP4_OPT_MSG_TYPE]];
		if (type < DHCP4_DISCOVER || type >= DHCP4_TYPE_MAX) {
			return DHCP4_E_MSG_TYPE;
		}
		m->type = type;
	}
	if (dhcp4_has(m, DHCP4_OPT_MAX_SIZE)) {
		m->max_size = lw_get16(m->data + m->opt_off[DHCP4_OPT_MAX_SIZE]);
	}
	return DHCP4_OK;
}

static void hdr_parse(struct dhcp4_msg *m, const uint8_t *buf)
{
	m->op = buf[OFF_OP];
	m->htype = buf[OFF_HTYPE];
	m->hlen = buf[OFF_HLEN];
	m->hops = buf[OFF_HOPS];
	memcpy(&m->xid, buf + OFF_XID, sizeof(m->xid));
	m->secs = lw_get16(buf + OFF_SECS);
	m->flags = lw_get16(buf + OFF_FLAGS);
	m->ciaddr = lw_get32(buf + OFF_CIADDR);
	m->yiaddr = lw_get32(buf + OFF_YIADDR);
	m->siaddr = lw_get32(buf + OFF_SIADDR);
	m->giaddr = lw_get32(buf + OFF_GIADDR);
	memcpy(m->chaddr, buf + OFF_CHADDR, DHCP4_CHADDR_LEN);
	memcpy(m->sname, buf + OFF_SNAME, DHCP4_SNAME_LEN);
	memcpy(m->file, buf + OFF_FILE, DHCP4_FILE_LEN);
}

int dhcp4_parse(struct dhcp4_msg *m, const uint8_t *buf, size_t len)
{
	struct pstate st = { .relayout = false, .scattered = false };
	int ret;

	if (len < DHCP4_HDR_LEN) {
		return DHCP4_E_TRUNCATED;
	}
	if (memcmp(buf + OFF_COOKIE, cookie, sizeof(cookie)) != 0) {
		return DHCP4_E_COOKIE;
	}
	if (buf[OFF_OP] != DHCP4_BOOTREQUEST && buf[OFF_OP] != DHCP4_BOOTREPLY) {
		return DHCP4_E_OP;
	}
	if (buf[OFF_HLEN] > DHCP4_CHADDR_LEN) {
		return DHCP4_E_HLEN;
	}
	hdr_parse(m, buf);

	m->type = DHCP4_BOOTP;
	m->overload = 0;
	m->max_size = 0;
	m->data_len = 0;
	memset(m->present, 0, sizeof(m->present));

	ret = opt_walk(m, &st, buf, len);
	if (ret != DHCP4_OK) {
		return ret;
	}
	if (st.scattered) {
		st.relayout = true;
		/* Cannot fail: the first pass validated the same bytes. */
		(void)opt_walk(m, &st, buf, len);
	}
	return opt_check(m);
}

const char *dhcp4_err_str(int err)
{
	switch (err) {
	case DHCP4_OK:
		return "ok";
	case DHCP4_E_TRUNCATED:
		return "truncated";
	case DHCP4_E_COOKIE:
		return "bad_cookie";
	case DHCP4_E_HLEN:
		return "bad_hlen";
	case DHCP4_E_OPT_OVERRUN:
		return "opt_overrun";
	case DHCP4_E_OVERLOAD:
		return "bad_overload";
	case DHCP4_E_OPT_SIZE:
		return "bad_opt_size";
	case DHCP4_E_OP:
		return "bad_op";
	case DHCP4_E_MSG_TYPE:
		return "bad_msg_type";
	case DHCP4_E_NOSPACE:
		return "no_space";
	default:
		return "unknown";
	}
}

const char *dhcp4_type_str(unsigned type)
{
	static const char *const names[DHCP4_TYPE_MAX] = {
		[DHCP4_BOOTP] = "BOOTP",
		[DHCP4_DISCOVER] = "DISCOVER",
		[DHCP4_OFFER] = "OFFER",
		[DHCP4_REQUEST] = "REQUEST",
		[DHCP4_DECLINE] = "DECLINE",
		[DHCP4_ACK] = "ACK",
		[DHCP4_NAK] = "NAK",
		[DHCP4_RELEASE] = "RELEASE",
		[DHCP4_INFORM] = "INFORM",
	};

	return type < DHCP4_TYPE_MAX ? names[type] : "UNKNOWN";
}

/* Copy a string into a zeroed fixed field, keeping at least one NUL at the end. */
static void field_str(uint8_t *field, size_t size, const char *s)
{
	size_t n = 0;

	if (!s) {
		return;
	}
	while (n < size - 1 && s[n] != '\0') {
		n++;
	}
	memcpy(field, s, n);
}

int dhcp4_build_begin(struct dhcp4_writer *w, uint8_t *buf, size_t cap,
		      const struct dhcp4_msg *req, uint32_t ciaddr, uint32_t yiaddr,
		      uint32_t siaddr, const char *sname, const char *file)
{
	uint8_t hlen = req->hlen <= DHCP4_CHADDR_LEN ? req->hlen : DHCP4_CHADDR_LEN;

	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->reserve = 0;
	if (cap < DHCP4_HDR_LEN + 1) {
		return DHCP4_E_NOSPACE;
	}
	memset(buf, 0, DHCP4_HDR_LEN);
	buf[OFF_OP] = DHCP4_BOOTREPLY;
	buf[OFF_HTYPE] = req->htype;
	buf[OFF_HLEN] = req->hlen;
	memcpy(buf + OFF_XID, &req->xid, sizeof(req->xid));
	lw_put16(buf + OFF_FLAGS, req->flags);
	lw_put32(buf + OFF_CIADDR, ciaddr);
	lw_put32(buf + OFF_YIADDR, yiaddr);
	lw_put32(buf + OFF_SIADDR, siaddr);
	lw_put32(buf + OFF_GIADDR, req->giaddr);
	/* Bytes of chaddr past hlen are not the client's: do not echo them. */
	memcpy(buf + OFF_CHADDR, req->chaddr, hlen);
	field_str(buf + OFF_SNAME, DHCP4_SNAME_LEN, sname);
	field_str(buf + OFF_FILE, DHCP4_FILE_LEN, file);
	memcpy(buf + OFF_COOKIE, cookie, sizeof(cookie));
	w->len = DHCP4_HDR_LEN;
	/* END must always fit. */
	w->reserve = 1;
	return DHCP4_OK;
}

/* Bytes a put may use: what is left of cap minus what is reserved. */
static size_t writer_room(const struct dhcp4_writer *w)
{
	size_t used = w->len + w->reserve;

	return w->cap > used ? w->cap - used : 0;
}

/* One option of at most 255 bytes (every reply writes a dozen: no RFC 3396 split, no
 * division, and a fixed-size copy the compiler inlines for the scalar puts). */
static inline int put_short(struct dhcp4_writer *w, uint8_t code, const uint8_t *v, uint8_t len)
{
	if (code == DHCP4_OPT_PAD || code == DHCP4_OPT_END) {
		return DHCP4_E_OPT_SIZE;
	}
	if ((size_t)len + 2 > writer_room(w)) {
		return DHCP4_E_NOSPACE;
	}
	w->buf[w->len] = code;
	w->buf[w->len + 1] = len;
	if (len > 0) {
		memcpy(w->buf + w->len + 2, v, len);	/* v may be NULL when len is 0 */
	}
	w->len += 2 + (size_t)len;
	return DHCP4_OK;
}

int dhcp4_put(struct dhcp4_writer *w, uint8_t code, const void *val, size_t len)
{
	const uint8_t *v = val;
	size_t pieces, need;

	if (len <= 255) {
		return put_short(w, code, v, (uint8_t)len);
	}
	if (code == DHCP4_OPT_PAD || code == DHCP4_OPT_END) {
		return DHCP4_E_OPT_SIZE;
	}
	/* Also keeps the arithmetic below from wrapping. */
	if (len > w->cap) {
		return DHCP4_E_NOSPACE;
	}
	/* RFC 3396: a value longer than 255 bytes goes out as consecutive instances. */
	pieces = len ? (len + 254) / 255 : 1;
	need = len + 2 * pieces;
	if (need > writer_room(w)) {
		return DHCP4_E_NOSPACE;
	}
	do {
		uint8_t l = len > 255 ? 255 : (uint8_t)len;

		w->buf[w->len] = code;
		w->buf[w->len + 1] = l;
		if (l) {
			memcpy(w->buf + w->len + 2, v, l);
			v += l;
		}
		w->len += 2 + (size_t)l;
		len -= l;
	} while (len);
	return DHCP4_OK;
}

int dhcp4_put_encoded(struct dhcp4_writer *w, const uint8_t *bytes, size_t len)
{
	if (len > writer_room(w)) {
		return DHCP4_E_NOSPACE;
	}
	memcpy(w->buf + w->len, bytes, len);
	w->len += len;
	return DHCP4_OK;
}

int dhcp4_build_end(struct dhcp4_writer *w)
{
	size_t end;

	if (w->len >= w->cap) {
		return DHCP4_E_NOSPACE;
	}
	w->buf[w->len++] = DHCP4_OPT_END;
	w->reserve = 0;
	/* Some BOOTP relays and clients drop anything below the 300-byte BOOTP minimum. */
	end = w->cap < DHCP4_MIN_REPLY_LEN ? w->cap : DHCP4_MIN_REPLY_LEN;
	if (w->len < end) {
		memset(w->buf + w->len, 0, end - w->len);
		w->len = end;
	}
	return (int)w->len;
}

size_t dhcp4_reply_cap(const struct dhcp4_msg *req, size_t hard_cap)
{
	size_t max = DHCP4_DEFAULT_MAX_MSG;

	/* RFC 2132 9.10: the minimum legal value is 576; a smaller one is a broken client. */
	if (req->max_size > max) {
		max = req->max_size;
	}
	max -= IP_UDP_HDR_LEN;
	return max < hard_cap ? max : hard_cap;
}
