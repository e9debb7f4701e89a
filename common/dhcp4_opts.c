/*
 * dhcp4_opts: the option table and the few functions that read it.
 *
 * The table is indexed by code so that the hot-path question "does the server write this
 * code itself?" is one load. Names are RFC 2132's, lower-case with '-' (as ISC dhcpd and Kea
 * spell them), except the configuration keys that predate this table, which keep their
 * spelling ("ntp-servers", "tftp-server-name", ...).
 *
 * Adding an option: add its row. A row with DHCP4_OPTF_CONFIG_KEY becomes a key of the
 * configuration's "options" object and appears in the generated configuration docs.
 */
#include "byteorder.h"
#include "dhcp4_opts.h"
#include "fmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ROW(c, n, t, f)		[c] = { .name = (n), .code = (c), .type = DHCP4_OT_##t, \
					.flags = (f) }
#define OWNED(c, n, t, f, why)	[c] = { .name = (n), .owner = (why), .code = (c), \
					.type = DHCP4_OT_##t, .flags = (f) }
#define KEY	DHCP4_OPTF_CONFIG_KEY
#define SRV	DHCP4_OPTF_SERVER
#define CLI	DHCP4_OPTF_CLIENT

const struct dhcp4_opt_def dhcp4_opts_table[256] = {
	OWNED(1, "subnet-mask", IPV4, SRV,
	      "the subnet mask is derived from the scope's subnet"),
	ROW(2, "time-offset", INT32, KEY),
	ROW(3, "routers", IPV4_LIST, KEY),
	ROW(4, "time-servers", IPV4_LIST, 0),
	ROW(5, "ien116-name-servers", IPV4_LIST, 0),
	ROW(6, "domain-name-servers", IPV4_LIST, KEY),
	ROW(7, "log-servers", IPV4_LIST, 0),
	ROW(8, "cookie-servers", IPV4_LIST, 0),
	ROW(9, "lpr-servers", IPV4_LIST, 0),
	ROW(10, "impress-servers", IPV4_LIST, 0),
	ROW(11, "resource-location-servers", IPV4_LIST, 0),
	OWNED(12, "host-name", STRING, SRV,
	      "the host name comes from the reservation's \"hostname\""),
	ROW(13, "boot-size", UINT16, 0),
	ROW(14, "merit-dump", STRING, 0),
	ROW(15, "domain-name", STRING, KEY),
	ROW(16, "swap-server", IPV4, 0),
	ROW(17, "root-path", STRING, 0),
	ROW(18, "extensions-path", STRING, 0),
	ROW(19, "ip-forwarding", BOOL, 0),
	ROW(20, "non-local-source-routing", BOOL, 0),
	ROW(22, "max-dgram-reassembly", UINT16, 0),
	ROW(23, "default-ip-ttl", UINT8, 0),
	ROW(24, "path-mtu-aging-timeout", UINT32, 0),
	ROW(26, "interface-mtu", UINT16, KEY),
	ROW(27, "all-subnets-local", BOOL, 0),
	ROW(28, "broadcast-address", IPV4, KEY),
	ROW(29, "perform-mask-discovery", BOOL, 0),
	ROW(30, "mask-supplier", BOOL, 0),
	ROW(31, "router-discovery", BOOL, 0),
	ROW(32, "router-solicitation-address", IPV4, 0),
	ROW(34, "trailer-encapsulation", BOOL, 0),
	ROW(35, "arp-cache-timeout", UINT32, 0),
	ROW(36, "ieee802-3-encapsulation", BOOL, 0),
	ROW(37, "default-tcp-ttl", UINT8, 0),
	ROW(38, "tcp-keepalive-interval", UINT32, 0),
	ROW(39, "tcp-keepalive-garbage", BOOL, 0),
	ROW(40, "nis-domain", STRING, 0),
	ROW(41, "nis-servers", IPV4_LIST, 0),
	ROW(42, "ntp-servers", IPV4_LIST, KEY),
	ROW(43, "vendor-encapsulated-options", SUBOPTS, KEY),
	ROW(44, "netbios-name-servers", IPV4_LIST, KEY),
	ROW(45, "netbios-dd-server", IPV4_LIST, 0),
	ROW(46, "netbios-node-type", UINT8, 0),
	ROW(47, "netbios-scope", STRING, 0),
	ROW(48, "font-servers", IPV4_LIST, 0),
	ROW(49, "x-display-manager", IPV4_LIST, 0),
	OWNED(50, "requested-address", IPV4, CLI,
	      "requested address is a client option"),
	OWNED(51, "lease-time", UINT32, SRV,
	      "the lease time comes from lease-time, min-lease-time and max-lease-time"),
	OWNED(52, "option-overload", UINT8, SRV,
	      "option overload is decided by the server"),
	OWNED(53, "message-type", UINT8, SRV,
	      "the message type is decided by the server"),
	OWNED(54, "server-identifier", IPV4, SRV,
	      "the server identifier is the interface address"),
	OWNED(55, "parameter-request-list", HEX, CLI,
	      "the parameter request list is a client option"),
	OWNED(57, "max-message-size", UINT16, CLI,
	      "maximum message size is a client option"),
	OWNED(58, "renewal-time", UINT32, SRV,
	      "the renewal time (T1) comes from renew-time"),
	OWNED(59, "rebinding-time", UINT32, SRV,
	      "the rebinding time (T2) comes from rebind-time"),
	OWNED(61, "client-identifier", HEX, SRV,
	      "the client identifier is a client option"),
	ROW(64, "nisplus-domain", STRING, 0),
	ROW(65, "nisplus-servers", IPV4_LIST, 0),
	ROW(66, "tftp-server-name", STRING, KEY),
	ROW(67, "bootfile-name", STRING, KEY),
	ROW(69, "smtp-servers", IPV4_LIST, 0),
	ROW(70, "pop-servers", IPV4_LIST, 0),
	ROW(71, "nntp-servers", IPV4_LIST, 0),
	ROW(72, "www-servers", IPV4_LIST, 0),
	ROW(73, "finger-servers", IPV4_LIST, 0),
	ROW(74, "irc-servers", IPV4_LIST, 0),
	ROW(75, "streettalk-servers", IPV4_LIST, 0),
	ROW(76, "streettalk-directory-assistance-servers", IPV4_LIST, 0),
	OWNED(82, "relay-agent-information", HEX, SRV,
	      "relay agent information is echoed from the relay"),
	ROW(119, "domain-search", DOMAINS, KEY),
	ROW(121, "classless-static-routes", ROUTES, KEY),
	ROW(150, "tftp-server-address", IPV4_LIST, 0),
	ROW(249, "ms-classless-static-routes", ROUTES, KEY),
};

