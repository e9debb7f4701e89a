/*
 * store: leasewire's durable state in LMDB. The only module that includes <lmdb.h>.
 *
 * One environment (a directory) holds named databases:
 *   "meta"      schema version and layout: key "schema" -> u32 (big endian) STORE_SCHEMA,
 *               key "layout" -> the list of database names this version uses ("meta,bindings,
 *               config,failover,unacked"). An environment whose schema or layout differs
 *               from ours is refused (STORE_E_SCHEMA), never rewritten, but for the one
 *               layout before it ("meta,bindings,clients,config,failover,unacked"), which
 *               store_open() upgrades (store_open_note()). Key
 *               "clock-grace" (optional): the wall clock's forward-step grace (see
 *               store_clock_grace_put).
 *   "bindings"  key: address (4 bytes, big endian, so a cursor walks addresses in order)
 *               value: struct store_binding encoded (see store.c: versioned, fixed layout;
 *               version 4, with the hardware address, the failover PET and the client
 *               information, is written; versions 3, 2 and 1 are still read)
 *               (There is no index by client: the daemon rebuilds its own from the
 *               bindings at start. Stores until 2026-12-08 kept one, "clients", updated
 *               by every change and read by nothing: an owner's store_open() drops it.)
 *   "config"    the running configuration (store_config_put)
 *   "failover"  key: relationship name -> the control plane's opaque record (store_fo_put)
 *   "unacked"   key: address (4 bytes, big endian) -> generation (u64, big endian): the
 *               addresses whose latest DP_CHANGE_FO change the partner has not acknowledged;
 *               each such change writes one more than the value it replaces. An empty value
 *               (stores written before generations) reads as generation 0.
 *
 * Threads: every function but store_open/store_close may be called from any thread (a mutex
 * serialises them: the committer writes batches while the control thread reads bindings or
 * writes the configuration). Nothing here is called by a worker.
 *
 * Durability: with STORE_SYNC_STRICT every store_write_batch() returns only after the data
 * is on stable storage (mdb_txn_commit with the default sync). STORE_SYNC_RELAXED opens the
 * environment with MDB_NOSYNC: commits are ordered but a power cut loses the latest ones.
 *
 * The journal (store_opts.journal; the daemon's strict mode): segment files of checksummed
 * records in "<dir>/journal" (lmdb-store/journal.h) to which store_journal_append() writes a
 * group of changes with one pwrite and one fdatasync, durable when it returns;
 * store_journal_apply() brings
 * "bindings" and "unacked" up to date from it later, in transactions that also
 * move the mark "journal-applied" (u64, big endian) in "meta" to the newest entry they hold,
 * and only segments whose every entry is at or below that mark, once durable, are deleted
 * (or recycled). A store whose journal is still the LMDB environment of an older binary
 * (data.mdb there) is upgraded by store_open(): its entries are applied, the bindings
 * synced, and its files removed before the segment journal opens. store_open() replays
 * every entry after the mark (also when the journal was not asked for: whoever opens the
 * store sees every change a strict run acknowledged) and syncs before trimming. A change is
 * thus durable once journaled, and a crash at any point between the journal's commit and the
 * end of the second stage loses nothing and applies nothing twice. Readers of the bindings
 * (store_get, store_load, store_unacked_load...) see a journaled change only once it is
 * applied.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commit.h"
#include "lease.h"
#include "lw_attr.h"

#define STORE_SCHEMA 1

/** Errors (negative): project codes from -1000 down, plus negative errno. */
enum store_err {
	STORE_E_SCHEMA = -1000,		/**< unknown schema version or layout: refused */
	STORE_E_FULL = -1001,		/**< map full and cannot grow (max map size reached) */
	STORE_E_CORRUPT = -1002,	/**< a record that does not decode */
	STORE_E_IO = -1003,		/**< any other LMDB failure (message in store_errmsg) */
};

enum store_sync {
	STORE_SYNC_STRICT = 0,
	STORE_SYNC_RELAXED = 1,
};

