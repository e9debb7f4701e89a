/*
 * config: the JSON configuration file, parsed and validated into a struct dp_config snapshot.
 *
 * The file format (kebab-case keys, dotted addresses, "first - last" ranges) is described in
 * README.md and shown in full in etc/leasewire.json. Validation is strict: unknown keys,
 * duplicate keys, out-of-range numbers, overlapping ranges or subnets and options the server
 * writes itself are all refused, with exactly one message that names the JSON path and the
 * reason, e.g.
 *
 *     scopes[1].pools[0]: range 198.18.1.250-198.18.1.10 is reversed
 *     server.workers: must be an integer 1..64, got "two"
 *     line 7 column 3: JSON syntax error: ...
 *
 * Everything here runs on the control thread; nothing is shared or cached between calls.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dp_config.h"
#include "lw_attr.h"

/**
 * @brief Read and validate the configuration file at @p path.
 *
 * @param path   file to read.
 * @param err    receives one NUL-terminated message when the result is NULL; may be NULL
 *               only if @p errlen is 0.
 * @param errlen size of @p err.
 * @return a new snapshot owned by the caller (release with dp_config_free()), or NULL when
 *         the file cannot be read or is not a valid configuration (reason in @p err).
 * @note Control thread.
 */
_mustcheck_
struct dp_config *cp_config_load(const char *path, char *err, size_t errlen);

/**
 * @brief Parse and validate a configuration held in memory.
 *
 * @param json_text NUL-terminated JSON document.
 * @param err       receives one message "<json path>: <reason>" (or "line L column C: JSON
 *                  syntax error: ...") when the result is NULL.
 * @param errlen    size of @p err.
 * @return a new snapshot owned by the caller (release with dp_config_free()), or NULL.
 * @note Control thread. Does not touch the file system.
 */
_mustcheck_
struct dp_config *cp_config_parse(const char *json_text, char *err, size_t errlen);

/** What cp_config_to_json_masked() shows in place of a secret (relationships[].shared-secret). */
#define CP_CONFIG_SECRET_MASK "********"

/**
 * @brief cp_config_parse() for a document that replaces a running configuration.
 *
 * The same as cp_config_parse(), except that a secret given as CP_CONFIG_SECRET_MASK (what
 * cp_config_to_json_masked() shows) keeps the secret of the same object in @p running (for
 * a relationship: the running relationship of the same name), so that a configuration read
 * with config-get can be edited and sent back without the secret ever leaving the daemon.
 * A mask with no such running object is refused with its path. cp_config_parse() and
 * cp_config_load() refuse the mask as a value.
 *
 * @param json_text NUL-terminated JSON document.
 * @param running   the running snapshot (not modified, not kept); may be NULL, which is
 *                  cp_config_parse().
 * @param err       receives one message when the result is NULL.
 * @param errlen    size of @p err.
 * @return a new snapshot owned by the caller (release with dp_config_free()), or NULL.
 * @note Control thread.
 */
_mustcheck_
struct dp_config *cp_config_parse_replacing(const char *json_text,
					    const struct dp_config *running, char *err,
					    size_t errlen);

/**
 * @brief The inverse of cp_config_parse(): describe a snapshot as a JSON document.
 *
 * Every field is written out, defaults included, so that parsing the dump gives an equal
 * snapshot. Options whose code has a name in the schema (routers, domain-name, ...) are
 * written by that name; any other option is written as a "custom" entry, typed by its RFC
 * 2132 definition when the code is known and the bytes fit it, else as type "hex".
 *
 * @param c snapshot to describe (not modified).
 * @return a new JSON object (release with json_decref()), or NULL on allocation failure or
 *         if @p c holds something the file format cannot express (a hardware-address
 *         reservation key that is not Ethernet).
 * @note Any thread that holds a reference to @p c.
 */
_mustcheck_
json_t *cp_config_to_json(const struct dp_config *c);

/**
 * @brief cp_config_to_json() for an answer: every non-empty secret (the schema rows flagged
 * as such: relationships[].shared-secret) written as CP_CONFIG_SECRET_MASK.
 *
 * This is what the control socket shows (config-get); what is written to a file or to the
 * store is cp_config_to_json(), which keeps the secrets. Parsing the result with
 * cp_config_parse_replacing() against @p c gives an equal snapshot.
 *
 * @param c snapshot to describe (not modified).
 * @return a new JSON object (release with json_decref()), or NULL as cp_config_to_json().
 * @note Any thread that holds a reference to @p c.
 */
_mustcheck_
json_t *cp_config_to_json_masked(const struct dp_config *c);

/**
 * @brief The built-in lab configuration as JSON text (the README quickstart): one worker,
 * port "lab0" on net_af_packet0,iface=lw-srv0 with 198.18.0.1/24, scope "lab"
 * (198.18.0.0/24) and scope "relayed" (198.19.0.0/16, reached through relay 198.18.0.2).
 *
 * @return a static string; never NULL.
 */
const char *cp_config_default_json(void);

/**
 * Parse hex bytes as the configuration writes them: "01:02:03" (exactly two digits per
 * byte) or "010203". Also used for the control socket's hw-address and client-id arguments.
 * @return the byte count, -1 when malformed, -2 when longer than @p max.
 */
long cp_hex_parse(const char *s, uint8_t *out, size_t max);
