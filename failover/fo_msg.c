/*
 * fo_msg: failover message codec. The rules (and where they come from) are in fo_msg.h.
 *
 * Two tables drive everything: opt_info[] gives each known option code its wire size and
 * where it lives in struct fo_msg, and type_order[] lists, per message type, the options the
 * type carries in the order ISC writes them. Decode derives its "carried by this type" mask
 * from the same list, so the encoder and the decoder cannot disagree on it.
 */
#include <string.h>

#include "byteorder.h"
#include "fo_msg.h"

/* How an option's value is held in struct fo_msg. */
enum kind {
	K_NONE,		/* unknown code, or one no message carries */
	K_U8,
	K_U16,
	K_U32,
	K_BYTES,
	K_DDNS,		/* u16 flags + name */
};

struct opt_info {
	uint8_t kind;	/* enum kind */
	uint8_t size;	/* fixed wire size; 0 for variable (K_BYTES, K_DDNS) */
	uint16_t off;	/* offsetof the field in struct fo_msg (ddns: ddns_flags) */
};

#define U8(f) { K_U8, 1, offsetof(struct fo_msg, f) }
#define U16(f) { K_U16, 2, offsetof(struct fo_msg, f) }
#define U32(f) { K_U32, 4, offsetof(struct fo_msg, f) }
#define BYTES(f) { K_BYTES, 0, offsetof(struct fo_msg, f) }

static const struct opt_info opt_info[FO_OPT_MAX] = {
	[FO_OPT_ADDRESSES_TRANSFERRED] = U32(addresses_transferred),
	[FO_OPT_ASSIGNED_IP_ADDRESS] = U32(assigned_addr),
	[FO_OPT_BINDING_STATUS] = U8(binding_status),
	[FO_OPT_CLIENT_IDENTIFIER] = BYTES(client_id),
	[FO_OPT_CHADDR] = BYTES(chaddr),
	[FO_OPT_CLTT] = U32(cltt),
	[FO_OPT_REPLY_OPTIONS] = BYTES(reply_options),
	[FO_OPT_REQUEST_OPTIONS] = BYTES(request_options),
	[FO_OPT_DDNS] = { K_DDNS, 0, offsetof(struct fo_msg, ddns_flags) },
	[FO_OPT_DELAYED_SERVICE] = { K_NONE, 1, 0 },
	[FO_OPT_HBA] = BYTES(hba),
	[FO_OPT_IP_FLAGS] = U16(ip_flags),
	[FO_OPT_LEASE_EXPIRY] = U32(lease_expiry),
	[FO_OPT_MAX_UNACKED] = U32(max_unacked),
	[FO_OPT_MCLT] = U32(mclt),
	[FO_OPT_MESSAGE] = BYTES(message),
	[FO_OPT_MESSAGE_DIGEST] = BYTES(digest),
	[FO_OPT_POTENTIAL_EXPIRY] = U32(potential_expiry),
	[FO_OPT_RECEIVE_TIMER] = U32(receive_timer),
	[FO_OPT_PROTOCOL_VERSION] = U8(protocol_version),
	[FO_OPT_REJECT_REASON] = U8(reject_reason),
	[FO_OPT_RELATIONSHIP_NAME] = BYTES(relationship_name),
	[FO_OPT_SERVER_FLAGS] = U8(server_flags),
	[FO_OPT_SERVER_STATE] = U8(server_state),
	[FO_OPT_STOS] = U32(stos),
	[FO_OPT_TLS_REPLY] = U8(tls_reply),
	[FO_OPT_TLS_REQUEST] = U8(tls_request),
	[FO_OPT_VENDOR_CLASS] = BYTES(vendor_class),
	[FO_OPT_VENDOR_OPTIONS] = { K_NONE, 0, 0 },
};

/*
 * The options of each type, in ISC's writing order (dhcp_failover_send_connect(),
 * _send_bind_update(), ... as the captures show), each list ending with 0. ISC's fto_allowed
 * is the set; the options ISC never writes (DDNS, request/reply options, IP-flags in a BNDACK)
 * come after the ones it does. message-digest is not listed: the encoder writes it last.
 */