static const char *const type_names[DHCP4_OT_COUNT] = {
	[DHCP4_OT_IPV4] = "ipv4",
	[DHCP4_OT_IPV4_LIST] = "ipv4-list",
	[DHCP4_OT_STRING] = "string",
	[DHCP4_OT_BOOL] = "bool",
	[DHCP4_OT_UINT8] = "uint8",
	[DHCP4_OT_UINT16] = "uint16",
	[DHCP4_OT_UINT32] = "uint32",
	[DHCP4_OT_INT32] = "int32",
	[DHCP4_OT_HEX] = "hex",
	[DHCP4_OT_ROUTES] = "routes",
	[DHCP4_OT_DOMAINS] = "domain-list",
	[DHCP4_OT_SUBOPTS] = "suboptions",
};

/* One RFC 3442 route at @v (@n bytes left): its length, or 0 when malformed. */
static size_t route_len(const uint8_t *v, size_t n)
{
	size_t need;

	if (n == 0 || v[0] > 32) {
		return 0;
	}
	need = 1 + (v[0] + 7u) / 8 + 4;
	return need <= n ? need : 0;
}

/* One wire-form name at @v (@n bytes left): its length with the root label, or 0. */
static size_t name_len(const uint8_t *v, size_t n)
{
	size_t i = 0;

	while (i < n && v[i] != 0) {
		if (v[i] > 63 || i + 1 + v[i] >= n) {
			return 0;
		}
		i += 1u + v[i];
	}
	return i < n && i != 0 && i + 1 <= 255 ? i + 1 : 0;
}

/* A whole value made of items @item measures: every byte covered, at least one item. */
static bool items_fit(size_t (*item)(const uint8_t *, size_t), const uint8_t *v, size_t len)
{
	size_t at = 0, k;

	while (at < len) {
		k = item(v + at, len - at);
		if (k == 0) {
			return false;
		}
		at += k;
	}
	return len != 0;
}

static size_t subopt_len(const uint8_t *v, size_t n)
{
	return n >= 2 && 2u + v[1] <= n ? 2u + v[1] : 0;
}

const char *dhcp4_opts_owned(uint8_t code)
{
	return dhcp4_opts_table[code].owner;
}

const struct dhcp4_opt_def *dhcp4_opts_by_name(const char *name)
{
	for (size_t c = 0; c < 256; c++) {
		const char *n = dhcp4_opts_table[c].name;

		if (n != NULL && strcmp(n, name) == 0) {
			return &dhcp4_opts_table[c];
		}
	}
	return NULL;
}

const struct dhcp4_opt_def *dhcp4_opts_next(int code)
{
	for (int c = code < 0 ? 0 : code + 1; c < 256; c++) {
		if (dhcp4_opts_table[c].name != NULL) {
			return &dhcp4_opts_table[c];
		}
	}
	return NULL;
}

const char *dhcp4_opts_type_name(enum dhcp4_opt_type t)
{
	return (unsigned int)t < DHCP4_OT_COUNT ? type_names[t] : NULL;
}

enum dhcp4_opt_type dhcp4_opts_type_by_name(const char *name)
{
	for (int t = 1; t < DHCP4_OT_COUNT; t++) {
		if (strcmp(name, type_names[t]) == 0) {
			return (enum dhcp4_opt_type)t;
		}
	}
	return DHCP4_OT_NONE;
}

