/*
 * ctl_proto: the control socket's commands, described once (doc/control-protocol.md).
 *
 * One row per protocol command: its name, the arguments it takes (key, JSON type, required or
 * not) and a one-line help text. leasewired checks every request against its row before the
 * command's handler runs (controlplane/ctl_cmds.c), leasewirectl builds its requests with the
 * key constants below and prints the help lines (client/), and the man page is checked
 * against the rows by a test. Adding a command is adding a row here and a handler there.
 *
 * Pure C and jansson; no state. The table is constant: any thread may read it at any time.
 * What a value means (an address, a MAC, a scope that exists) is the handler's to check; the
 * table only knows the JSON shape.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Argument keys: the one spelling of each, for the server's handlers and the client. */
#define CTL_KEY_IP_ADDRESS	"ip-address"
#define CTL_KEY_HW_ADDRESS	"hw-address"
#define CTL_KEY_CLIENT_ID	"client-id"
#define CTL_KEY_VALID_LFT	"valid-lft"
#define CTL_KEY_STATE		"state"
#define CTL_KEY_FORCE_CREATE	"force-create"
#define CTL_KEY_FROM		"from"
#define CTL_KEY_LIMIT		"limit"
#define CTL_KEY_SCOPES		"scopes"
#define CTL_KEY_SCOPE		"scope"
#define CTL_KEY_NAME		"name"
#define CTL_KEY_FORCE		"force"
#define CTL_KEY_RESERVATION	"reservation"
#define CTL_KEY_RANGE		"range"
#define CTL_KEY_FILENAME	"filename"
#define CTL_KEY_EXIT_VALUE	"exit-value"
#define CTL_KEY_SERVER		"server"
#define CTL_KEY_RELATIONSHIP	"relationship"
#define CTL_KEY_POLICY		"policy"
#define CTL_KEY_HOSTNAME	"hostname"
#define CTL_KEY_PROCESSING_ORDER	"processing-order"
#define CTL_KEY_LIST		"list"
#define CTL_KEY_PATTERN		"pattern"
#define CTL_KEY_SETTINGS	"settings"

/** The protocol commands, in name order (list-commands answers in this order). */
enum ctl_cmd_id {
	CTL_CMD_CONFIG_GET,
	CTL_CMD_CONFIG_RELOAD,
	CTL_CMD_CONFIG_SET,
	CTL_CMD_CONFIG_TEST,
	CTL_CMD_CONFIG_WRITE,
	CTL_CMD_EXCLUSION_ADD,
	CTL_CMD_EXCLUSION_DEL,
	CTL_CMD_FAILOVER_ADD,
	CTL_CMD_FAILOVER_GET,
	CTL_CMD_FAILOVER_PARTNER_DOWN,
	CTL_CMD_FAILOVER_RECOVER,
	CTL_CMD_FAILOVER_REMOVE,
	CTL_CMD_FAILOVER_REPLICATE,
	CTL_CMD_FAILOVER_RESYNC,
	CTL_CMD_FAILOVER_SCOPE_ADD,
	CTL_CMD_FAILOVER_SCOPE_REMOVE,
	CTL_CMD_FAILOVER_SET,
	CTL_CMD_FAILOVER_SHUTDOWN,
	CTL_CMD_FAILOVER_STATUS,
	CTL_CMD_FAILOVER_SYNC_STATUS,
	CTL_CMD_LEASE4_ADD,
	CTL_CMD_LEASE4_DEL,
	CTL_CMD_LEASE4_GET,
	CTL_CMD_LEASE4_GET_ALL,
	CTL_CMD_LEASE4_GET_PAGE,
	CTL_CMD_LEASE4_UPDATE,
	CTL_CMD_LEASE4_WIPE,
	CTL_CMD_LIST_COMMANDS,
	CTL_CMD_MAC_FILTER_ADD,
	CTL_CMD_MAC_FILTER_DEL,
	CTL_CMD_MAC_FILTER_GET,
	CTL_CMD_POLICY_ADD,
	CTL_CMD_POLICY_DEL,
	CTL_CMD_POLICY_GET,
	CTL_CMD_POLICY_LIST,
	CTL_CMD_POLICY_REORDER,
	CTL_CMD_POLICY_UPDATE,
	CTL_CMD_RESERVATION_ADD,
	CTL_CMD_RESERVATION_DEL,
	CTL_CMD_RESERVATION_LIST,
	CTL_CMD_SCOPE_ACTIVATE,
	CTL_CMD_SCOPE_ADD,
	CTL_CMD_SCOPE_DEACTIVATE,
	CTL_CMD_SCOPE_DEL,
	CTL_CMD_SCOPE_GET,
	CTL_CMD_SCOPE_LIST,
	CTL_CMD_SCOPE_UPDATE,
	CTL_CMD_SHUTDOWN,
	CTL_CMD_STATISTIC_GET,
	CTL_CMD_STATISTIC_GET_ALL,
	CTL_CMD_STATISTIC_RESET,
	CTL_CMD_STATUS_GET,
	CTL_CMD_SUPERSCOPE_ADD,
	CTL_CMD_SUPERSCOPE_DEL,
	CTL_CMD_SUPERSCOPE_GET,
	CTL_CMD_VERSION_GET,
	CTL_CMD__COUNT
};