#define BND_OPTS                                                                           \
	FO_OPT_ASSIGNED_IP_ADDRESS, FO_OPT_BINDING_STATUS, FO_OPT_CLIENT_IDENTIFIER,       \
	FO_OPT_CHADDR, FO_OPT_LEASE_EXPIRY, FO_OPT_POTENTIAL_EXPIRY, FO_OPT_STOS,          \
	FO_OPT_CLTT, FO_OPT_IP_FLAGS, FO_OPT_DDNS, FO_OPT_REQUEST_OPTIONS,                 \
	FO_OPT_REPLY_OPTIONS

static const uint8_t order_none[] = { 0 };
static const uint8_t order_poolresp[] = { FO_OPT_ADDRESSES_TRANSFERRED, 0 };
static const uint8_t order_bndupd[] = { BND_OPTS, 0 };
static const uint8_t order_bndack[] = { BND_OPTS, FO_OPT_REJECT_REASON, FO_OPT_MESSAGE, 0 };
static const uint8_t order_connect[] = {
	FO_OPT_RELATIONSHIP_NAME, FO_OPT_MAX_UNACKED, FO_OPT_RECEIVE_TIMER, FO_OPT_VENDOR_CLASS,
	FO_OPT_PROTOCOL_VERSION, FO_OPT_TLS_REQUEST, FO_OPT_MCLT, FO_OPT_HBA, 0
};
static const uint8_t order_connectack[] = {
	FO_OPT_RELATIONSHIP_NAME, FO_OPT_MAX_UNACKED, FO_OPT_RECEIVE_TIMER, FO_OPT_VENDOR_CLASS,
	FO_OPT_PROTOCOL_VERSION, FO_OPT_TLS_REPLY, FO_OPT_REJECT_REASON, FO_OPT_MESSAGE, 0
};
static const uint8_t order_state[] = {
	FO_OPT_SERVER_STATE, FO_OPT_SERVER_FLAGS, FO_OPT_STOS, 0
};
static const uint8_t order_disconnect[] = { FO_OPT_REJECT_REASON, FO_OPT_MESSAGE, 0 };

static const uint8_t *const type_order[FO_MSG_TYPE_MAX] = {
	[0] = order_none,
	[FO_MSG_POOLREQ] = order_none,
	[FO_MSG_POOLRESP] = order_poolresp,
	[FO_MSG_BNDUPD] = order_bndupd,
	[FO_MSG_BNDACK] = order_bndack,
	[FO_MSG_CONNECT] = order_connect,
	[FO_MSG_CONNECTACK] = order_connectack,
	[FO_MSG_UPDREQALL] = order_none,
	[FO_MSG_UPDDONE] = order_none,
	[FO_MSG_UPDREQ] = order_none,
	[FO_MSG_STATE] = order_state,
	[FO_MSG_CONTACT] = order_none,
	[FO_MSG_DISCONNECT] = order_disconnect,
};

uint32_t fo_msg_type_opts(unsigned int type)
{
	const uint8_t *o;
	uint32_t mask = 0;

	if (!fo_msg_type_known(type)) {
		return 0;
	}
	for (o = type_order[type]; *o; o++) {
		mask |= FO_BIT(*o);
	}
	return mask;
}

unsigned int fo_opt_size(unsigned int code)
{
	return code < FO_OPT_MAX ? opt_info[code].size : 0;
}

int fo_frame_len(const uint8_t *buf, size_t avail, size_t max_len)
{
	uint16_t len;

	if (max_len < FO_MSG_HDR_LEN) {
		return FO_E_INVAL;
	}
	if (max_len > FO_MSG_MAX_LEN) {
		max_len = FO_MSG_MAX_LEN;
	}
	if (avail < 2) {
		return 0;
	}
	len = lw_get16(buf);
	if (len < FO_MSG_HDR_LEN) {
		return FO_E_LEN_SMALL;
	}
	if (len > max_len) {
		return FO_E_LEN_BIG;
	}
	return avail >= len ? len : 0;
}

/* A field of struct fo_msg, by offset. */
static void *field(struct fo_msg *m, const struct opt_info *oi)
{
	return (uint8_t *)m + oi->off;
}

static const void *cfield(const struct fo_msg *m, const struct opt_info *oi)
{
	return (const uint8_t *)m + oi->off;
}

