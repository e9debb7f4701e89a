/*
 * mgmt_queue: the persistent outbound queue of the management channel, and each failover
 * scope's sync status.
 *
 * An entry says "send this operation for this scope of this relationship to the partner":
 * op "replicate-scope" (the scope's settings changed here) or "create-relationship". The
 * entry does not hold the settings: the sender reads the scope from the running
 * configuration when it sends, so a later change is never overtaken by an older copy, and
 * pushing a scope that is already queued for the same relationship and op moves it to the
 * end with a new sequence number (coalesced) instead of queueing a second copy. Entries
 * leave the queue only when the partner acknowledged them (mgmt_queue_ack()), oldest first
 * per relationship.
 *
 * Where it lives: a JSON file, `mgmt-queue.json` in the store directory, replaced
 * atomically on every change (write a temporary file, fsync, rename, fsync the directory),
 * so it survives a restart or a crash with either the old or the new content. Not an LMDB
 * database: a new database changes the store's layout, which store_open() refuses in an
 * existing environment (a migration would be needed), and the queue is small (one entry per
 * changed scope) and written only on configuration changes, never on the lease path.
 * Without a store directory the queue is kept in memory only.
 *
 * Threads: control thread only; a queue is not shared.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lw_attr.h"

#define MGMT_QUEUE_NAME_MAX	64	/**< bytes of a relationship or scope name, NUL included */
#define MGMT_QUEUE_MAX		4096	/**< entries; pushing more is refused (-ENOSPC) */
#define MGMT_QUEUE_FILE		"mgmt-queue.json"

/** Sync status of a failover scope (what `failover get` shows per scope). */
enum mgmt_sync {
	MGMT_SYNC_IN_SYNC = 0,	/**< the partner acknowledged our latest settings */
	MGMT_SYNC_PENDING = 1,	/**< a change is queued (derived: an entry exists) */
	MGMT_SYNC_ERROR = 2,	/**< the partner refused it; the reason is kept until cleared */
	MGMT_SYNC_DRIFT = 3,	/**< the partner's digest differs from ours */
};

/** One queued operation, as mgmt_queue_peek() copies it. */
struct mgmt_qentry {
	uint64_t seq;				/**< increasing over the queue's life */
	char relationship[MGMT_QUEUE_NAME_MAX];
	char scope[MGMT_QUEUE_NAME_MAX];
	char op[24];				/**< "replicate-scope", "create-relationship",
						 *   "set-relationship", "delete-relationship",
						 *   "scope-add", "scope-remove" */
	uint32_t partner;			/**< host order; 0: the relationship's partner
						 *   as configured when the entry is sent */
};

/** The scope name of an entry about a whole relationship (set, delete): no scope is named
 *  so (scope names are DHCP-ish words), and no sync status is kept for it. */
#define MGMT_QUEUE_REL	"*"


struct mgmt_queue;

/**
 * Open the queue kept in directory @p dir (the store directory), reading what is there.
 * @param dir  NULL or "" for a queue kept in memory only.
 * @return the queue (the caller closes it), or NULL with the reason in @p err (a file
 *         that does not parse is refused, not overwritten).
 */
struct mgmt_queue *mgmt_queue_open(const char *dir, char *err, size_t errlen);

/** Close. NULL is a no-op. */
void mgmt_queue_close(struct mgmt_queue *q);

/**
 * Queue @p op for @p scope of relationship @p rel (coalesced as the file comment says) and
 * make it durable before returning.
 * @param[out] seq  the entry's sequence number (may be NULL).
 * @return 0, -EINVAL (a name too long or empty), -ENOSPC (MGMT_QUEUE_MAX entries), or a
 *         negative errno of writing the file (the queue is then unchanged).
 */
_mustcheck_
int mgmt_queue_push(struct mgmt_queue *q, const char *rel, const char *scope, const char *op,
		    uint64_t *seq);

/**
 * mgmt_queue_push() for partner @p partner (host order; 0 = the relationship's partner when
 * sent): the form for an entry whose relationship may be gone by then (delete-relationship).
 * Coalescing also needs the same partner.
 */
_mustcheck_
int mgmt_queue_push_to(struct mgmt_queue *q, const char *rel, const char *scope, const char *op,
		       uint32_t partner, uint64_t *seq);

/**
 * Copy entry @p i (0 = the oldest) into @p out: the sender walks the queue in order to find
 * the oldest entry for one partner.
 * @return 0, or -ENOENT past the last entry.
 */
_mustcheck_
int mgmt_queue_at(const struct mgmt_queue *q, size_t i, struct mgmt_qentry *out);

/**
 * Copy the oldest entry of relationship @p rel (NULL: of any) into @p out.
 * @return 0, or -ENOENT when there is none.
 */
_mustcheck_
int mgmt_queue_peek(const struct mgmt_queue *q, const char *rel, struct mgmt_qentry *out);

/**
 * The partner acknowledged entry @p seq: remove it (durably). When no other entry of the
 * scope is queued, a recorded DRIFT is cleared (the partner now holds our settings); an
 * ERROR stays until cleared with mgmt_queue_set_status().
 * @return 0, -ENOENT (no such entry: acknowledged twice), or a negative errno of writing.
 */
_mustcheck_
int mgmt_queue_ack(struct mgmt_queue *q, uint64_t seq);

/**
 * Record the status of @p scope (ERROR or DRIFT with a reason, or IN_SYNC which clears
 * them), durably. PENDING is not set: it is derived from the entries.
 * @return 0, -EINVAL, or a negative errno of writing.
 */
_mustcheck_
int mgmt_queue_set_status(struct mgmt_queue *q, const char *scope, enum mgmt_sync st,
			  const char *reason);

/**
 * Status of @p scope: ERROR or DRIFT when recorded (an error is kept until cleared, even
 * while a new entry waits), else PENDING when an entry of it is queued, else IN_SYNC.
 * @param[out] reason  the recorded reason ("" if none); valid until the next call changing
 *                     @p q. May be NULL.
 */
enum mgmt_sync mgmt_queue_status(const struct mgmt_queue *q, const char *scope,
				 const char **reason);

/** Number of queued entries. */
size_t mgmt_queue_len(const struct mgmt_queue *q);

/** "in-sync", "pending", "error", "drift". */
const char *mgmt_sync_str(enum mgmt_sync st);