struct store_opts {
	enum store_sync sync;
	uint64_t map_size;		/**< initial map size in bytes; 0 = 64 MiB */
	uint64_t max_map_size;		/**< growth limit; 0 = 64 GiB */
	bool journal;			/**< keep a journal (store_journal_*); the journal's
					 *   appends sync as @c sync says */
	uint64_t prefill_ahead;		/**< store_prefill(): bytes to keep written ahead of
					 *   LMDB's use of the bindings' data file, at
					 *   least (or an eighth of what is used), and
					 *   whether the journal's next segment is prepared
					 *   ahead (journal mode and strict only); 0 = never
					 *   prefill */
	uint64_t journal_segment;	/**< bytes per journal segment file (journal.h);
					 *   0 = 16 MiB */
	bool reader;			/**< opened to read what another process keeps
					 *   (leasewired --dump-store, perhaps beside the
					 *   running daemon): the entries' syncs of
					 *   store_open() are made only when this open
					 *   itself replays a journal into the store;
					 *   ignored with @c journal (an owner) */
};

/** One binding as stored. */
struct store_binding {
	uint32_t addr;
	uint8_t state;			/**< enum bt_state (never BT_OFFERED, never BT_FREE) */
	uint64_t start, ends;		/**< unix seconds; ends UINT64_MAX = infinite */
	struct dp_client_key key;	/**< len 0 (and type 0) only for BACKUP: no client */
	uint8_t hw_len;			/**< htype + chaddr (record version 2; 0 in version 1
					 *   and when unknown), <= DP_HW_MAX */
	uint8_t hw[DP_HW_MAX];
	struct dp_client_info info;	/**< record version 3; all lengths 0 before */
	uint32_t pet;			/**< record version 4: the partner-known potential
					 *   expiration time of the address (dp_change.pet);
					 *   0 before and when none */
};

/** A PET to keep for the binding of an address (store_unacked_del_pet). */
struct store_pet {
	uint32_t addr;
	uint32_t pet;			/**< unix seconds, > 0 */
};

struct store;

/**
 * Open (creating if needed) the store in directory @p dir (created if missing, mode 0700).
 * Before anything is committed the entries that hold the store are made durable, at every
 * open and in both sync modes: the parent of @p dir is fsynced (the directory's entry), and
 * @p dir after LMDB opened its files there (data.mdb's and lock.mdb's entries); a failed
 * sync fails the open ("cannot sync ...", naming the directory). A reader (o->reader)
 * makes them only before it replays a journal (no other process holds it) that holds
 * entries the bindings do not (an LMDB journal of an older binary: whatever it holds): not
 * for spare or applied segments, as a strict daemon's clean stop leaves them. Otherwise it
 * commits nothing that matters, and its user may not be allowed to open the parent.
 * @param err,errlen  on failure, a message naming the path and the reason.
 * @return the store, or NULL.
 */
struct store *store_open(const char *dir, const struct store_opts *o, char *err, size_t errlen);

/** Close. NULL is a no-op. No transaction may be open. */
void store_close(struct store *s);

/**
 * Would store_write_batch() accept this change? (FREE, or a storable state with a valid
 * key.) A valid key has a known type and 1..DP_KEY_MAX bytes; only BT_BACKUP may instead
 * carry an empty key (len 0, its type is then ignored). A stored state also needs
 * hw_len <= DP_HW_MAX. Any thread; pure.
 */
bool store_change_valid(const struct dp_change *c);

/**
 * Write a batch of changes in ONE write transaction and commit it.
 * A change with state BT_FREE deletes the address's binding; any other state writes it (one
 * B-tree search per change: nothing is indexed by client). Changes are applied in order;
 * later ones win. The PET a binding is written with is the change's (dp_change.pet), or the
 * one its record already holds when that is higher, the change is a failover one
 * (DP_CHANGE_FO or DP_CHANGE_PEER) and its client is the record's: in a failover scope the
 * PET of an address only grows while the same client has a binding there, so a change
 * whose PET was read before an acknowledgement raised it (store_unacked_del_pet() wrote
 * that first, or the journal applies an older entry after it) never takes it back. A
 * binding of another client (or of none: BACKUP) starts from its own, as after a FREE: the
 * partner acknowledged the previous client's lease, not this one's (review17). A change of
 * any other scope writes its own (0).
 * A change whose flags hold DP_CHANGE_FO (and not DP_CHANGE_PEER: the
 * partner's own update is never sent back) also puts its address into "unacked", in the same
 * transaction, with the next generation of the address (see the layout above); other changes
 * leave "unacked" alone.
 * When the map is full it is grown (doubled, up to max_map_size) and the batch retried.
 * @return 0 when the whole batch is durable (per the sync mode); otherwise a negative
 *         enum store_err and NOTHING of the batch is written.
 */