/** The JSON type an argument must have. */
enum ctl_arg_type {
	CTL_ARG_STRING,
	CTL_ARG_INTEGER,
	CTL_ARG_BOOL,
	CTL_ARG_OBJECT,
	CTL_ARG_STRINGS,	/**< a list of strings */
};

/** One argument of a command. */
struct ctl_proto_arg {
	const char *key;	/**< CTL_KEY_*; NULL ends a command's list */
	enum ctl_arg_type type;
	bool required;
};

/* struct ctl_proto_cmd.flags */
/** "arguments" is a whole document (a configuration): any keys, checked by the handler. */
#define CTL_PROTO_DOCUMENT	(1u << 0)

/** One protocol command. */
struct ctl_proto_cmd {
	const char *name;			/**< "lease4-add" */
	const char *help;			/**< one line, lower case, no final period */
	const struct ctl_proto_arg *args;	/**< ends with a NULL key; NULL = none */
	unsigned int flags;			/**< CTL_PROTO_* */
};

/** The table, indexed by enum ctl_cmd_id; every row is filled (test_ctl_proto checks it). */
extern const struct ctl_proto_cmd ctl_proto_cmds[CTL_CMD__COUNT];

/**
 * @brief The row of the command named @p name.
 * @param name a protocol command name; NULL gives NULL.
 * @return a row of ctl_proto_cmds (static, never freed), or NULL for an unknown command.
 * @note Any thread.
 */
const struct ctl_proto_cmd *ctl_proto_find(const char *name);

/**
 * @brief The enum ctl_cmd_id of a row of ctl_proto_cmds.
 * @param cmd a pointer into ctl_proto_cmds (from ctl_proto_find() or &ctl_proto_cmds[i]).
 */
enum ctl_cmd_id ctl_proto_id(const struct ctl_proto_cmd *cmd);

/**
 * @brief The row of argument @p key of @p cmd, or NULL when the command does not take it.
 * @note Any thread. The row is static.
 */
const struct ctl_proto_arg *ctl_proto_arg(const struct ctl_proto_cmd *cmd, const char *key);

/**
 * @brief Check a request's "arguments" against its command's row.
 *
 * In this order: the arguments (when present) must be an object; every key must be one the
 * command takes (in the object's order; skipped for CTL_PROTO_DOCUMENT commands); then, in
 * the row's order, every present argument must have its type and every required one must
 * be present. The first failure is reported, naming the argument:
 *   `arguments: must be an object`, `arguments: unknown key "ip"`,
 *   `arguments.limit: must be an integer`, `arguments.force: must be true or false`,
 *   `arguments.scopes[1]: must be a string`, `arguments.name: required`.
 *
 * @param cmd  the command's row.
 * @param args the request's "arguments" member, or NULL when it has none. Not modified.
 * @param msg  receives the message on failure (NUL-terminated, truncated to @p len).
 * @param len  size of @p msg.
 * @return 0 when the arguments fit the row, -EINVAL otherwise.
 * @note Any thread.
 */
__attribute__((warn_unused_result))
int ctl_proto_check(const struct ctl_proto_cmd *cmd, json_t *args, char *msg, size_t len);