/*
 * Store one option of the type's set. The length has been checked against the message
 * already, not against the option's size.
 */
static int store_opt(struct fo_msg *m, unsigned int code, const uint8_t *v, uint16_t len,
		     unsigned int flags)
{
	const struct opt_info *oi = &opt_info[code];
	struct fo_bytes *b;

	switch (oi->kind) {
	case K_U8:
		if (len != 1) {
			return FO_E_OPT_SIZE;
		}
		*(uint8_t *)field(m, oi) = v[0];
		break;
	case K_U16:
		if (len == 1 && code == FO_OPT_IP_FLAGS && (flags & FO_DECODE_MS_QUIRKS)) {
			*(uint16_t *)field(m, oi) = v[0];
			break;
		}
		if (len != 2) {
			return FO_E_OPT_SIZE;
		}
		*(uint16_t *)field(m, oi) = lw_get16(v);
		break;
	case K_U32:
		if (len != 4) {
			return FO_E_OPT_SIZE;
		}
		*(uint32_t *)field(m, oi) = lw_get32(v);
		break;
	case K_BYTES:
		b = field(m, oi);
		b->ptr = v;
		b->len = len;
		break;
	case K_DDNS:
		if (len < 2) {
			return FO_E_OPT_SIZE;
		}
		m->ddns_flags = lw_get16(v);
		m->ddns_name.ptr = v + 2;
		m->ddns_name.len = (uint16_t)(len - 2);
		break;
	default:
		return FO_E_OPT_NOT_ALLOWED;	/* not reached: K_NONE is in no type's set */
	}
	return FO_OK;
}

int fo_msg_decode(struct fo_msg *m, const uint8_t *buf, size_t len, unsigned int flags)
{
	uint32_t carried;
	size_t off, payoff;
	int err;

	memset(m, 0, sizeof(*m));
	if (len < FO_MSG_HDR_LEN) {
		err = FO_E_SHORT;
		goto bad;
	}
	m->len = lw_get16(buf);
	m->type = buf[2];
	m->payoff = buf[3];
	m->time = lw_get32(buf + 4);
	m->xid = lw_get32(buf + 8);
	if (m->len < FO_MSG_HDR_LEN) {
		err = FO_E_LEN_SMALL;
		goto bad;
	}
	if (m->len > FO_MSG_MAX_LEN) {
		err = FO_E_LEN_BIG;
		goto bad;
	}
	if (m->len != len) {
		err = FO_E_LEN_MISMATCH;
		goto bad;
	}
	payoff = m->payoff;
	if (payoff < FO_MSG_HDR_LEN && (flags & FO_DECODE_MS_QUIRKS)) {
		payoff = FO_MSG_HDR_LEN;
	}
	if (payoff < FO_MSG_HDR_LEN || payoff > len) {
		err = FO_E_PAYOFF;
		goto bad;
	}
	carried = fo_msg_type_opts(m->type);

	for (off = payoff; off < len;) {
		const uint8_t *v;
		uint16_t code, olen;

		if (len - off < FO_OPT_HDR_LEN) {
			err = FO_E_OPT_TRUNC;
			goto bad;
		}
		code = lw_get16(buf + off);
		olen = lw_get16(buf + off + 2);
		off += FO_OPT_HDR_LEN;
		if (olen > len - off) {
			err = FO_E_OPT_OVERRUN;
			goto bad;
		}
		v = buf + off;
		off += olen;

		/* In ISC's order: unknown code, message type, digest, set, duplicate, size. */
		if (code == 0 || code >= FO_OPT_MAX) {
			m->n_skipped++;
			continue;
		}
		if (m->type != 0 && !fo_msg_type_known(m->type)) {
			m->err_opt = code;
			err = FO_E_MSG_TYPE;
			goto bad;
		}
		if (code == FO_OPT_MESSAGE_DIGEST && m->type != 0) {
			if (m->present & FO_BIT(code)) {
				m->n_skipped++;
			} else {
				m->digest.ptr = v;
				m->digest.len = olen;
				m->present |= FO_BIT(code);
			}
			continue;
		}
		if (!(carried & FO_BIT(code))) {
			m->n_skipped++;
			continue;
		}
		if (m->present & FO_BIT(code)) {
			m->err_opt = code;
			err = FO_E_OPT_DUP;
			goto bad;
		}
		err = store_opt(m, code, v, olen, flags);
		if (err != FO_OK) {
			m->err_opt = code;
			goto bad;
		}
		m->present |= FO_BIT(code);
	}
	return FO_OK;

bad:
	m->present = 0;
	return err;
}