_mustcheck_
int store_write_batch(struct store *s, const struct dp_change *c, size_t n);

/**
 * store_write_batch(), telling the "unacked" generation each change wrote.
 * @param gens  caller's array of @p n: gens[i] is the generation change i gave its address's
 *              unacked mark, 0 for a change that writes none (not DP_CHANGE_FO, or
 *              DP_CHANGE_PEER). Filled only when 0 is returned. May be NULL.
 */
_mustcheck_
int store_write_batch_gen(struct store *s, const struct dp_change *c, size_t n, uint64_t *gens);

/**
 * Nanoseconds the last store_write_batch() or store_write_batch_gen() spent applying its
 * changes to the databases
 * (B-tree work inside the transaction, before the commit writes pages and syncs). The
 * remainder of the call is the commit itself. The thread that wrote the batch; 0 before the
 * first batch.
 */
uint64_t store_last_apply_ns(const struct store *s);

/**
 * Call @p cb for every stored binding, in address order, inside one read transaction.
 * @p cb returns 0 to go on, anything else stops the walk and is returned.
 * @return 0, the callback's value, or a negative enum store_err.
 */
_mustcheck_
int store_load(struct store *s, int (*cb)(const struct store_binding *b, void *arg), void *arg);

/**
 * Look up one binding by address (tests, tools).
 * @return 0 and *out, -ENOENT, or a negative enum store_err.
 */
_mustcheck_
int store_get(struct store *s, uint32_t addr, struct store_binding *out);

/**
 * What store_open() changed in the environment, for the log: "" when nothing, else one line
 * (today only the layout upgrade that drops the old client index, with its entry count).
 * Valid until store_close(); set only by store_open() (and a reopen after an I/O failure,
 * which finds nothing to change).
 */
const char *store_open_note(const struct store *s);

/**
 * Keep the running configuration (JSON text) and the fingerprint of the configuration file
 * it was derived from, in one transaction. Control thread.
 * @return 0 or a negative store error.
 */
_mustcheck_
int store_config_put(struct store *s, const char *json, size_t len, uint64_t fingerprint);

/**
 * The stored running configuration.
 * @param[out] json  malloc'd NUL-terminated text, the caller frees it.
 * @return 0, -ENOENT when none was stored, or a negative store error.
 */
_mustcheck_
int store_config_get(struct store *s, char **json, uint64_t *fingerprint);

/*
 * The wall clock's forward-step grace (dataplane/worker.h, "Time"): after the wall clock steps
 * forward by D while leasewired runs, lease ends written before the step are judged D later
 * until the longest lease time has passed. The running server keeps that in memory; the store
 * keeps it too (meta key "clock-grace": grace seconds and the unix second it lasts until, u64
 * big endian each), so that a restart inside the window judges stored lease ends as the
 * running server did instead of reclaiming live leases. A step while leasewired is not running
 * is not seen by anyone and not covered.
 */

/** Keep the grace: @p grace_s seconds until unix second @p until (replaces the previous one).
 *  Control thread, after a forward step. Any thread may call it. @return 0 or a store
 *  error. */
_mustcheck_
int store_clock_grace_put(struct store *s, uint64_t grace_s, uint64_t until);

/** The kept grace. @return 0 and both values (both 0 when none was ever kept),
 *  STORE_E_CORRUPT (a value that is not 16 bytes), or another store error. Any thread. */
_mustcheck_
int store_clock_grace_get(struct store *s, uint64_t *grace_s, uint64_t *until);

