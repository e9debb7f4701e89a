/*
 * config_impl.h: what config.c (entry points, lists and the rules across objects) and
 * config_schema.c (the key tables, the engine that reads them, value parsers, docs) share.
 * Private to controlplane/config*.c; everything runs on the caller's thread (the control
 * thread), with no state outside struct pctx.
 *
 * The schema: every JSON object of the file (the root, "server", a port, an interface, a
 * scope, a reservation, a relationship) is a struct cs_object, a table of struct cs_item rows
 * in file order. A row names its key, its type, where its value lives in the C struct
 * (offsetof/sizeof), bounds, default, an optional check hook and a one-line description. The
 * same rows drive:
 *   - parsing (cs_parse_object): unknown keys with a suggestion, missing required keys,
 *     type and bounds errors naming the JSON path, defaults, then the row's check hook;
 *   - writing back (cs_write_object): every row in table order, so config-get keeps its shape;
 *   - the documentation (cp_config_doc): the tables in README.md and leasewired(8).
 * Lists whose entries relate to each other (ports and their interfaces, scopes, pools,
 * reservations, relationships) are CS_CUSTOM rows whose hooks live in config.c with the rules.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "dp_config.h"
#include "fmt.h"
#include "lw_attr.h"

#define PATH_LEN	192		/* longest JSON path we print */
#define GOT_LEN		56		/* longest echo of an offending value */

/* Parser state: the error sink plus what cross-object rules need. */
struct pctx {
	char *err;
	size_t errlen;
	bool failed;
	struct dp_config *c;			/* the snapshot being built */
	int32_t iface_owner[DP_MAX_IFACES];	/* scope bound to each interface, or -1 */
	uint16_t *where;			/* interface i: ports[p].interfaces[where[i]] */
	int *owner;				/* relationship of each scope, or -1 */
	struct dp_scope *scope;			/* the scope whose reservations are parsed */
	const struct dp_config *running;	/* resolves CP_CONFIG_SECRET_MASK, or NULL */
};

/* --- messages and paths ---------------------------------------------------------------- */

/* Write "<path>: <reason>" once (the first problem wins); returns -EINVAL. */
int cs_fail(struct pctx *p, const char *path, const char *fmt, ...)
	_printf_(3, 4);
int cs_oom(struct pctx *p, const char *path);

/* A short printable echo of a JSON value. */
struct cs_got {
	char s[GOT_LEN];
};
struct cs_got cs_describe(const json_t *v);
/* "<what>, got <value>". */
int cs_fail_got(struct pctx *p, const char *path, const char *what, const json_t *v);

/* "a" for a single address, "a-b" otherwise. */
struct cs_rangestr {
	char s[40];
};
struct cs_rangestr cs_rangefmt(const struct dp_range *r);

const char *cs_path_key(char *buf, const char *parent, const char *key);
const char *cs_path_idx(char *buf, const char *parent, size_t i);

/* --- values ----------------------------------------------------------------------------- */

int cs_need_object(struct pctx *p, const char *path, const json_t *v);
int cs_ipv4_value(struct pctx *p, const char *path, const json_t *v, uint32_t *out);
int cs_range_value(struct pctx *p, const char *path, json_t *v, bool single_ok,
		   struct dp_range *r);
int cs_options_parse(struct pctx *p, const char *path, json_t *obj, struct dp_optlist *out);
json_t *cs_options_json(const struct dp_optlist *l, bool *ok);
json_t *cs_ip_json(uint32_t a);
json_t *cs_range_json(const struct dp_range *r, bool single_ok);
json_t *cs_hex_json(const uint8_t *d, size_t n);
void cs_key_fmt(char *buf, size_t size, const struct dp_client_key *k);

/* --- the schema ------------------------------------------------------------------------- */

enum cs_type {
	CS_INT,		/* integer min..max into an unsigned member of .size 1, 2 or 4 */
	CS_BOOL,	/* true or false into a bool */
	CS_STR,		/* string of .min..(.size - 1) bytes into a char array */
	CS_NAME,	/* CS_STR, 1.. bytes of letters, digits, '.', '-' and '_' */
	CS_ENUM,	/* one of .enums, its value into a member of .size 1 or 4 */
	CS_IPV4,	/* dotted quad into a uint32_t, host order */
	CS_PREFIX,	/* "a.b.c.d/len" (len 1..30): address at .off, uint8_t length at .off2 */
	CS_OBJECT,	/* a nested object (.sub) whose rows address the same struct */
	CS_CUSTOM,	/* .parse and .write do everything */
};

/* Row flags. */
#define CS_REQUIRED	0x01	/* "\"key\" is missing" when absent */
#define CS_OMIT_EMPTY	0x02	/* not written back while 0 or "" */
/*
 * A credential (CS_STR): cp_config_to_json_masked() writes CP_CONFIG_SECRET_MASK in place of
 * a non-empty value, and the parser reads that mask back as "keep the running value", taken
 * from the object the cs_object's .running hook names; without a running configuration (a
 * file, the store) the mask is refused, so a masked answer saved as a file cannot silently
 * become the secret.
 */
#define CS_SECRET	0x04

struct cs_enum {
	const char *name;
	int value;
};

struct cs_item;

