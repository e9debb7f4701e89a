/*
 * mgmt_ops: what the partner does with a management request, as pure transformations of the
 * running configuration in its JSON form (cp_config_to_json()): no sockets, no DPDK.
 *
 * Each operation builds a NEW configuration document from the running one plus the change
 * and checks it with cp_config_parse() (every rule a configuration file obeys), so the
 * caller either gets a whole valid configuration to hand to cp_apply_config() or a refusal
 * with the reason, and nothing is half-made.
 *
 * Scope settings (what replicates): every key of a scope except "interface", which names a
 * local port (the partner serves the scope on its own port). The digest of a scope is the
 * SHA-256 of these settings written as compact JSON with sorted keys; both servers write the
 * scope through cp_config_to_json(), which writes every field (defaults included), so equal
 * settings give equal digests.
 *
 * Threads: control thread (jansson objects are not shared).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lw_attr.h"

#define MGMT_DIGEST_HEX		65	/**< 64 hex digits + NUL */

/**
 * The replicated settings of scope @p name in configuration @p cfg.
 * @return a new object (the caller's), or NULL when there is no such scope.
 */
json_t *mgmt_scope_settings(const json_t *cfg, const char *name);

/**
 * The digest of scope @p name (lower-case hex into @p hex).
 * @return 0, -ENOENT (no such scope) or -ENOMEM.
 */
_mustcheck_
int mgmt_scope_digest(const json_t *cfg, const char *name, char hex[MGMT_DIGEST_HEX]);

/**
 * The request body of create-relationship for relationship @p rel of @p cfg, as this
 * server sends it: {"relationship": the relationship as configured here, "scopes": the
 * settings of each of its scopes}. ("op" and "id" are the sender's to add.)
 * @return a new object, or NULL (no such relationship, no memory).
 */
json_t *mgmt_create_body(const json_t *cfg, const char *rel);

/**
 * Apply a create-relationship request received from @p from (host order) to @p cfg.
 * The relationship is mirrored (role, addresses and ports swapped, load-balance percent
 * 100 - x, active <-> standby) and must name @p from as our partner; refused when the
 * relationship name or any scope name already exists here, when the relationship names a
 * scope whose settings are not in "scopes", or when the result is not a valid
 * configuration.
 * @return a new configuration document (the caller's), or NULL with the reason in @p err.
 */
json_t *mgmt_apply_create(const json_t *cfg, const json_t *req, uint32_t from, char *err,
			  size_t errlen);

/**
 * Apply replicate-scope: overwrite the settings of the scope named in @p scope (its
 * "interface" stays ours). Refused unless the scope exists here and is in a relationship
 * whose partner is @p from, or when the result is not a valid configuration.
 * @return a new configuration document, or NULL with the reason in @p err.
 */
json_t *mgmt_apply_replicate(const json_t *cfg, const json_t *scope, uint32_t from, char *err,
			     size_t errlen);

/**
 * Apply set-relationship from @p from: the relationship named in @p req ("relationship", as
 * the sender configures it) replaces ours, mirrored as create-relationship does; our scope
 * list stays (scope-add and scope-remove change it). Refused unless we hold a relationship
 * of that name with @p from and the mirrored one is still between @p from and our local
 * address, or when the result is not a valid configuration.
 * @return a new configuration document, or NULL with the reason in @p err.
 */
json_t *mgmt_apply_set(const json_t *cfg, const json_t *req, uint32_t from, char *err,
		       size_t errlen);

/**
 * Apply delete-relationship from @p from: relationship @p req "name" goes. Its scopes stay
 * in this document: the configuration rules refuse deleting a shared scope in the change that
 * unshares it, so the caller applies this, then mgmt_drop_scopes(@p scopes) (as Windows,
 * the scopes go from the partner and stay where the relationship was deleted).
 * @param[out] scopes  on success, a new array of the relationship's scope names (the
 *                     caller's).
 * @return a new configuration document, or NULL with the reason in @p err (no such
 *         relationship with @p from).
 */
json_t *mgmt_apply_delete(const json_t *cfg, const json_t *req, uint32_t from, json_t **scopes,
			  char *err, size_t errlen);

/**
 * Apply scope-add from @p from: scope @p req "scope" (its settings) is created here when
 * absent (without "interface") and added to relationship @p req "name". Already in that
 * relationship: the configuration unchanged (a request delivered twice). A scope of this
 * server alone of that name is shared as it is when its settings are the ones sent (same
 * digest), refused otherwise. Refused when the scope is in another relationship here, or the
 * result is not valid.
 * @return a new configuration document, or NULL with the reason in @p err.
 */
json_t *mgmt_apply_scope_add(const json_t *cfg, const json_t *req, uint32_t from, char *err,
			     size_t errlen);

/**
 * Apply scope-remove from @p from: scope @p req "scope" leaves relationship @p req "name"
 * (the caller then deletes it with mgmt_drop_scopes(), as Windows does). Not in the
 * relationship: unchanged (delivered twice).
 * @return a new configuration document, or NULL with the reason in @p err.
 */
json_t *mgmt_apply_scope_remove(const json_t *cfg, const json_t *req, uint32_t from, char *err,
				size_t errlen);

/**
 * Delete the scopes named in array @p names from @p cfg, each only when no relationship
 * shares it (the second step of delete-relationship and scope-remove).
 * @return a new configuration document, or NULL with the reason in @p err.
 */
json_t *mgmt_drop_scopes(const json_t *cfg, const json_t *names, char *err, size_t errlen);
