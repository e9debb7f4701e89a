/*
 * ctl_proto: the command table and the argument check (the contract is in ctl_proto.h).
 *
 * The help lines are also what `leasewirectl --help` prints for the command that sends the
 * request, which is why some of them name the client's words (FILE, RANGE, --force).
 */
#include "ctl_proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARGS(...)	((const struct ctl_proto_arg[]){ __VA_ARGS__, { NULL, 0, false } })
#define REQ(k, t)	{ (k), CTL_ARG_##t, true }
#define OPT(k, t)	{ (k), CTL_ARG_##t, false }

/* The three ways to name a lease or a reservation's client; the handler wants one of them. */
#define LEASE_KEY	OPT(CTL_KEY_IP_ADDRESS, STRING), OPT(CTL_KEY_HW_ADDRESS, STRING), \
			OPT(CTL_KEY_CLIENT_ID, STRING)
#define LEASE_SET	REQ(CTL_KEY_IP_ADDRESS, STRING), OPT(CTL_KEY_HW_ADDRESS, STRING), \
			OPT(CTL_KEY_CLIENT_ID, STRING), OPT(CTL_KEY_VALID_LFT, INTEGER), \
			OPT(CTL_KEY_STATE, STRING)

const struct ctl_proto_cmd ctl_proto_cmds[CTL_CMD__COUNT] = {
	[CTL_CMD_CONFIG_GET] = {
		"config-get", "print the running configuration", NULL, 0,
	},
	[CTL_CMD_CONFIG_RELOAD] = {
		"config-reload", "re-read leasewired's configuration file", NULL, 0,
	},
	[CTL_CMD_CONFIG_SET] = {
		"config-set", "check and apply a configuration", NULL, CTL_PROTO_DOCUMENT,
	},
	[CTL_CMD_CONFIG_TEST] = {
		"config-test", "check a configuration; change nothing", NULL, CTL_PROTO_DOCUMENT,
	},
	[CTL_CMD_CONFIG_WRITE] = {
		"config-write", "save the running configuration",
		ARGS(OPT(CTL_KEY_FILENAME, STRING)), 0,
	},
	[CTL_CMD_EXCLUSION_ADD] = {
		"exclusion-add", "never hand out the addresses of RANGE",
		ARGS(REQ(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_RANGE, STRING)), 0,
	},
	[CTL_CMD_EXCLUSION_DEL] = {
		"exclusion-del", "remove an exclusion",
		ARGS(REQ(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_RANGE, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_ADD] = {
		"failover-add", "create a failover relationship (and on a leasewire partner)",
		ARGS(REQ(CTL_KEY_RELATIONSHIP, OBJECT)), 0,
	},
	[CTL_CMD_FAILOVER_GET] = {
		"failover-get", "a relationship's settings and states, as Get-DhcpServerv4Failover",
		ARGS(OPT(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_PARTNER_DOWN] = {
		"failover-partner-down", "the partner is down: serve all clients",
		ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_RECOVER] = {
		"failover-recover", "leave shutdown or paused, then resync",
		ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_REMOVE] = {
		"failover-remove", "delete a relationship; its scopes stay here, unshared",
		ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_REPLICATE] = {
		"failover-replicate", "overwrite the partner's scope settings with this server's",
		ARGS(OPT(CTL_KEY_SERVER, BOOL), OPT(CTL_KEY_RELATIONSHIP, STRING),
		     OPT(CTL_KEY_SCOPE, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_RESYNC] = {
		"failover-resync", "send every binding to the partner again",
		ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_SCOPE_ADD] = {
		"failover-scope-add", "share more scopes in a relationship",
		ARGS(REQ(CTL_KEY_NAME, STRING), REQ(CTL_KEY_SCOPES, STRINGS)), 0,
	},
	[CTL_CMD_FAILOVER_SCOPE_REMOVE] = {
		"failover-scope-remove", "stop sharing scopes; they stay here, unshared",
		ARGS(REQ(CTL_KEY_NAME, STRING), REQ(CTL_KEY_SCOPES, STRINGS)), 0,
	},
	[CTL_CMD_FAILOVER_SET] = {
		"failover-set", "change a relationship's settings",
		ARGS(REQ(CTL_KEY_NAME, STRING), REQ(CTL_KEY_SETTINGS, OBJECT)), 0,
	},
	[CTL_CMD_FAILOVER_SHUTDOWN] = {
		"failover-shutdown", "stop serving; let the partner take over",
		ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_STATUS] = {
		"failover-status", "states, link, queues and message counts",
		ARGS(OPT(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_FAILOVER_SYNC_STATUS] = {
		"failover-sync-status", "each failover scope's configuration sync with the partner",
		NULL, 0,
	},
	[CTL_CMD_LEASE4_ADD] = {
		"lease4-add", "create a lease", ARGS(LEASE_SET), 0,
	},
	[CTL_CMD_LEASE4_DEL] = {
		"lease4-del", "delete one lease", ARGS(LEASE_KEY), 0,
	},
	[CTL_CMD_LEASE4_GET] = {
		"lease4-get", "one lease, by address or client", ARGS(LEASE_KEY), 0,
	},
	[CTL_CMD_LEASE4_GET_ALL] = {
		"lease4-get-all", "every lease (of some scopes), in one answer",
		ARGS(OPT(CTL_KEY_SCOPES, STRINGS), OPT(CTL_KEY_HOSTNAME, STRING),
		     OPT(CTL_KEY_POLICY, STRING)), 0,
	},
	[CTL_CMD_LEASE4_GET_PAGE] = {
		"lease4-get-page", "every lease (of some scopes), by address",
		ARGS(REQ(CTL_KEY_FROM, STRING), REQ(CTL_KEY_LIMIT, INTEGER),
		     OPT(CTL_KEY_SCOPES, STRINGS), OPT(CTL_KEY_HOSTNAME, STRING),
		     OPT(CTL_KEY_POLICY, STRING)), 0,
	},
	[CTL_CMD_LEASE4_UPDATE] = {
		"lease4-update", "change a lease (or create it, if forced)",
		ARGS(LEASE_SET, OPT(CTL_KEY_FORCE_CREATE, BOOL)), 0,
	},
	[CTL_CMD_LEASE4_WIPE] = {
		"lease4-wipe", "delete every lease (of one scope)",
		ARGS(OPT(CTL_KEY_SCOPE, STRING)), 0,
	},
	[CTL_CMD_LIST_COMMANDS] = {
		"list-commands", "the protocol commands the server knows", NULL, 0,
	},
	[CTL_CMD_MAC_FILTER_ADD] = {
		"mac-filter-add", "add PATTERN to the allow or deny list",
		ARGS(REQ(CTL_KEY_LIST, STRING), REQ(CTL_KEY_PATTERN, STRING)), 0,
	},
	[CTL_CMD_MAC_FILTER_DEL] = {
		"mac-filter-del", "remove PATTERN from the allow or deny list",
		ARGS(REQ(CTL_KEY_LIST, STRING), REQ(CTL_KEY_PATTERN, STRING)), 0,
	},
	[CTL_CMD_MAC_FILTER_GET] = {
		"mac-filter-get", "the MAC filter's allow and deny lists", NULL, 0,
	},
	[CTL_CMD_POLICY_ADD] = {
		"policy-add", "add the policy held in FILE (to a scope, else the server)",
		ARGS(OPT(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_POLICY, OBJECT)), 0,
	},
	[CTL_CMD_POLICY_DEL] = {
		"policy-del", "delete a policy",
		ARGS(OPT(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_POLICY_GET] = {
		"policy-get", "one policy, as in the configuration file",
		ARGS(OPT(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_POLICY_LIST] = {
		"policy-list", "the policies of a scope, else the server's, in processing order",
		ARGS(OPT(CTL_KEY_SCOPE, STRING)), 0,
	},
	[CTL_CMD_POLICY_REORDER] = {
		"policy-reorder", "move a policy to processing order ORDER; the others follow",
		ARGS(OPT(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_NAME, STRING),
		     REQ(CTL_KEY_PROCESSING_ORDER, INTEGER)), 0,
	},
	[CTL_CMD_POLICY_UPDATE] = {
		"policy-update", "replace policy NAME by the one in FILE",
		ARGS(OPT(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_NAME, STRING),
		     REQ(CTL_KEY_POLICY, OBJECT)), 0,
	},
	[CTL_CMD_RESERVATION_ADD] = {
		"reservation-add", "add the reservation held in FILE",
		ARGS(REQ(CTL_KEY_SCOPE, STRING), REQ(CTL_KEY_RESERVATION, OBJECT)), 0,
	},
	[CTL_CMD_RESERVATION_DEL] = {
		"reservation-del", "delete a reservation",
		ARGS(REQ(CTL_KEY_SCOPE, STRING), LEASE_KEY), 0,
	},
	[CTL_CMD_RESERVATION_LIST] = {
		"reservation-list", "the reservations of a scope",
		ARGS(REQ(CTL_KEY_SCOPE, STRING)), 0,
	},
	[CTL_CMD_SCOPE_ACTIVATE] = {
		"scope-activate", "serve a scope again", ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_SCOPE_ADD] = {
		"scope-add", "add the scope held in FILE", ARGS(REQ(CTL_KEY_SCOPE, OBJECT)), 0,
	},
	[CTL_CMD_SCOPE_DEACTIVATE] = {
		"scope-deactivate", "stop serving a scope; keep its leases",
		ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_SCOPE_DEL] = {
		"scope-del", "delete a scope (--force: even if in use)",
		ARGS(REQ(CTL_KEY_NAME, STRING), OPT(CTL_KEY_FORCE, BOOL)), 0,
	},
	[CTL_CMD_SCOPE_GET] = {
		"scope-get", "one scope, as in the configuration file",
		ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_SCOPE_LIST] = {
		"scope-list", "scopes and their address counts", NULL, 0,
	},
	[CTL_CMD_SCOPE_UPDATE] = {
		"scope-update", "replace scope NAME by the one in FILE",
		ARGS(REQ(CTL_KEY_NAME, STRING), REQ(CTL_KEY_SCOPE, OBJECT)), 0,
	},
	[CTL_CMD_SHUTDOWN] = {
		"shutdown", "stop leasewired", ARGS(OPT(CTL_KEY_EXIT_VALUE, INTEGER)), 0,
	},
	[CTL_CMD_STATISTIC_GET] = {
		"statistic-get", "one counter", ARGS(REQ(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_STATISTIC_GET_ALL] = {
		"statistic-get-all", "counters, as a table or for Prometheus", NULL, 0,
	},
	[CTL_CMD_STATISTIC_RESET] = {
		"statistic-reset", "restart the counters from zero",
		ARGS(OPT(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_STATUS_GET] = {
		"status-get", "pid, uptime, workers, ports, counts", NULL, 0,
	},
	[CTL_CMD_SUPERSCOPE_ADD] = {
		"superscope-add", "put scopes in superscope NAME (made if new), as "
		"Add-DhcpServerv4Superscope",
		ARGS(REQ(CTL_KEY_NAME, STRING), REQ(CTL_KEY_SCOPES, STRINGS)), 0,
	},
	[CTL_CMD_SUPERSCOPE_DEL] = {
		"superscope-del", "take scopes out of a superscope, else delete it; its scopes stay",
		ARGS(REQ(CTL_KEY_NAME, STRING), OPT(CTL_KEY_SCOPES, STRINGS)), 0,
	},
	[CTL_CMD_SUPERSCOPE_GET] = {
		"superscope-get", "one superscope, else every one, and their member scopes",
		ARGS(OPT(CTL_KEY_NAME, STRING)), 0,
	},
	[CTL_CMD_VERSION_GET] = {
		"version-get", "versions of leasewired and its libraries", NULL, 0,
	},
};

const struct ctl_proto_cmd *ctl_proto_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < CTL_CMD__COUNT; i++) {
		if (strcmp(ctl_proto_cmds[i].name, name) == 0) {
			return &ctl_proto_cmds[i];
		}
	}
	return NULL;
}

enum ctl_cmd_id ctl_proto_id(const struct ctl_proto_cmd *cmd)
{
	return (enum ctl_cmd_id)(cmd - ctl_proto_cmds);
}

const struct ctl_proto_arg *ctl_proto_arg(const struct ctl_proto_cmd *cmd, const char *key)
{
	for (const struct ctl_proto_arg *a = cmd->args; a != NULL && a->key != NULL; a++) {
		if (strcmp(a->key, key) == 0) {
			return a;
		}
	}
	return NULL;
}

static const char *type_text(enum ctl_arg_type t)
{
	switch (t) {
	case CTL_ARG_STRING:
		return "must be a string";
	case CTL_ARG_INTEGER:
		return "must be an integer";
	case CTL_ARG_BOOL:
		return "must be true or false";
	case CTL_ARG_OBJECT:
		return "must be an object";
	case CTL_ARG_STRINGS:
	default:
		return "must be a list of strings";
	}
}

/* Whether @v has type @t; for a list, *bad is the index of its first non-string. */
static bool type_ok(json_t *v, enum ctl_arg_type t, size_t *bad)
{
	size_t i;
	json_t *e;

	switch (t) {
	case CTL_ARG_STRING:
		return json_is_string(v);
	case CTL_ARG_INTEGER:
		return json_is_integer(v);
	case CTL_ARG_BOOL:
		return json_is_boolean(v);
	case CTL_ARG_OBJECT:
		return json_is_object(v);
	case CTL_ARG_STRINGS:
		if (!json_is_array(v)) {
			return false;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				*bad = i;
				return false;
			}
		}
		return true;
	}
	return false;
}

int ctl_proto_check(const struct ctl_proto_cmd *cmd, json_t *args, char *msg, size_t len)
{
	const char *key;
	json_t *v;

	if (args != NULL && !json_is_object(args)) {
		snprintf(msg, len, "arguments: must be an object");
		return -EINVAL;
	}
	if (!(cmd->flags & CTL_PROTO_DOCUMENT)) {
		json_object_foreach(args, key, v) {
			if (ctl_proto_arg(cmd, key) == NULL) {
				snprintf(msg, len, "arguments: unknown key \"%s\"", key);
				return -EINVAL;
			}
		}
	}
	for (const struct ctl_proto_arg *a = cmd->args; a != NULL && a->key != NULL; a++) {
		size_t bad = SIZE_MAX;

		v = args != NULL ? json_object_get(args, a->key) : NULL;
		if (v == NULL) {
			if (a->required) {
				snprintf(msg, len, "arguments.%s: required", a->key);
				return -EINVAL;
			}
			continue;
		}
		if (!type_ok(v, a->type, &bad)) {
			if (bad != SIZE_MAX) {
				snprintf(msg, len, "arguments.%s[%zu]: must be a string", a->key,
					 bad);
			} else {
				snprintf(msg, len, "arguments.%s: %s", a->key, type_text(a->type));
			}
			return -EINVAL;
		}
	}
	return 0;
}
