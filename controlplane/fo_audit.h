/*
 * fo_audit: the audit trail of failover relationships (issue 12 item 8; Windows logs the
 * same as events of DHCP Server's audit channel): what a configuration change does to them,
 * as a list of events, and their log lines.
 *
 * Events (objects of the list, in this order: deletions, creations, then per kept
 * relationship its settings and its scopes):
 *   {"action": "delete", "relationship": N, "scopes": [..]}
 *   {"action": "create", "relationship": N, "partner": A, "scopes": [..]}
 *   {"action": "set", "relationship": N, "setting": KEY, "old": V, "new": V}
 *   {"action": "scope-add" | "scope-remove", "relationship": N, "scope": S}
 * KEY is the configuration key (config_schema.c); a shared secret is never shown: its
 * values are "none" or "set" ("set" -> "set" when it changed).
 *
 * Pure (jansson on two snapshots); any thread that owns the snapshots.
 */
#pragma once

#include <jansson.h>

struct dp_config;

/**
 * What replacing @p cur by @p nc does to the relationships.
 * @return a new list (the caller's; empty when nothing changed), or NULL out of memory.
 */
json_t *cp_fo_audit(const struct dp_config *cur, const struct dp_config *nc);

/** Log every event of @p events (NULL: nothing) at information level, one line each:
 *  "event=failover-audit action=... relationship=... ... by=SOURCE". */
void cp_fo_audit_log(const json_t *events, const char *source);