void fo_msg_init(struct fo_msg *m, uint8_t type, uint32_t time, uint32_t xid)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->payoff = FO_MSG_HDR_LEN;
	m->time = time;
	m->xid = xid;
}

/* Wire length of option @p code's value in @p m, or FO_E_INVAL for a view without data. */
static long opt_wire_len(const struct fo_msg *m, unsigned int code)
{
	const struct opt_info *oi = &opt_info[code];
	const struct fo_bytes *b;

	switch (oi->kind) {
	case K_BYTES:
		b = cfield(m, oi);
		return b->len && !b->ptr ? FO_E_INVAL : b->len;
	case K_DDNS:
		return m->ddns_name.len && !m->ddns_name.ptr ? FO_E_INVAL : 2L + m->ddns_name.len;
	default:
		return oi->size;
	}
}

static uint8_t *write_opt(uint8_t *p, const struct fo_msg *m, unsigned int code, uint16_t len)
{
	const struct opt_info *oi = &opt_info[code];
	const struct fo_bytes *b;

	lw_put16(p, (uint16_t)code);
	lw_put16(p + 2, len);
	p += 4;
	switch (oi->kind) {
	case K_U8:
		*p++ = *(const uint8_t *)cfield(m, oi);
		break;
	case K_U16:
		lw_put16(p, *(const uint16_t *)cfield(m, oi));
		p += 2;
		break;
	case K_U32:
		lw_put32(p, *(const uint32_t *)cfield(m, oi));
		p += 4;
		break;
	case K_BYTES:
		b = cfield(m, oi);
		if (b->len) {
			memcpy(p, b->ptr, b->len);
		}
		p += b->len;
		break;
	case K_DDNS:
		lw_put16(p, m->ddns_flags);
		p += 2;
		if (m->ddns_name.len) {
			memcpy(p, m->ddns_name.ptr, m->ddns_name.len);
		}
		p += m->ddns_name.len;
		break;
	default:
		break;
	}
	return p;
}

int fo_msg_encode(const struct fo_msg *m, uint8_t *buf, size_t cap)
{
	static const uint8_t digest_only[] = { FO_OPT_MESSAGE_DIGEST, 0 };
	const uint8_t *lists[2];
	size_t need = FO_MSG_HDR_LEN;
	uint32_t carried;
	uint8_t *p;
	unsigned int i;

	if (!fo_msg_type_known(m->type)) {
		return FO_E_MSG_TYPE;
	}
	carried = fo_msg_type_opts(m->type) | FO_BIT(FO_OPT_MESSAGE_DIGEST);
	if (m->present & ~carried) {
		return FO_E_OPT_NOT_ALLOWED;
	}
	lists[0] = type_order[m->type];
	lists[1] = digest_only;

	/* Size everything first, so that nothing is written unless it all fits. */
	for (i = 0; i < 2; i++) {
		const uint8_t *o;

		for (o = lists[i]; *o; o++) {
			long l;

			if (!(m->present & FO_BIT(*o))) {
				continue;
			}
			l = opt_wire_len(m, *o);
			if (l < 0) {
				return (int)l;
			}
			need += FO_OPT_HDR_LEN + (size_t)l;
		}
	}
	if (need > FO_MSG_MAX_LEN) {
		return FO_E_LEN_BIG;
	}
	if (need > cap) {
		return FO_E_NOSPACE;
	}

	lw_put16(buf, (uint16_t)need);
	buf[2] = m->type;
	buf[3] = FO_MSG_HDR_LEN;
	lw_put32(buf + 4, m->time);
	lw_put32(buf + 8, m->xid);
	p = buf + FO_MSG_HDR_LEN;
	for (i = 0; i < 2; i++) {
		const uint8_t *o;

		for (o = lists[i]; *o; o++) {
			if (m->present & FO_BIT(*o)) {
				p = write_opt(p, m, *o, (uint16_t)opt_wire_len(m, *o));
			}
		}
	}
	return (int)(p - buf);
}