/*
 * Failover (controlplane/failover.c). The "failover" database holds one opaque record per
 * relationship name (the control plane encodes and versions it); the "unacked" database holds
 * the addresses whose latest change the partner has not acknowledged: store_write_batch()
 * adds every address of a change flagged DP_CHANGE_FO in the same transaction as the binding,
 * with a new generation, and the control thread removes them when the partner's BNDACK
 * arrives, each only if its generation is still the one acknowledged (a change committed
 * between the acknowledgement and the delete keeps its mark). After a restart the control
 * thread loads them and sends those bindings again.
 */

/** Keep @p len bytes (1..4096) for relationship @p name (1..63 bytes, NUL-terminated),
 *  replacing any previous record. Any thread. @return 0, -EINVAL (bad name, length or NULL
 *  @p val), or a store error. */
_mustcheck_
int store_fo_put(struct store *s, const char *name, const void *val, size_t len);

/** Read the record of @p name into @p buf (caller's memory, @p cap bytes; NULL with cap 0
 *  asks for the length only). Any thread. @return 0 and *len, -ENOENT, -ENOSPC (cap too
 *  small; *len says how much is needed), -EINVAL (bad name), or a store error. */
_mustcheck_
int store_fo_get(struct store *s, const char *name, void *buf, size_t cap, size_t *len);

/** Call @p cb for each unacked address, with its generation (0 for an empty value), in
 *  address order; a non-zero return stops the walk and is returned. @p cb runs under the
 *  store's lock inside a read transaction: it must not call the store.
 *  @return 0, the callback's value, or a store error (STORE_E_CORRUPT: a key that is not an
 *  address or a value that is not a generation). */
_mustcheck_
int store_unacked_load(struct store *s, int (*cb)(uint32_t addr, uint64_t gen, void *arg),
		       void *arg);

/** Remove @p n addresses from the unacked set in one write transaction: addrs[i] only while
 *  its generation is gens[i] (compare-and-delete; @p gens NULL: whatever it is). Absent ones
 *  and ones with another generation are left alone, which is no error.
 *  @return 0 (also for n == 0), -EINVAL (NULL @p addrs), or a store error (nothing
 *  removed). */
_mustcheck_
int store_unacked_del(struct store *s, const uint32_t *addrs, const uint64_t *gens, size_t n);

/**
 * store_unacked_del(), and in the same write transaction raise the PET of the binding of
 * each pets[i].addr to pets[i].pet (the PET the partner acknowledged, or that we
 * acknowledged without a binding write): the stored PET becomes the higher of the two. An
 * address with no binding, or one that does not decode, is left alone (no error). The
 * record is rewritten in the version written now. Control thread.
 * @return 0 (also when both counts are 0), -EINVAL (NULL @p addrs with n > 0, NULL @p pets
 *         with n_pets > 0), or a store error (nothing written).
 */
_mustcheck_
int store_unacked_del_pet(struct store *s, const uint32_t *addrs, const uint64_t *gens, size_t n,
			  const struct store_pet *pets, size_t n_pets);

/** Number of unacked addresses (0 after an error, see store_errmsg). */
uint64_t store_unacked_count(struct store *s);

/** Number of stored bindings. */
uint64_t store_count(struct store *s);

/** Message for the last error on this store: a thread-local copy, valid until the calling
 *  thread's next call. Any thread. */
const char *store_errmsg(const struct store *s);

/** The LMDB library's version string. */
const char *store_lmdb_version(void);

/** Name of a store_err or errno code. */
const char *store_strerror(int err);

/**
 * How many times the store started over after a failed write: the bindings' environment
 * closed and opened again, plus the journal's segments given up. LMDB marks an environment
 * unusable (MDB_PANIC) when a commit fails to write its meta page (EIO from the disk); the
 * next transaction then reopens it, which keeps every commit that succeeded and nothing of
 * the failed one. A journal append whose pwrite or fdatasync fails leaves its segment for
 * good and the next append starts a new one (journal.h). Any thread.
 */
uint64_t store_reopens(const struct store *s);

/**
 * Change the growth limit of the map (store_opts.max_map_size; 0 = 64 GiB) on an open store,
 * e.g. to raise it when batches fail with STORE_E_FULL: the next batch grows the map up to
 * the new limit. A limit below the current map size stops further growth only (the map never
 * shrinks). Any thread.
 */