/* Hooks. @path is the JSON path of the object (parse, post) or of the value (check). */
typedef int (*cs_parse_fn)(struct pctx *p, const char *path, json_t *v, void *obj);
typedef int (*cs_check_fn)(struct pctx *p, const char *path, const json_t *v, void *obj);
typedef int (*cs_post_fn)(struct pctx *p, const char *path, const json_t *json, void *obj);
typedef json_t *(*cs_write_fn)(const struct dp_config *c, const void *obj, bool *ok);
typedef bool (*cs_when_fn)(const void *obj);
/* The object of p->running that @obj stands for (matched by its rows parsed so far), or NULL. */
typedef const void *(*cs_running_fn)(const struct pctx *p, const void *obj);

struct cs_item {
	const char *key;
	uint8_t type;			/* enum cs_type */
	uint8_t flags;			/* CS_* */
	uint16_t off, size, off2;	/* where the value lives in the object's struct */
	int64_t min, max;		/* CS_INT bounds; CS_STR: .min is the shortest length */
	int64_t def;			/* CS_INT, CS_BOOL, CS_ENUM: value when absent */
	const char *def_str;		/* CS_STR: value when absent ("" if NULL) */
	const struct cs_enum *enums;	/* CS_ENUM, terminated by a NULL name */
	const struct cs_object *sub;	/* CS_OBJECT; for a CS_CUSTOM list, its entries (docs) */
	cs_parse_fn parse;		/* CS_CUSTOM: @v is NULL when the key is absent */
	cs_write_fn write;		/* CS_CUSTOM: NULL = leave the key out */
	cs_check_fn check;		/* after the value is stored (not called when absent) */
	cs_when_fn when;		/* written back only when this says so */
	const char *missing;		/* words after "\"key\" is missing" */
	const char *doc;		/* one line: what it means */
	const char *doc_type;		/* docs: the value's form, when the type does not say */
	const char *doc_default;	/* docs: the default, when it is not a plain value */
};

struct cs_object {
	const char *doc_prefix;		/* docs: the path of its keys ("scopes[].") */
	const struct cs_item *items;	/* terminated by a NULL key */
	size_t n_items;
	cs_post_fn pre;			/* before the rows (after the unknown-key check) */
	cs_post_fn post;		/* after all rows: rules between members */
	cs_running_fn running;		/* CS_SECRET rows: where the kept value comes from */
};

extern const struct cs_object cs_root, cs_port, cs_iface, cs_scope, cs_reservation,
	cs_relationship, cs_mgmt, cs_mgmt_partner, cs_policy, cs_server_policy, cs_condition;

/* Parse @v (must be an object) into @obj by @o: unknown keys, each row, then @o->post. */
int cs_parse_object(struct pctx *p, const char *path, json_t *v, const struct cs_object *o,
		    void *obj);
/* @obj as a JSON object by @o, rows in table order; clears *ok on failure. */
json_t *cs_write_object(const struct dp_config *c, const struct cs_object *o, const void *obj,
			bool *ok);
/*
 * Replace every non-empty CS_SECRET value of @j (written by cs_write_object() from @o) with
 * CP_CONFIG_SECRET_MASK, nested objects and CS_CUSTOM lists with a .sub included.
 * @return false on allocation failure (@j is then partly masked: do not hand it out).
 */
bool cs_mask_secrets(json_t *j, const struct cs_object *o);

/* --- hooks in config.c: lists and the rules across their entries ------------------------- */

int cp_ports_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_ports_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_ifaces_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_ifaces_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_iface_post(struct pctx *p, const char *path, const json_t *json, void *obj);
int cp_port_name_check(struct pctx *p, const char *path, const json_t *v, void *obj);
int cp_scopes_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_scopes_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_pools_parse(struct pctx *p, const char *path, json_t *v, void *obj);
int cp_exclusions_parse(struct pctx *p, const char *path, json_t *v, void *obj);
int cp_reservations_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_reservations_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_reservation_addr_check(struct pctx *p, const char *path, const json_t *v, void *obj);
int cp_relays_parse(struct pctx *p, const char *path, json_t *v, void *obj);
int cp_scope_iface_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_scope_iface_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_mgmt_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_mgmt_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_mgmt_partners_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_mgmt_partners_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_relationships_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_relationships_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_rel_name_check(struct pctx *p, const char *path, const json_t *v, void *obj);
int cp_rel_scopes_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_rel_scopes_json(const struct dp_config *c, const void *obj, bool *ok);

/* --- hooks in config_policy.c: policies, their conditions, the MAC filter ------------------ */

int cp_scope_policies_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_scope_policies_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_server_policies_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_server_policies_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_conditions_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_conditions_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_cond_values_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_cond_values_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_policy_ranges_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_policy_ranges_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_policy_opts_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_policy_opts_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_server_opts_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_server_opts_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_mac_allow_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_mac_allow_json(const struct dp_config *c, const void *obj, bool *ok);
int cp_mac_deny_parse(struct pctx *p, const char *path, json_t *v, void *obj);
json_t *cp_mac_deny_json(const struct dp_config *c, const void *obj, bool *ok);

/* --- docs --------------------------------------------------------------------------------- */

enum cp_doc_format {
	CP_DOC_MARKDOWN,	/* a GitHub table: key | value | default | meaning */
	CP_DOC_MAN,		/* .TP paragraphs for leasewired(8) */
};

/*
 * Print the documentation rows of the top-level keys listed in @sections (space-separated,
 * e.g. "server ports scopes") to @out, in table order, nested objects and list entries
 * included. @return 0, or -1 if a section names no top-level key.
 */
int cp_config_doc(FILE *out, enum cp_doc_format fmt, const char *sections);