bool dhcp4_opts_fits(enum dhcp4_opt_type t, const uint8_t *v, size_t len)
{
	switch (t) {
	case DHCP4_OT_IPV4:
	case DHCP4_OT_UINT32:
	case DHCP4_OT_INT32:
		return len == 4;
	case DHCP4_OT_IPV4_LIST:
		return len != 0 && len % 4 == 0;
	case DHCP4_OT_STRING:
		return len != 0 && memchr(v, '\0', len) == NULL;
	case DHCP4_OT_BOOL:
		return len == 1 && v[0] <= 1;
	case DHCP4_OT_UINT8:
		return len == 1;
	case DHCP4_OT_UINT16:
		return len == 2;
	case DHCP4_OT_HEX:
		return true;
	case DHCP4_OT_ROUTES:
		return items_fit(route_len, v, len);
	case DHCP4_OT_DOMAINS:
		return items_fit(name_len, v, len);
	case DHCP4_OT_SUBOPTS:
		return items_fit(subopt_len, v, len);
	case DHCP4_OT_NONE:
	case DHCP4_OT_COUNT:
		break;
	}
	return false;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* snprintf at @at that keeps counting past the end of the buffer. */
static size_t __attribute__((format(printf, 4, 5)))
add(char *buf, size_t size, size_t at, const char *fmt, ...)
{
	char tmp[48];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n <= 0) {
		return at;
	}
	if (at < size) {
		size_t room = size - at - 1;
		size_t k = (size_t)n < room ? (size_t)n : room;

		memcpy(buf + at, tmp, k);
		buf[at + k] = '\0';
	}
	return at + (size_t)n;
}

size_t dhcp4_opts_format_as(enum dhcp4_opt_type t, const uint8_t *v, size_t len, char *buf,
			    size_t size)
{
	size_t at = 0;

	if (size != 0) {
		buf[0] = '\0';
	}
	if (!dhcp4_opts_fits(t, v, len)) {
		t = DHCP4_OT_HEX;
	}
	switch (t) {
	case DHCP4_OT_IPV4:
	case DHCP4_OT_IPV4_LIST:
		for (size_t i = 0; i < len; i += 4) {
			at = add(buf, size, at, "%s%s", i != 0 ? ", " : "",
				 lw_ip4_fmt(lw_get32(v + i)).s);
		}
		return at;
	case DHCP4_OT_STRING:
		if (size != 0) {
			size_t k = len < size - 1 ? len : size - 1;

			memcpy(buf, v, k);
			buf[k] = '\0';
		}
		return len;
	case DHCP4_OT_BOOL:
		return add(buf, size, 0, "%s", v[0] ? "true" : "false");
	case DHCP4_OT_UINT8:
		return add(buf, size, 0, "%u", v[0]);
	case DHCP4_OT_UINT16:
		return add(buf, size, 0, "%u", (unsigned int)(v[0] << 8 | v[1]));
	case DHCP4_OT_UINT32:
		return add(buf, size, 0, "%u", be32(v));
	case DHCP4_OT_INT32:
		return add(buf, size, 0, "%d", (int)(int32_t)be32(v));
	case DHCP4_OT_ROUTES:
		for (size_t i = 0; i < len; i += route_len(v + i, len - i)) {
			uint8_t dst[4] = { 0, 0, 0, 0 };
			size_t sig = (v[i] + 7u) / 8;

			memcpy(dst, v + i + 1, sig);
			at = add(buf, size, at, "%s%s/%u", i != 0 ? ", " : "",
				 lw_ip4_fmt(lw_get32(dst)).s, v[i]);
			at = add(buf, size, at, " %s", lw_ip4_fmt(lw_get32(v + i + 1 + sig)).s);
		}
		return at;
	case DHCP4_OT_DOMAINS:
		for (size_t i = 0; i < len; i++) {
			bool first = true;

			at = add(buf, size, at, "%s", i != 0 ? ", " : "");
			for (; v[i] != 0; i += 1u + v[i]) {
				at = add(buf, size, at, "%s", first ? "" : ".");
				for (int k = 0; k < v[i]; k += 32) {	/* add() takes 47 */
					int n = v[i] - k < 32 ? v[i] - k : 32;

					at = add(buf, size, at, "%.*s", n, (const char *)v + i + 1 + k);
				}
				first = false;
			}
		}
		return at;
	case DHCP4_OT_SUBOPTS:
		for (size_t i = 0; i < len; i += 2u + v[i + 1]) {
			at = add(buf, size, at, "%s%u=", i != 0 ? ", " : "", v[i]);
			for (size_t k = 0; k < v[i + 1]; k++) {
				at = add(buf, size, at, "%s%02x", k != 0 ? ":" : "", v[i + 2 + k]);
			}
		}
		return at;
	case DHCP4_OT_HEX:
	case DHCP4_OT_NONE:
	case DHCP4_OT_COUNT:
		break;
	}
	for (size_t i = 0; i < len; i++) {
		at = add(buf, size, at, "%s%02x", i != 0 ? ":" : "", v[i]);
	}
	return at;
}

size_t dhcp4_opts_format(uint8_t code, const uint8_t *v, size_t len, char *buf, size_t size)
{
	return dhcp4_opts_format_as((enum dhcp4_opt_type)dhcp4_opts_table[code].type, v, len, buf,
				    size);
}