void store_set_max_map_size(struct store *s, uint64_t max_map_size);

/*
 * Prefilled data files (doc/durable-path.md, "Prefilled data files"). A flush that covers
 * blocks written past a file's end pays for their allocation (file system metadata, and on a
 * thin-provisioned disk the host's own): milliseconds instead of tens of microseconds here.
 * In journal mode with strict sync, store_prefill() writes zeros (real writes, then a flush;
 * lmdb-store/prefill.h) ahead: into the bindings' data file past LMDB's last used page, kept
 * max(prefill_ahead, used / 8) ahead and extended, when less than that lies ahead, to twice
 * that; and into the journal's next segment file (journal.h, journal_prefill()), written
 * whole and synced with its directory entry before the appender takes it, so that a
 * journal append's fdatasync flushes data only. The bindings' extension holds the
 * environment's write lock (a write transaction begun and aborted around it: LMDB writes
 * past the end only inside a commit), so it can never overwrite a page a commit writes; the
 * zeros past LMDB's last page are never read by it (its meta says where its pages end): a
 * crash at any point, or a failed extension, leaves every committed page as it was. A spare
 * segment holds no header: a crash leaves it empty, and the next open deletes it. Relaxed
 * mode never flushes and is not prefilled.
 */

/** What store_prefill() did since store_open(). */
struct store_prefill_stats {
	uint64_t extensions;	/**< files extended (one per file and call) */
	uint64_t bytes;		/**< zeros written */
	uint64_t ns;		/**< wall time of the extensions (writes, flush, lock wait) */
	uint64_t failures;	/**< extensions that failed (counted per file and call) */
	int last_error;		/**< negative errno / enum store_err of the last failure, 0 */
};

/** Bytes store_prefill() writes per file and call at most (max_step), by default: one
 *  whole journal segment. */
#define STORE_PREFILL_STEP	(16ull << 20)

/**
 * Extend the bindings' data file with written zeros when it is not far enough ahead of
 * LMDB's use, and prepare the journal's next segment when none is ready (above). A no-op
 * returning 0 when the store was opened without store_opts.prefill_ahead, without a journal
 * or not strict. Holds the store's lock and a write transaction of the bindings while
 * extending theirs (the control thread's writes wait for it), and the journal's reader lock
 * while writing its segment (journal_read() waits for it; an append never does). Any thread;
 * in the daemon the applier, between its transactions (off the ACK path), and the control
 * thread once after store_open(), before the committer starts.
 * @param max_step  bytes per file at most in this call (0: no bound, as far as due).
 * @return the bytes written (0: both files were far enough ahead), or a negative errno /
 *         enum store_err of the first failure (message in store_prefill_errmsg(), never in
 *         store_errmsg(); counted in store_prefill_stats()). No binding or journal entry is
 *         lost or changed either way.
 */
_mustcheck_
int64_t store_prefill(struct store *s, uint64_t max_step);

/** The message of store_prefill()'s last failure ("no error" before any): kept apart from
 *  store_errmsg(), which names the last failure of a read, commit or apply. Copied under the
 *  store's lock into a thread-local buffer, valid until the calling thread's next call. */
const char *store_prefill_errmsg(const struct store *s);

/** store_prefill()'s counters since store_open(). Any thread. */
void store_prefill_stats(const struct store *s, struct store_prefill_stats *out);

/** A data file: what LMDB uses of it (up to its last used page) and its size, in bytes. */
struct store_data_file {
	uint64_t used;
	uint64_t size;
};

/**
 * The bindings' and the journal's data files (the journal's all 0 without one). Any thread.
 * @return 0, or a store error (message in store_errmsg()).
 */
_mustcheck_
int store_data_files(struct store *s, struct store_data_file *bindings,
		     struct store_data_file *journal);

/**
 * Fault injection for tests: the next @p n calls of store_write_batch() (and _gen) or
 * store_journal_append() fail with @p err (STORE_E_IO when @p err is not negative) before
 * writing anything. 0 clears it. Any thread.
 */
void store_inject_failure(struct store *s, unsigned n, int err);

