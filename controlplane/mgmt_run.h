/*
 * mgmt_run: the management channel at run time: the responder that applies a partner's
 * requests, the sender that delivers this server's queued changes, drift detection, and
 * what the failover-replicate / failover-sync-status commands ask of them.
 *
 * Responder. create-relationship and replicate-scope build a new configuration from the
 * running one (cp_config_to_json()) with mgmt_ops, parse it with cp_config_parse() and
 * apply it with cp_apply_config(): all or nothing; the answer is ok (with the scope's new
 * digest) or the refusal with the reason. scope-digest answers the digest of a scope shared
 * with the asking partner only (a relationship with it holds the scope); any other name,
 * existing or not, gets the same refusal.
 *
 * Sender. Every configuration change made through the control socket calls
 * cp_mgmt_config_changed(): the digest of each scope of a relationship whose partner is a
 * management partner is compared with the last one seen, and a changed scope is pushed to
 * the persistent queue (mgmt_queue.h; it survives restarts). Per partner, one request is in
 * flight at a time: the oldest queued entry of its relationships, or else the next scope of
 * a digest comparison (run when the partner is first reached, again after each time it
 * could not be reached, and every MGMT_RECHECK_S). An acknowledged entry leaves the queue;
 * a refused one leaves it too and its scope shows error(reason) until a later replication
 * succeeds (a refused entry would otherwise block every later one); an undelivered one
 * stays and is retried with a back-off. A digest that differs from ours, on a scope with
 * nothing queued, is recorded as drift.
 *
 * Threads: control thread only.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lw_attr.h"

#define MGMT_RECHECK_S		30	/**< seconds between digest comparisons with a partner */

struct cp_apply;
struct dp_runtime;

/** What the channel works on: kept, not owned. */
struct cp_mgmt_env {
	struct dp_runtime *rt;
	struct cp_apply *apply;
};

struct cp_mgmt;

/**
 * Open the queue (mgmt-queue.json in server.store) and, when server.management is set, the
 * listener. With the channel off, nothing is opened and every call is cheap.
 * @param[out] out  the channel (close with cp_mgmt_stop()).
 * @return 0, or -1 after logging why (a queue file that does not parse, a port in use).
 */
_mustcheck_
int cp_mgmt_start(const struct cp_mgmt_env *env, struct cp_mgmt **out);

/** Close the listener and connections (undelivered entries stay in the queue file). NULL:
 *  no-op. */
void cp_mgmt_stop(struct cp_mgmt *m);

/** The running configuration changed through the control socket (@p source as logged):
 *  queue each failover scope whose settings changed for its management partner. */
void cp_mgmt_config_changed(struct cp_mgmt *m, const char *source);

/** Put the channel's fds in @p pfd (at most @p max). @return how many. */
int cp_mgmt_fds(const struct cp_mgmt *m, struct pollfd *pfd, int max);

/** Milliseconds until the channel has something to do, or -1. */
int cp_mgmt_timeout_ms(const struct cp_mgmt *m);

/** Serve the channel: connections, answers, the next queued entry or digest check. */
void cp_mgmt_poll(struct cp_mgmt *m);

/**
 * failover-replicate: queue replicate-scope for every scope concerned: of every relationship
 * whose partner is a management partner (@p all), of relationship @p rel, or scope @p scope
 * (exactly one of the three).
 * @param[out] queued  a new array of the queued scope names (the caller's), on success.
 * @return 0, or -1 with the reason in @p err (no such relationship or failover scope; the
 *         partner cannot receive configuration: an ISC partner, or the channel off).
 */
_mustcheck_
int cp_mgmt_replicate(struct cp_mgmt *m, bool all, const char *rel, const char *scope,
		      json_t **queued, char *err, size_t errlen);

/** Can partner @p addr (host order) receive configuration: the channel is on and
 *  server.management lists it? NULL channel: false. */
bool cp_mgmt_managed(const struct cp_mgmt *m, uint32_t addr);

/** The outcome of cp_mgmt_create(): @p ok, or the reason (the partner's refusal, "clocks
 *  differ ... partner time T, our time T", unreachable, refused "peer"). Not ok, @p undo
 *  says what the partner holds: 0 nothing (it refused, or never got the request); 1 the
 *  request reached it and no answer came back (it may have made the relationship): a
 *  delete-relationship is queued for it, delivered once it is reached; -1 the same, but
 *  the delete could not be queued (its reason appended to @p err). */
typedef void (*cp_mgmt_done_fn)(void *arg, bool ok, int undo, const char *err);

/**
 * failover-add towards a leasewire partner: send create-relationship for relationship @p rel
 * of @p doc (the configuration this server is about to run, in cp_config_to_json() form;
 * read now, not kept) to partner @p addr at once, outside the queue: the partner either
 * makes the relationship and its scopes, whole, or refuses and changes nothing. When the
 * request reached it and its answer never came, what it did is unknown: it is told to
 * delete relationship @p rel (queued, as cp_mgmt_queue_change()), so that it never keeps
 * one this server does not have. The same holds across a crash of this server: that delete
 * is written to the queue (durably) BEFORE the request leaves, as the intent, and dropped
 * once the create is settled (refused, never sent, or made here too after the partner's
 * "ok"). A server that dies between the partner's "ok" and its own apply restarts without the
 * relationship and with the intent, which is then delivered (or dropped, should the
 * relationship be here by then).
 * @param done  called exactly once, from a later cp_mgmt_poll() (or cp_mgmt_stop()).
 * @return 0, or -1 with @p err and @p done never called: not a management partner, a
 *         request to it already in flight, changes for it still queued (a delete of the
 *         same name could follow the create), the intent cannot be queued, no memory, no
 *         socket.
 */
_mustcheck_
int cp_mgmt_create(struct cp_mgmt *m, uint32_t addr, const json_t *doc, const char *rel,
		   cp_mgmt_done_fn done, void *arg, char *err, size_t errlen);

/**
 * A relationship changed here through the control socket: queue @p op for partner
 * @p partner (host order) when it is a management partner, durably, to be sent in order
 * with the scopes' replication (retried until delivered, across restarts of either side).
 * What is sent is read from the running configuration when it leaves (an entry whose
 * change was undone here by then is dropped): "set-relationship" (every setting of
 * relationship @p rel), "delete-relationship" (@p rel and its scopes go from the partner;
 * the partner is stored in the entry), "scope-add" / "scope-remove" (scope @p scope; the
 * partner creates a missing scope with its settings, and deletes a removed one).
 * Call it BEFORE applying the change, so that it precedes the replicate-scope entries the
 * apply queues (cp_mgmt_config_changed()).
 * @param scope  NULL for set and delete.
 * @return 1 queued, 0 nothing to do (not a management partner: the change stays local), or
 *         -1 with @p err (the queue is full or cannot be written).
 */
_mustcheck_
int cp_mgmt_queue_change(struct cp_mgmt *m, const char *rel, const char *scope, const char *op,
			 uint32_t partner, char *err, size_t errlen);

/** failover-sync-status: a new array of {scope, relationship, partner, status, reason?},
 *  one per failover scope; status "not-replicated" when its partner is not a management
 *  partner. NULL when out of memory. */
json_t *cp_mgmt_sync_status(const struct cp_mgmt *m);
