/*
 * dhcp4_opts: the one table of DHCPv4 options (RFC 2132 and the few later ones we name).
 *
 * One row per option code: its name, the type of its value, and who owns it. The server-owned
 * options (53, 54, 51, 58, 59, ...) are those the server writes into replies itself; the
 * client-only ones (50, 55, 57) are what clients send. Neither may be set by the configuration,
 * and the reason text of the row says where the value comes from instead.
 *
 * Readers of the table:
 *   - controlplane/config_schema.c: the named keys of "options" ("routers", ...), the types of
 *     "custom" entries, refusing owned codes, and writing options back to JSON with a type;
 *   - dataplane/engine.c: which configured options it must never copy into a reply;
 *   - leasewirectl (rendering): option names and values as text.
 *
 * Pure C, no dependency beyond libc; every function is reentrant and may be called from any
 * thread (the table is constant). Nothing here allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The type of an option's value, as the configuration file spells it (see type names). */
enum dhcp4_opt_type {
	DHCP4_OT_NONE = 0,	/**< code not in the table: opaque bytes */
	DHCP4_OT_IPV4,		/**< one address, 4 bytes: "ipv4" */
	DHCP4_OT_IPV4_LIST,	/**< 1..n addresses, 4 bytes each: "ipv4-list" */
	DHCP4_OT_STRING,	/**< 1..n bytes of text, no NUL: "string" */
	DHCP4_OT_BOOL,		/**< 1 byte, 0 or 1: "bool" */
	DHCP4_OT_UINT8,		/**< "uint8" */
	DHCP4_OT_UINT16,	/**< network order: "uint16" */
	DHCP4_OT_UINT32,	/**< network order: "uint32" */
	DHCP4_OT_INT32,		/**< network order, two's complement: "int32" */
	DHCP4_OT_HEX,		/**< any bytes, written "01:02:03": "hex" */
	/** RFC 3442 classless routes, 1..n of (width, significant destination octets, router),
	 *  written "198.18.5.0/24 198.18.0.1": "routes" */
	DHCP4_OT_ROUTES,
	/** RFC 3397 domain search list, 1..n names in DNS wire form (no compression), written
	 *  "example.test": "domain-list" */
	DHCP4_OT_DOMAINS,
	/** encapsulated sub-options, 1..n of (code, length, value), written as a list of
	 *  {code, type, value} like "custom" (option 43): "suboptions" */
	DHCP4_OT_SUBOPTS,
	DHCP4_OT_COUNT
};

/** Row flags. */
#define DHCP4_OPTF_SERVER	0x01	/**< the server writes it into replies itself */
#define DHCP4_OPTF_CLIENT	0x02	/**< only clients send it */
#define DHCP4_OPTF_CONFIG_KEY	0x04	/**< has a key of its own in the configuration's
					 *   "options" object (its name), besides "custom" */

/** One option. Rows for codes not in the table have name == NULL and type DHCP4_OT_NONE. */
struct dhcp4_opt_def {
	const char *name;	/**< lower-case, '-' separated ("domain-name-servers") */
	const char *owner;	/**< for owned options: where the value comes from instead, as
				 *   one clause ("the server identifier is the interface
				 *   address"); NULL otherwise */
	uint8_t code;
	uint8_t type;		/**< enum dhcp4_opt_type */
	uint8_t flags;		/**< DHCP4_OPTF_* */
};

/** The table, indexed by code (0..255). Read it through the functions below. */
extern const struct dhcp4_opt_def dhcp4_opts_table[256];

/**
 * @brief The row of option @p code.
 * @return the row, or NULL when the code is not in the table. Static storage.
 */
static inline const struct dhcp4_opt_def *dhcp4_opts_by_code(uint8_t code)
{
	return dhcp4_opts_table[code].name != NULL ? &dhcp4_opts_table[code] : NULL;
}

/**
 * @brief True when the server writes option @p code into its replies itself, so a configured
 * value of that code must never be copied into a reply. Cheap enough for the hot path.
 */
static inline bool dhcp4_opts_server_writes(uint8_t code)
{
	return (dhcp4_opts_table[code].flags & DHCP4_OPTF_SERVER) != 0;
}

/**
 * @brief Why the configuration may not set option @p code.
 * @return the reason clause (static) for a server-owned or client-only option, else NULL.
 */
const char *dhcp4_opts_owned(uint8_t code);

/**
 * @brief The row whose name is @p name (exact, case-sensitive).
 * @return the row, or NULL. Static storage.
 */
const struct dhcp4_opt_def *dhcp4_opts_by_name(const char *name);

/**
 * @brief Iterate over the rows in code order: start with @p code = -1, pass the last row's
 * code back. @return the next row after @p code, or NULL at the end.
 */
const struct dhcp4_opt_def *dhcp4_opts_next(int code);

/** @brief The name of type @p t ("ipv4-list"), or NULL for DHCP4_OT_NONE and out of range. */
const char *dhcp4_opts_type_name(enum dhcp4_opt_type t);

/** @brief The type named @p name, or DHCP4_OT_NONE when there is none. */
enum dhcp4_opt_type dhcp4_opts_type_by_name(const char *name);

/**
 * @brief Whether @p len bytes at @p v are a well-formed value of type @p t: ipv4 is 4 bytes,
 * ipv4-list a non-zero multiple of 4, string 1..n bytes without NUL (UTF-8 is not checked),
 * bool one byte 0 or 1, integers their exact width; hex takes anything; NONE nothing.
 */
bool dhcp4_opts_fits(enum dhcp4_opt_type t, const uint8_t *v, size_t len);

/**
 * @brief Render an option value as text, by the type of its code when the bytes fit it, else
 * as hex: "198.18.0.1", "198.18.0.1, 198.18.0.2", "lab.test" (printed as is; a caller that
 * needs quoting quotes), "true", "1500", "-3600", "01:02:03" ("" for no bytes).
 *
 * @param code  option code: selects the type (dhcp4_opts_by_code()).
 * @param v     value bytes (wire form, no code or length byte); may be NULL when @p len is 0.
 * @param len   value length.
 * @param buf   output, always NUL-terminated when @p size > 0; truncated like snprintf.
 * @param size  size of @p buf.
 * @return the length the full text needs (as snprintf), so a result >= @p size means it was
 *         truncated.
 *
 * Example (leasewirectl): for each option of a lease or a scope,
 *     const struct dhcp4_opt_def *d = dhcp4_opts_by_code(code);
 *     dhcp4_opts_format(code, v, len, text, sizeof(text));
 *     printf("%s (%u): %s\n", d ? d->name : "option", code, text);
 */
size_t dhcp4_opts_format(uint8_t code, const uint8_t *v, size_t len, char *buf, size_t size);

/** @brief As dhcp4_opts_format() with an explicit type; DHCP4_OT_NONE renders hex. */
size_t dhcp4_opts_format_as(enum dhcp4_opt_type t, const uint8_t *v, size_t len, char *buf,
			    size_t size);