/* Names. */

static const char *const msg_type_names[FO_MSG_TYPE_MAX] = {
	[FO_MSG_POOLREQ] = "POOLREQ",
	[FO_MSG_POOLRESP] = "POOLRESP",
	[FO_MSG_BNDUPD] = "BNDUPD",
	[FO_MSG_BNDACK] = "BNDACK",
	[FO_MSG_CONNECT] = "CONNECT",
	[FO_MSG_CONNECTACK] = "CONNECTACK",
	[FO_MSG_UPDREQALL] = "UPDREQALL",
	[FO_MSG_UPDDONE] = "UPDDONE",
	[FO_MSG_UPDREQ] = "UPDREQ",
	[FO_MSG_STATE] = "STATE",
	[FO_MSG_CONTACT] = "CONTACT",
	[FO_MSG_DISCONNECT] = "DISCONNECT",
};

static const char *const opt_names[FO_OPT_MAX] = {
	[FO_OPT_ADDRESSES_TRANSFERRED] = "addresses-transferred",
	[FO_OPT_ASSIGNED_IP_ADDRESS] = "assigned-IP-address",
	[FO_OPT_BINDING_STATUS] = "binding-status",
	[FO_OPT_CLIENT_IDENTIFIER] = "client-identifier",
	[FO_OPT_CHADDR] = "client-hardware-address",
	[FO_OPT_CLTT] = "client-last-transaction-time",
	[FO_OPT_REPLY_OPTIONS] = "client-reply-options",
	[FO_OPT_REQUEST_OPTIONS] = "client-request-options",
	[FO_OPT_DDNS] = "DDNS",
	[FO_OPT_DELAYED_SERVICE] = "delayed-service-parameter",
	[FO_OPT_HBA] = "hash-bucket-assignment",
	[FO_OPT_IP_FLAGS] = "IP-flags",
	[FO_OPT_LEASE_EXPIRY] = "lease-expiration-time",
	[FO_OPT_MAX_UNACKED] = "max-unacked-bndupd",
	[FO_OPT_MCLT] = "MCLT",
	[FO_OPT_MESSAGE] = "message",
	[FO_OPT_MESSAGE_DIGEST] = "message-digest",
	[FO_OPT_POTENTIAL_EXPIRY] = "potential-expiration-time",
	[FO_OPT_RECEIVE_TIMER] = "receive-timer",
	[FO_OPT_PROTOCOL_VERSION] = "protocol-version",
	[FO_OPT_REJECT_REASON] = "reject-reason",
	[FO_OPT_RELATIONSHIP_NAME] = "relationship-name",
	[FO_OPT_SERVER_FLAGS] = "server-flags",
	[FO_OPT_SERVER_STATE] = "server-state",
	[FO_OPT_STOS] = "start-time-of-state",
	[FO_OPT_TLS_REPLY] = "TLS-reply",
	[FO_OPT_TLS_REQUEST] = "TLS-request",
	[FO_OPT_VENDOR_CLASS] = "vendor-class-identifier",
	[FO_OPT_VENDOR_OPTIONS] = "vendor-specific-options",
};

static const char *const binding_status_names[] = {
	[FO_BS_FREE] = "free",
	[FO_BS_ACTIVE] = "active",
	[FO_BS_EXPIRED] = "expired",
	[FO_BS_RELEASED] = "released",
	[FO_BS_ABANDONED] = "abandoned",
	[FO_BS_RESET] = "reset",
	[FO_BS_BACKUP] = "backup",
};

static const char *const server_state_names[] = {
	[FO_SS_STARTUP] = "startup",
	[FO_SS_NORMAL] = "normal",
	[FO_SS_COMM_INTERRUPTED] = "communications-interrupted",
	[FO_SS_PARTNER_DOWN] = "partner-down",
	[FO_SS_POTENTIAL_CONFLICT] = "potential-conflict",
	[FO_SS_RECOVER] = "recover",
	[FO_SS_PAUSED] = "paused",
	[FO_SS_SHUTDOWN] = "shutdown",
	[FO_SS_RECOVER_DONE] = "recover-done",
	[FO_SS_RESOLUTION_INTERRUPTED] = "resolution-interrupted",
	[FO_SS_CONFLICT_DONE] = "conflict-done",
};