/** Fault injection for tests: the next store_journal_append() sleeps @p ms in its commit
 *  step, as a stalled fdatasync would (journal mode only). Any thread. */
void store_inject_delay(struct store *s, unsigned ms);

/**
 * The step the committer's store call is in now, for a watchdog on another thread: with a
 * journal "begin" (taking the next segment, creating one when no spare is ready), "put" (the
 * pwrite), "commit" (the fdatasync), "sync" or "idle"; without one "write". Any thread; a
 * static string.
 */
const char *store_commit_phase(const struct store *s);

/*
 * The journal (see the top of this file). Two threads: one appender and one applier, besides
 * the callers of the functions above.
 */

/** Was the store opened with a journal? Any thread. */
bool store_has_journal(const struct store *s);

/**
 * Append @p n changes to the journal with one pwrite and one fdatasync (strict mode): when
 * 0 is returned they are durable (journal.c says why); store_journal_apply() will write
 * them to the bindings in this order. Trimming is the applier's (store_journal_apply()).
 * Does not wait for the store's lock: the applier may be writing the bindings meanwhile.
 * The single appender thread.
 * @return 0, -EINVAL (no journal, or a change store_change_valid() refuses: nothing
 *         written), or a negative enum store_err / errno (not durable, not visible to the
 *         applier; the next append starts a new segment and reuses the sequence numbers).
 */
_mustcheck_
int store_journal_append(struct store *s, const struct dp_change *c, size_t n);

/**
 * Apply up to @p max journal entries that the bindings do not hold yet, oldest first, in one
 * write transaction (synced in strict mode) that also moves the applied mark: exactly what
 * store_write_batch_gen() would have done with them, unacked generations included.
 * @param out   caller's array of @p max: the changes applied (their worker and seq are 0).
 * @param gens  caller's array of @p max or NULL: as store_write_batch_gen().
 * @return how many (0: the bindings are up to date), -EINVAL (no journal), -ENOMEM, or a
 *         negative enum store_err (nothing applied; the entries stay in the journal).
 *         The single applier thread (the store's lock is held inside). Afterwards, off
 *         the ACK path, the journal's segments whose every entry the bindings now hold are
 *         deleted or recycled (journal_trim(); a failure there costs only space).
 * @note The store keeps a scratch array of @p max entries from the first call on (grown only
 *       when @p max grows, freed by store_close()): a round with the same @p max allocates
 *       nothing, so -ENOMEM can come only from the first call or a larger @p max.
 */
_mustcheck_
long store_journal_apply(struct store *s, struct dp_change *out, uint64_t *gens, size_t max);

/** Make every append that returned durable: a no-op in strict mode (each append flushed),
 *  a flush with a journal opened relaxed. The appender thread. @return 0, -EINVAL (no
 *  journal) or a store error. */
_mustcheck_
int store_journal_sync(struct store *s);

/**
 * Delete every journal segment whose entries the bindings all hold durably, the appender's
 * current one included (at stop: a clean store leaves no entry in its journal, only spare
 * segments). The appender thread, or after it stopped. @return 0 or a store error.
 */
_mustcheck_
int store_journal_trim(struct store *s);

/** Entries appended and not yet applied. Any thread (0 without a journal). */
uint64_t store_journal_lag(const struct store *s);

/** Journal segments the appender had to create itself, on the ACK path, because no spare
 *  was ready (journal_path_creates()); 0 without a journal. Any thread. */
uint64_t store_journal_path_creates(const struct store *s);

/** Journal segments written through the page cache because O_DIRECT was refused
 *  (journal_direct_fallbacks()); 0 without a journal. Any thread. */
uint64_t store_journal_direct_fallbacks(const struct store *s);

/** Entries in the journal's segments (applied but not yet trimmed ones included: trimming
 *  goes by whole segment). Any thread. */
uint64_t store_journal_count(struct store *s);

/**
 * Fault injection for tests: store_journal_apply() calls @p fn(arg, i) before applying the
 * i-th change of its transaction (a test's hook may _exit() there: a crash within the
 * apply). NULL @p fn clears it. Any thread.
 */
void store_inject_apply_hook(struct store *s, void (*fn)(void *arg, size_t i), void *arg);