static const char *const reject_reason_names[] = {
	[FO_RR_ILLEGAL_IP_ADDR] = "Illegal IP address (not part of any address pool)",
	[FO_RR_FATAL_CONFLICT] = "Fatal conflict exists: address in use by other client",
	[FO_RR_MISSING_BINDINFO] = "Missing binding information",
	[FO_RR_TIMEMISMATCH] = "Connection rejected, time mismatch too great",
	[FO_RR_INVALID_MCLT] = "Connection rejected, invalid MCLT",
	[FO_RR_MISC_REJECT] = "Connection rejected, unknown reason",
	[FO_RR_DUP_CONNECTION] = "Connection rejected, duplicate connection",
	[FO_RR_INVALID_PARTNER] = "Connection rejected, invalid failover partner",
	[FO_RR_TLS_UNSUPPORTED] = "TLS not supported",
	[FO_RR_TLS_UNCONFIGURED] = "TLS supported but not configured",
	[FO_RR_TLS_REQUIRED] = "TLS required but not supported by partner",
	[FO_RR_DIGEST_UNSUPPORTED] = "Message digest not supported",
	[FO_RR_DIGEST_UNCONFIGURED] = "Message digest not configured",
	[FO_RR_VERSION_MISMATCH] = "Protocol version mismatch",
	[FO_RR_OUTDATED_BIND_INFO] = "Outdated binding information",
	[FO_RR_LESS_CRIT_BIND_INFO] = "Less critical binding information",
	[FO_RR_NO_TRAFFIC] = "No traffic within sufficient time",
	[FO_RR_HBA_CONFLICT] = "Hash bucket assignment conflict",
	[FO_RR_IP_NOT_RESERVED] = "IP not reserved on this server",
	[FO_RR_IP_DIGEST_FAILURE] = "Message digest failed to compare",
	[FO_RR_IP_MISSING_DIGEST] = "Missing message digest",
};

#define NAME(tab, i, dflt)                                                                 \
	((i) < sizeof(tab) / sizeof((tab)[0]) && (tab)[i] ? (tab)[i] : (dflt))

const char *fo_msg_type_str(unsigned int type)
{
	return NAME(msg_type_names, type, "UNKNOWN");
}

const char *fo_opt_str(unsigned int code)
{
	return NAME(opt_names, code, "unknown");
}

const char *fo_binding_status_str(unsigned int status)
{
	return NAME(binding_status_names, status, "unknown");
}

const char *fo_server_state_str(unsigned int state)
{
	if (state == FO_SS_RECOVER_WAIT) {
		return "recover-wait";
	}
	return NAME(server_state_names, state, "unknown");
}

const char *fo_reject_reason_str(unsigned int reason)
{
	if (reason == FO_RR_UNKNOWN) {
		return "Unknown: Error occurred but does not match any reason";
	}
	return NAME(reject_reason_names, reason, "unknown reject reason");
}

const char *fo_err_str(int err)
{
	switch (err) {
	case FO_OK:
		return "ok";
	case FO_E_SHORT:
		return "short-header";
	case FO_E_LEN_SMALL:
		return "length-too-small";
	case FO_E_LEN_BIG:
		return "length-too-big";
	case FO_E_LEN_MISMATCH:
		return "length-mismatch";
	case FO_E_PAYOFF:
		return "bad-payload-offset";
	case FO_E_MSG_TYPE:
		return "invalid-message-type";
	case FO_E_OPT_TRUNC:
		return "option-truncated";
	case FO_E_OPT_OVERRUN:
		return "option-overrun";
	case FO_E_OPT_SIZE:
		return "option-size";
	case FO_E_OPT_DUP:
		return "duplicate-option";
	case FO_E_NOSPACE:
		return "no-space";
	case FO_E_OPT_NOT_ALLOWED:
		return "option-not-allowed";
	case FO_E_INVAL:
		return "invalid-argument";
	default:
		return "unknown";
	}
}
