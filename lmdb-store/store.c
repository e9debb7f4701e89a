/*
 * store: leasewire's durable bindings in LMDB.
 *
 * Every LMDB operation goes through a small transaction wrapper (struct store_txn) with a
 * sticky error, as Knot's knot_lmdb: after the first failure each further operation is a
 * no-op and the caller checks txn.ret once, at commit. A batch is therefore all or nothing
 * without an error check after every put, and a failed transaction is always aborted, which
 * leaves the environment exactly as it was.
 *
 * LMDB's codes become ours in one place, store_mdb_err() (mdb_err.c, shared with journal.c);
 * mdb_to_store() calls it and records the message that store_errmsg() returns. Two codes are
 * handled before they get there: MDB_READERS_FULL (stale reader slots of dead processes:
 * mdb_reader_check() and retry) and MDB_MAP_RESIZED (another process grew the map: adopt its
 * size and retry).
 *
 * The map can only be resized while this process has no write transaction open, so a batch
 * that hits MDB_MAP_FULL is aborted, the map doubled (up to max_map_size) and the whole batch
 * retried. Past the limit the batch fails with STORE_E_FULL and nothing of it is written.
 *
 * The environment is checked in the first write transaction: a fresh one (no databases at
 * all) gets its meta written there, an existing one must carry our schema and layout or it is
 * refused. A refused environment sees only an aborted transaction: its data file is never
 * written.
 *
 * A binding record (the value in "bindings") is a versioned fixed layout, big endian. Version
 * 4 is always written; versions 3, 2 and 1 are still read, what they lack read as 0 or empty.
 * One table for all four ("hdr", the header's length: 20 in version 1, 21 in versions 2 and
 * 3, 25 in version 4):
 *
 *   offset  size  field                                          versions
 *        0  u8    record version (1..4)                          all
 *        1  u8    state                                          all
 *        2  u64   start                                          all
 *       10  u64   ends (UINT64_MAX = infinite)                   all
 *       18  u8    key type (0: no key)                           all
 *       19  u8    key length (<= 64)                             all
 *       20  u8    hw length (<= 17)                              2, 3, 4
 *       21  u32   PET: the partner-known potential expiration    4
 *                 time of the address (0: none)
 *      hdr  ...   key bytes, then hw bytes                       all (no hw in 1)
 *      ...  u8 x4 host (<= 32), vendor (<= 32), circuit (<= 16)  3, 4
 *                 and policy (<= 28) lengths, then host, vendor,
 *                 circuit and policy bytes (struct dp_client_info;
 *                 host, vendor and policy printable ASCII, any
 *                 other byte is read as '?')
 *
 * and the record ends exactly there. Version 4 costs 4 bytes per binding more than version 3.
 *
 * state is one of the stored states of enum bt_state. From version 2 on the key is empty
 * (type 0, length 0) for a BACKUP binding, which has no client, and only then. hw is htype + chaddr of the client (failover option 5), empty if
 * unknown. The PET is kept for failover (doc/failover.md, "The partner-known PET"):
 * apply_change() never lowers it by a failover change, store_unacked_del_pet() raises it.
 *
 * Why STORE_SCHEMA and the layout in "meta" did not change with versions 2 to 4: they
 * describe which databases exist and how their keys are laid out, and neither changed
 * ("failover" and "unacked" were in the layout from the start). A record carries its own
 * version, so this code reads a store written by an older binary in place, record by record,
 * with no migration and no window in which a half-converted store could be left behind. The
 * reverse is safe too: an older binary meets a newer record as "unknown record version"
 * (STORE_E_CORRUPT, refused and reported), never as a misread binding; going back to one
 * needs the store rewritten.
 *
 * "unacked" maps an address (4 bytes, big endian) to its generation: 8 bytes, big endian, one
 * more than the value it replaces, written with every change the partner must hear of. A
 * store written before generations holds empty values: read as generation 0 (and replaced by
 * 1 with the next change). The generation lets the control thread delete exactly the mark it
 * saw acknowledged (store_unacked_del()): a change committed after it got a new one.
 * "failover" maps a relationship name (its bytes, no NUL) to the control plane's opaque
 * record. Both are written with the same grow-and-retry loop as the batches.
 *
 * Decoding checks every field. A record that does not decode is reported as STORE_E_CORRUPT
 * and never skipped: whether to start without it is the caller's decision.
 *
 * Read transactions are reused through reset/renew (one spare handle, kept in struct store);
 * MDB_NOTLS makes that legal from any thread and allows a read transaction to be open while
 * the same thread writes. A store_load() callback must not write, though: growing the map
 * under an open read transaction would pull the map from under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <time.h>

#include <lmdb.h>

#include "byteorder.h"
#include "dirsync.h"
#include "fmt.h"
#include "journal.h"
#include "journal_mdb.h"
#include "lease.h"
#include "lw_attr.h"
#include "info_codec.h"
#include "mdb_err.h"
#include "prefill.h"
#include "store.h"

#define DEFAULT_MAP_SIZE	(64ull << 20)
#define DEFAULT_MAX_MAP_SIZE	(64ull << 30)
#define MAX_DBS			8
#define BEGIN_RETRIES		3

#define REC_V1			1
#define REC_V2			2
#define REC_V3			3
#define REC_V4			4
#define REC_PET_OFF		21	/* version 4 */
#define REC_INFO_LEN		STORE_INFO_MAX_LEN
#define REC_MAX_LEN		(25 + DP_KEY_MAX + DP_HW_MAX + REC_INFO_LEN)
#define ADDR_LEN		4
#define FO_NAME_MAX		63
#define FO_VAL_MAX		4096

#define ERRMSG_LEN		512

enum db_id {
	DB_META,
	DB_BINDINGS,
	DB_CONFIG,
	DB_FAILOVER,
	DB_UNACKED,
	DB_COUNT,
};

/* The order of LAYOUT is the order of db_names: both are this version's layout. */
static const char *const db_names[DB_COUNT] = {
	[DB_META] = "meta",
	[DB_BINDINGS] = "bindings",
	[DB_CONFIG] = "config",
	[DB_FAILOVER] = "failover",
	[DB_UNACKED] = "unacked",
};

static const char LAYOUT[] = "meta,bindings,config,failover,unacked";
/*
 * The layout of the stores written until 2026-12-08, with "clients" (client key -> the
 * client's latest address), an index that every change kept up to date (a second B-tree
 * search per change, a page more per new client) and that nothing but tests ever read: the
 * daemon rebuilds its client index from the bindings at start. An owner's store_open()
 * drops it and writes LAYOUT, in its first write transaction (open_dbs()); a reader opens
 * such a store as it is and leaves "clients" alone. An older binary refuses the new layout
 * (check_meta(): "written by another leasewire version"), never misreads it.
 */
static const char LAYOUT_CLIENTS[] = "meta,bindings,clients,config,failover,unacked";
#define DB_NAME_CLIENTS "clients"
static const char META_SCHEMA[] = "schema";
static const char META_LAYOUT[] = "layout";

struct store {
	pthread_mutex_t lock;		/* the committer and the control thread share a store */
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	MDB_txn *spare_rtxn;		/* reset read txn, renewed by the next reader */
	uint64_t map_size;		/* the map's current size */
	uint64_t max_map_size;
	unsigned env_flags;		/* mdb_env_open() flags, kept for env_reopen() */
	_Atomic uint64_t reopens;	/* store_reopens(): the bindings' environment */
	_Atomic unsigned inject_n;	/* store_inject_failure(): the batch writer and the */
	_Atomic int inject_err;		/* journal's appender take from it, without the lock */
	uint64_t last_apply_ns;		/* store_last_apply_ns(): the batch writer's figure */
	struct journal *jrn;		/* the journal (store_journal_*); NULL: none */
	struct jmdb *jmdb;		/* store_open() only: an LMDB journal being replayed */
	int jlock_fd;			/* the journal directory, flock()ed: this store owns
					 * the journal (-1: not) */
	_Atomic uint64_t applied;	/* newest journal sequence durable in the bindings */
	void (*apply_hook)(void *arg, size_t i);	/* store_inject_apply_hook() */
	void *apply_hook_arg;
	uint64_t *apply_seqs;		/* the applier's scratch: store_journal_apply() keeps */
	size_t apply_cap;		/* it (apply_cap entries) from call to call, under lock */
	uint64_t prefill_ahead;		/* store_opts.prefill_ahead; 0: store_prefill() is off */
	_Atomic uint64_t pf_extensions;	/* store_prefill_stats() */
	_Atomic uint64_t pf_bytes;
	_Atomic uint64_t pf_ns;
	_Atomic uint64_t pf_failures;
	_Atomic int pf_last_error;
	char *dir;
	char errmsg[ERRMSG_LEN];
	char open_note[160];		/* store_open_note() */
	bool reader;			/* store_opts.reader (and no journal): never upgrades */
	char pf_errmsg[ERRMSG_LEN];	/* store_prefill()'s last failure (under lock): kept
					 * apart, so that a prefill failing on the applier's
					 * thread never replaces the message of a failed
					 * commit that the control thread has yet to log */
};

/* The transaction wrapper: ret is sticky, every operation is a no-op once it is set. */
struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int ret;
	MDB_cursor *cur[DB_COUNT];	/* write transactions: opened on first use by
					 * txn_cursor(), closed by the commit or abort */
};

_printf_(4, 0)
static void vset_err(struct store *s, char *buf, size_t size, const char *fmt, va_list ap)
{
	int len = snprintf(buf, size, "%s: ", s->dir ? s->dir : "(store)");

	if (len >= 0 && (size_t)len < size) {
		vsnprintf(buf + len, size - (size_t)len, fmt, ap);
	}
}

_printf_(2, 3)
static void set_err(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(s, s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
}

/* A prefill's failure: its own message (struct store, pf_errmsg). The store's lock held. */
_printf_(2, 3)
static void set_pf_err(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(s, s->pf_errmsg, sizeof(s->pf_errmsg), fmt, ap);
	va_end(ap);
}

static int mdb_to_store(struct store *s, int rc, const char *what)
{
	if (rc == MDB_SUCCESS) {
		return 0;
	}
	set_err(s, "%s: %s", what, mdb_strerror(rc));
	return store_mdb_err(rc);
}

static void refresh_map_size(struct store *s)
{
	MDB_envinfo info;

	if (mdb_env_info(s->env, &info) == MDB_SUCCESS) {
		s->map_size = info.me_mapsize;
	}
}

static int env_reopen(struct store *s);

static void txn_begin(struct store *s, struct store_txn *t, bool rdonly)
{
	unsigned tries = 0;
	int rc;

	t->s = s;
	t->txn = NULL;
	t->ret = 0;
	memset(t->cur, 0, sizeof(t->cur));
	for (;;) {
		if (s->env == NULL) {
			/* A reopen failed earlier (env_reopen): try again, the cause may be gone. */
			t->ret = env_reopen(s);
			if (t->ret) {
				return;
			}
		}
		if (rdonly && s->spare_rtxn) {
			t->txn = s->spare_rtxn;
			s->spare_rtxn = NULL;
			rc = mdb_txn_renew(t->txn);
			if (rc != MDB_SUCCESS) {
				mdb_txn_abort(t->txn);
				t->txn = NULL;
			}
		} else {
			rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0, &t->txn);
		}
		if (rc == MDB_SUCCESS) {
			return;
		}
		t->txn = NULL;
		if (rc == MDB_READERS_FULL && tries++ < BEGIN_RETRIES) {
			int dead = 0;

			/* Free the slots of readers whose process died, then try again. */
			if (mdb_reader_check(s->env, &dead) == MDB_SUCCESS && dead > 0) {
				continue;
			}
		} else if (rc == MDB_MAP_RESIZED && tries++ < BEGIN_RETRIES) {
			/* Another process grew the map: 0 adopts the size it committed. */
			if (mdb_env_set_mapsize(s->env, 0) == MDB_SUCCESS) {
				refresh_map_size(s);
				continue;
			}
		} else if (rc == MDB_PANIC && tries++ < BEGIN_RETRIES) {
			/* A commit failed to write its meta page (EIO): LMDB refuses every
			 * transaction of this handle from then on. Reopening rereads the newest
			 * meta that made it to the disk, so what was committed stays and what
			 * failed is gone, as for any failed commit. */
			t->ret = env_reopen(s);
			if (t->ret == 0) {
				continue;
			}
			return;
		}
		t->ret = mdb_to_store(s, rc, rdonly ? "begin read transaction" :
				      "begin write transaction");
		return;
	}
}

/* End a read transaction: keep its handle for the next reader. */
static void txn_end_read(struct store_txn *t)
{
	if (!t->txn) {
		return;
	}
	if (t->s->spare_rtxn) {
		mdb_txn_abort(t->txn);
	} else {
		mdb_txn_reset(t->txn);
		t->s->spare_rtxn = t->txn;
	}
	t->txn = NULL;
}

static void txn_close_cursors(struct store_txn *t)
{
	for (int i = 0; i < DB_COUNT; i++) {
		if (t->cur[i] != NULL) {
			mdb_cursor_close(t->cur[i]);
			t->cur[i] = NULL;
		}
	}
}

static void txn_abort(struct store_txn *t)
{
	txn_close_cursors(t);
	if (t->txn) {
		mdb_txn_abort(t->txn);
		t->txn = NULL;
	}
}

/* Commit if no operation failed, abort otherwise. @return t->ret. */
static int txn_commit(struct store_txn *t)
{
	int rc;

	if (t->ret) {
		txn_abort(t);
		return t->ret;
	}
	txn_close_cursors(t);
	rc = mdb_txn_commit(t->txn);	/* frees the transaction, even when it fails */
	t->txn = NULL;
	if (rc != MDB_SUCCESS) {
		t->ret = mdb_to_store(t->s, rc, "commit");
	}
	return t->ret;
}

static void txn_put(struct store_txn *t, enum db_id db, const void *key, size_t klen,
		    const void *val, size_t vlen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)val };
	char what[64];
	int rc;

	if (t->ret) {
		return;
	}
	rc = mdb_put(t->txn, t->s->dbi[db], &k, &v, 0);
	if (rc != MDB_SUCCESS) {
		snprintf(what, sizeof(what), "write to \"%s\"", db_names[db]);
		t->ret = mdb_to_store(t->s, rc, what);
	}
}

/* Delete @p key; a missing key is not an error. */
static void txn_del(struct store_txn *t, enum db_id db, const void *key, size_t klen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	char what[64];
	int rc;

	if (t->ret) {
		return;
	}
	rc = mdb_del(t->txn, t->s->dbi[db], &k, NULL);
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		snprintf(what, sizeof(what), "delete from \"%s\"", db_names[db]);
		t->ret = mdb_to_store(t->s, rc, what);
	}
}

/* A lookup's answer @p rc in @p db: true when found; false when missing, or after an error
 * (then t->ret is set). */
static bool read_result(struct store_txn *t, enum db_id db, int rc)
{
	char what[64];

	if (rc == MDB_SUCCESS) {
		return true;
	}
	if (rc != MDB_NOTFOUND) {
		snprintf(what, sizeof(what), "read from \"%s\"", db_names[db]);
		t->ret = mdb_to_store(t->s, rc, what);
	}
	return false;
}

/*
 * Look @p key up. @return true and *val when found; false when missing or after an error
 * (then t->ret is set). *val points into the map: valid only until the next write.
 */
static bool txn_get(struct store_txn *t, enum db_id db, const void *key, size_t klen,
		    MDB_val *val)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };

	if (t->ret) {
		return false;
	}
	return read_result(t, db, mdb_get(t->txn, t->s->dbi[db], &k, val));
}

/*
 * The write transaction's cursor on @p db, opened on first use. One cursor for a whole batch
 * keeps its place between changes: LMDB then looks a key up in the leaf it is on first
 * (mdb_cursor_set), which is where the next address of a batch usually is, instead of from
 * the root, and a put after a lookup replaces the record where the cursor stands
 * (MDB_CURRENT) without a second search. @return NULL after an error (t->ret set).
 */
static MDB_cursor *txn_cursor(struct store_txn *t, enum db_id db)
{
	int rc;

	if (t->ret == 0 && t->cur[db] == NULL) {
		rc = mdb_cursor_open(t->txn, t->s->dbi[db], &t->cur[db]);
		if (rc != MDB_SUCCESS) {
			t->cur[db] = NULL;
			t->ret = mdb_to_store(t->s, rc, "open a cursor");
		}
	}
	return t->ret ? NULL : t->cur[db];
}

/* Put the cursor of @p db on @p key. @return true and *val (valid until the next write) when
 * found; false when missing or after an error (t->ret set). */
static bool cur_seek(struct store_txn *t, enum db_id db, const void *key, size_t klen,
		     MDB_val *val)
{
	MDB_cursor *cur = txn_cursor(t, db);
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };

	if (cur == NULL) {
		return false;
	}
	return read_result(t, db, mdb_cursor_get(cur, &k, val, MDB_SET));
}

/* Write @p key through the cursor of @p db: in place of the record it stands on when
 * @p current (cur_seek() found @p key, and no write to @p db came between), else a put that
 * finds its own place. */
static void cur_put(struct store_txn *t, enum db_id db, const void *key, size_t klen,
		    const void *val, size_t vlen, bool current)
{
	MDB_cursor *cur = txn_cursor(t, db);
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)val };
	char what[64];
	int rc;

	if (cur == NULL) {
		return;
	}
	rc = mdb_cursor_put(cur, &k, &v, current ? MDB_CURRENT : 0);
	if (rc != MDB_SUCCESS) {
		snprintf(what, sizeof(what), "write to \"%s\"", db_names[db]);
		t->ret = mdb_to_store(t->s, rc, what);
	}
}

/* Delete the record the cursor of @p db stands on (cur_seek() found it). */
static void cur_del(struct store_txn *t, enum db_id db)
{
	MDB_cursor *cur = txn_cursor(t, db);
	char what[64];
	int rc;

	if (cur == NULL) {
		return;
	}
	rc = mdb_cursor_del(cur, 0);
	if (rc != MDB_SUCCESS) {
		snprintf(what, sizeof(what), "delete from \"%s\"", db_names[db]);
		t->ret = mdb_to_store(t->s, rc, what);
	}
}

static bool state_is_stored(unsigned state)
{
	switch (state) {
	case BT_ACTIVE:
	case BT_EXPIRED:
	case BT_RELEASED:
	case BT_ABANDONED:
	case BT_RESET:
	case BT_BACKUP:
		return true;
	default:
		return false;
	}
}

/* A key a change may carry: a known type and 1..DP_KEY_MAX bytes. */
static bool key_is_valid(const struct dp_client_key *k)
{
	return (k->type == DP_KEY_HWADDR || k->type == DP_KEY_CLIENT_ID) && k->len > 0 &&
	       k->len <= DP_KEY_MAX;
}

/* The key of a non-FREE change: valid, or empty for BACKUP (a binding with no client). */
static bool change_key_ok(const struct dp_change *c)
{
	return c->key.len == 0 ? c->state == BT_BACKUP : key_is_valid(&c->key);
}

/*
 * Does the partner have to hear of @p c? A change that applies the partner's own update is
 * never sent back, even if it also carries DP_CHANGE_FO.
 */
static bool change_is_fo(const struct dp_change *c)
{
	return (c->flags & (DP_CHANGE_FO | DP_CHANGE_PEER)) == DP_CHANGE_FO;
}

/* The header's length of record version @p v (the table above). */
static size_t rec_hdr_len(uint8_t v)
{
	return v == REC_V1 ? 20 : v == REC_V4 ? 25 : 21;
}

/* Encode @p c as a record of the version written now, with PET @p pet. */
static size_t rec_encode(const struct dp_change *c, uint32_t pet, uint8_t *buf)
{
	size_t off = rec_hdr_len(REC_V4);

	buf[0] = REC_V4;
	buf[1] = c->state;
	lw_put64(buf + 2, c->start);
	lw_put64(buf + 10, c->ends);
	buf[18] = c->key.len ? c->key.type : 0;
	buf[19] = c->key.len;
	buf[20] = c->hw_len;
	lw_put32(buf + REC_PET_OFF, pet);
	memcpy(buf + off, c->key.data, c->key.len);
	off += c->key.len;
	memcpy(buf + off, c->hw, c->hw_len);
	off += c->hw_len;
	return off + store_info_put(&c->info, buf + off);
}

/*
 * Check one "bindings" entry: @return NULL when it decodes, else why not. Pure.
 */
static const char *rec_check(const MDB_val *key, const MDB_val *val)
{
	const uint8_t *p = val->mv_data;
	size_t hdr, hw_len, info;

	if (key->mv_size != ADDR_LEN) {
		return "key is not a 4-byte address";
	}
	if (val->mv_size < 1) {
		return "empty record";
	}
	if (p[0] < REC_V1 || p[0] > REC_V4) {
		return "unknown record version";
	}
	hdr = rec_hdr_len(p[0]);
	if (val->mv_size < hdr) {
		return "record shorter than its header";
	}
	if (!state_is_stored(p[1])) {
		return "state is not a stored state";
	}
	if (p[0] != REC_V1 && p[19] == 0) {
		/* Only a BACKUP binding has no client, and then no key type either. */
		if (p[1] != BT_BACKUP) {
			return "empty client key in a binding that is not BACKUP";
		}
		if (p[18] != 0) {
			return "empty client key with a key type";
		}
	} else if (p[18] != DP_KEY_HWADDR && p[18] != DP_KEY_CLIENT_ID) {
		return "unknown client key type";
	}
	if (p[19] > DP_KEY_MAX) {
		return "client key longer than DP_KEY_MAX";
	}
	hw_len = p[0] != REC_V1 ? p[20] : 0;
	if (hw_len > DP_HW_MAX) {
		return "hardware address longer than DP_HW_MAX";
	}
	info = hdr + (size_t)p[19] + hw_len;
	if (p[0] >= REC_V3) {
		const uint8_t *l = p + info;

		if (val->mv_size < info + 4) {
			return "record shorter than its client information lengths";
		}
		if (l[0] > DP_INFO_HOST_MAX || l[1] > DP_INFO_VENDOR_MAX ||
		    l[2] > DP_INFO_CIRCUIT_MAX || l[3] > DP_INFO_POLICY_MAX) {
			return "client information longer than its field";
		}
		if (val->mv_size != info + 4 + (size_t)l[0] + l[1] + l[2] + l[3]) {
			return "record length does not match its key, hw and information lengths";
		}
	} else if (val->mv_size != info) {
		return p[0] == REC_V2 ? "record length does not match its key and hw lengths" :
					"record length does not match its key length";
	}
	return NULL;
}

/*
 * Decode one "bindings" entry. @return 0, or STORE_E_CORRUPT with the message set on @p s
 * (unless @p s is NULL).
 */
static int rec_decode(struct store *s, const MDB_val *key, const MDB_val *val,
		      struct store_binding *b)
{
	const uint8_t *p = val->mv_data;
	const char *why = rec_check(key, val);
	uint32_t addr = key->mv_size == ADDR_LEN ? lw_get32(key->mv_data) : 0;
	size_t hdr, hw_len, info;

	if (why != NULL) {
		goto bad;
	}
	hdr = rec_hdr_len(p[0]);
	hw_len = p[0] != REC_V1 ? p[20] : 0;
	info = hdr + (size_t)p[19] + hw_len;

	memset(b, 0, sizeof(*b));
	b->addr = addr;
	b->state = p[1];
	b->start = lw_get64(p + 2);
	b->ends = lw_get64(p + 10);
	b->key.type = p[18];
	b->key.len = p[19];
	memcpy(b->key.data, p + hdr, b->key.len);
	b->hw_len = (uint8_t)hw_len;
	memcpy(b->hw, p + hdr + b->key.len, hw_len);
	if (p[0] == REC_V4) {
		b->pet = lw_get32(p + REC_PET_OFF);
	}
	if (p[0] >= REC_V3) {
		const uint8_t *l = p + info, *q = l + 4;
		struct dp_client_info *in = &b->info;

		in->host_len = dp_info_text_set(in->host, DP_INFO_HOST_MAX, q, l[0]);
		q += l[0];
		in->vendor_len = dp_info_text_set(in->vendor, DP_INFO_VENDOR_MAX, q, l[1]);
		q += l[1];
		in->circuit_len = l[2];
		memcpy(in->circuit, q, l[2]);
		q += l[2];
		in->policy_len = dp_info_text_set(in->policy, DP_INFO_POLICY_MAX, q, l[3]);
	}
	return 0;

bad:
	if (!s) {
		return STORE_E_CORRUPT;
	}
	set_err(s, "binding %s (%zu bytes): %s",
		key->mv_size == ADDR_LEN ? lw_ip4_fmt(addr).s : "?", val->mv_size, why);
	return STORE_E_CORRUPT;
}

/*
 * The client key and the PET of the "bindings" record @p val, checked as rec_decode()
 * checks it, without decoding the rest: all that apply_change() needs of the record a
 * failover change replaces. @return 0, or STORE_E_CORRUPT.
 */
static int rec_key_pet(const MDB_val *key, const MDB_val *val, struct dp_client_key *k,
		       uint32_t *pet)
{
	const uint8_t *p = val->mv_data;

	if (rec_check(key, val) != NULL) {
		return STORE_E_CORRUPT;
	}
	k->type = p[18];
	k->len = p[19];
	memcpy(k->data, p + rec_hdr_len(p[0]), k->len);
	*pet = p[0] == REC_V4 ? lw_get32(p + REC_PET_OFF) : 0;
	return 0;
}

static bool key_equal(const struct dp_client_key *a, const struct dp_client_key *b)
{
	return a->type == b->type && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

#define GEN_LEN 8

/* The generation an "unacked" value holds: empty (stores of before generations) is 0. */
static bool gen_decode(const MDB_val *v, uint64_t *gen)
{
	if (v->mv_size == 0) {
		*gen = 0;
		return true;
	}
	if (v->mv_size != GEN_LEN) {
		return false;
	}
	*gen = lw_get64(v->mv_data);
	return true;
}

static void apply_change(struct store_txn *t, const struct dp_change *c, uint64_t *gen_out)
{
	uint8_t akey[ADDR_LEN], rec[REC_MAX_LEN];
	struct dp_client_key nk = c->key, ok;
	uint32_t old_pet, pet;
	bool found;
	MDB_val k, v;
	size_t len;

	lw_put32(akey, c->addr);
	k.mv_size = ADDR_LEN;
	k.mv_data = akey;

	/* One search: the cursor stays on the address's record for the delete or the write. */
	found = cur_seek(t, DB_BINDINGS, akey, ADDR_LEN, &v);
	if (c->state == BT_FREE) {
		if (found) {
			cur_del(t, DB_BINDINGS);
		}
	} else {
		if (nk.len == 0) {
			nk.type = 0;	/* as rec_encode() writes it */
		}
		/* A failover change never lowers the PET of the same client's binding (store.h);
		 * another client's gets its own: the partner's acknowledgement was of the
		 * previous client's lease (review17). A previous record that does not decode
		 * has none, and is overwritten: refusing to write would wedge the address. */
		pet = c->pet;
		if (found && (c->flags & (DP_CHANGE_FO | DP_CHANGE_PEER)) &&
		    rec_key_pet(&k, &v, &ok, &old_pet) == 0 && old_pet > pet &&
		    key_equal(&ok, &nk)) {
			pet = old_pet;
		}
		len = rec_encode(c, pet, rec);
		cur_put(t, DB_BINDINGS, akey, ADDR_LEN, rec, len, found);
	}

	/* In this transaction: the binding is never durable without its unacked mark, whose
	 * generation is one more than the mark it replaces (a value that does not decode is
	 * replaced as if it were 0). */
	if (change_is_fo(c)) {
		uint64_t gen = 0;
		uint8_t gval[GEN_LEN];

		if (txn_get(t, DB_UNACKED, akey, ADDR_LEN, &v) && !gen_decode(&v, &gen)) {
			gen = 0;
		}
		gen++;
		lw_put64(gval, gen);
		txn_put(t, DB_UNACKED, akey, ADDR_LEN, gval, GEN_LEN);
		if (gen_out != NULL) {
			*gen_out = gen;
		}
	} else if (gen_out != NULL) {
		*gen_out = 0;
	}
}

bool store_change_valid(const struct dp_change *c)
{
	return c->state == BT_FREE ||
	       (state_is_stored(c->state) && change_key_ok(c) && c->hw_len <= DP_HW_MAX);
}

static int check_batch(struct store *s, const struct dp_change *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i].state == BT_FREE) {
			continue;
		}
		if (!state_is_stored(c[i].state)) {
			set_err(s, "change %zu (%s): state %u is never stored", i,
				lw_ip4_fmt(c[i].addr).s, c[i].state);
			return -EINVAL;
		}
		if (!change_key_ok(&c[i])) {
			set_err(s, "change %zu (%s): invalid client key (type %u, length %u%s)", i,
				lw_ip4_fmt(c[i].addr).s, c[i].key.type, c[i].key.len,
				c[i].key.len == 0 ? ": only BACKUP may have none" : "");
			return -EINVAL;
		}
		if (c[i].hw_len > DP_HW_MAX) {
			set_err(s, "change %zu (%s): hardware address of %u bytes (at most %d)", i,
				lw_ip4_fmt(c[i].addr).s, c[i].hw_len, DP_HW_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

/* Double the map, up to max_map_size. No transaction of this process may be open. */
static int grow_map(struct store *s)
{
	uint64_t want;
	int rc;

	if (s->map_size >= s->max_map_size) {
		set_err(s, "store full: the map is at its limit of %" PRIu64 " bytes "
			"(max_map_size)", s->map_size);
		return STORE_E_FULL;
	}
	want = s->map_size > s->max_map_size / 2 ? s->max_map_size : s->map_size * 2;
	rc = mdb_env_set_mapsize(s->env, (size_t)want);
	if (rc != MDB_SUCCESS) {
		return mdb_to_store(s, rc, "grow the map");
	}
	refresh_map_size(s);
	return 0;
}

/*
 * Run @p fill in one write transaction and commit it. A full map aborts the transaction,
 * which leaves nothing behind, so the map is grown and @p fill runs again from the start.
 * @return 0 or a negative store error (then nothing of it is written).
 */
static int write_txn_locked(struct store *s, void (*fill)(struct store_txn *t, const void *arg),
			    const void *arg)
{
	struct store_txn t;
	int ret;

	for (;;) {
		txn_begin(s, &t, false);
		if (!t.ret) {
			fill(&t, arg);
		}
		ret = txn_commit(&t);
		if (ret != STORE_E_FULL) {
			return ret;
		}
		ret = grow_map(s);
		if (ret) {
			return ret;
		}
	}
}

struct batch {
	const struct dp_change *c;
	size_t n;
	uint64_t *gens;		/* NULL: not wanted */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void fill_batch(struct store_txn *t, const void *arg)
{
	const struct batch *b = arg;
	uint64_t t0 = mono_ns();
	size_t i;

	for (i = 0; i < b->n && !t->ret; i++) {
		apply_change(t, &b->c[i], b->gens != NULL ? &b->gens[i] : NULL);
	}
	t->s->last_apply_ns = mono_ns() - t0;
}

uint64_t store_last_apply_ns(const struct store *s)
{
	return s->last_apply_ns;
}

/* A failure store_inject_failure() armed: take one. @return its error, or 0 (none armed).
 * Any thread; the message is the caller's to set. */
static int take_injected(struct store *s)
{
	unsigned n = atomic_load_explicit(&s->inject_n, memory_order_relaxed);
	int err;

	do {
		if (n == 0) {
			return 0;
		}
	} while (!atomic_compare_exchange_weak_explicit(&s->inject_n, &n, n - 1,
							memory_order_relaxed,
							memory_order_relaxed));
	err = atomic_load_explicit(&s->inject_err, memory_order_relaxed);
	return err < 0 ? err : STORE_E_IO;
}

static int write_batch_locked(struct store *s, const struct dp_change *c, size_t n,
			      uint64_t *gens)
{
	struct batch b = { .c = c, .n = n, .gens = gens };
	int ret;

	ret = take_injected(s);
	if (ret != 0) {
		set_err(s, "injected failure (%s)", store_strerror(ret));
		return ret;
	}
	ret = check_batch(s, c, n);
	if (ret) {
		return ret;
	}
	if (n == 0) {
		return 0;
	}
	return write_txn_locked(s, fill_batch, &b);
}

static int refuse(struct store *s, const char *reason)
{
	set_err(s, "%s; refusing to open it", reason);
	return STORE_E_SCHEMA;
}

/* An existing environment: it must be ours, with our schema and layout, or the layout
 * before it (*old_layout set: it still has "clients"). */
static int check_meta(struct store *s, struct store_txn *t, bool *old_layout)
{
	char msg[ERRMSG_LEN];
	MDB_val v;
	int rc;

	rc = mdb_dbi_open(t->txn, db_names[DB_META], 0, &s->dbi[DB_META]);
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
		return refuse(s, "holds data but no leasewire meta database (not a leasewire "
			      "store?)");
	}
	if (rc != MDB_SUCCESS) {
		return mdb_to_store(s, rc, "open database \"meta\"");
	}

	if (!txn_get(t, DB_META, META_SCHEMA, strlen(META_SCHEMA), &v)) {
		return t->ret ? t->ret : refuse(s, "meta has no schema version");
	}
	if (v.mv_size != 4) {
		snprintf(msg, sizeof(msg), "meta schema version has %zu bytes, not 4", v.mv_size);
		return refuse(s, msg);
	}
	if (lw_get32(v.mv_data) != STORE_SCHEMA) {
		snprintf(msg, sizeof(msg), "store schema %" PRIu32 " is not %d (written by another "
			 "leasewire version)", lw_get32(v.mv_data), STORE_SCHEMA);
		return refuse(s, msg);
	}

	if (!txn_get(t, DB_META, META_LAYOUT, strlen(META_LAYOUT), &v)) {
		return t->ret ? t->ret : refuse(s, "meta has no layout");
	}
	*old_layout = v.mv_size == strlen(LAYOUT_CLIENTS) &&
		      memcmp(v.mv_data, LAYOUT_CLIENTS, v.mv_size) == 0;
	if (!*old_layout &&
	    (v.mv_size != strlen(LAYOUT) || memcmp(v.mv_data, LAYOUT, v.mv_size) != 0)) {
		snprintf(msg, sizeof(msg), "store layout \"%.*s\" is not \"%s\" (written by "
			 "another leasewire version)", v.mv_size > 200 ? 200 : (int)v.mv_size,
			 (const char *)v.mv_data, LAYOUT);
		return refuse(s, msg);
	}
	return 0;
}

/*
 * The key order of "bindings" and "unacked" (and of the old "clients"): LMDB's default order (memcmp over the
 * shorter length, then the shorter key first), so that a store reads the same whoever opens
 * it (mdb_dump, an older leasewired), computed without LMDB's two calls per comparison
 * (mdb_cmp_memn, then memcmp through the PLT). Key comparisons are the largest single cost
 * of a batch's B-tree work: a 4-byte address is one big-endian load on each side.
 */
static int key_cmp(const MDB_val *a, const MDB_val *b)
{
	const uint8_t *p = a->mv_data, *q = b->mv_data;
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;

	if (a->mv_size == ADDR_LEN && b->mv_size == ADDR_LEN) {
		uint32_t x = lw_get32(p), y = lw_get32(q);

		return (x > y) - (x < y);
	}
	for (; n >= 8; n -= 8, p += 8, q += 8) {
		uint64_t x = lw_get64(p), y = lw_get64(q);

		if (x != y) {
			return x < y ? -1 : 1;
		}
	}
	for (; n > 0; n--, p++, q++) {
		if (*p != *q) {
			return *p < *q ? -1 : 1;
		}
	}
	return (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

/*
 * The upgrade from LAYOUT_CLIENTS, in the transaction @p t that opened the databases: the
 * "clients" database goes (its pages to the free list) and "meta" says LAYOUT. Either both
 * commit or neither. A "clients" that is not there has nothing to drop.
 */
static int drop_clients(struct store *s, struct store_txn *t)
{
	MDB_dbi dbi;
	MDB_stat st;
	int rc;

	rc = mdb_dbi_open(t->txn, DB_NAME_CLIENTS, 0, &dbi);
	if (rc == MDB_SUCCESS) {
		rc = mdb_stat(t->txn, dbi, &st);
		if (rc == MDB_SUCCESS) {
			rc = mdb_drop(t->txn, dbi, 1);
		}
		if (rc != MDB_SUCCESS) {
			return mdb_to_store(s, rc, "drop the unused \"clients\" database");
		}
		snprintf(s->open_note, sizeof(s->open_note), "store layout upgraded: the unused "
			 "client index (\"clients\", %zu entries) dropped", st.ms_entries);
	} else if (rc == MDB_NOTFOUND) {
		snprintf(s->open_note, sizeof(s->open_note), "store layout upgraded (it had no "
			 "\"clients\" database to drop)");
	} else {
		return mdb_to_store(s, rc, "open database \"clients\"");
	}
	txn_put(t, DB_META, META_LAYOUT, strlen(META_LAYOUT), LAYOUT, strlen(LAYOUT));
	return t->ret;
}

/* The first write transaction: check (or, in a fresh environment, write) meta; open dbs. */
static int open_dbs(struct store *s)
{
	struct store_txn t;
	MDB_dbi main_dbi;
	MDB_stat st;
	uint8_t schema[4];
	char what[64];
	bool fresh, old_layout = false;
	int i, rc, ret;

	txn_begin(s, &t, false);
	if (t.ret) {
		return t.ret;
	}
	rc = mdb_dbi_open(t.txn, NULL, 0, &main_dbi);
	if (rc == MDB_SUCCESS) {
		rc = mdb_stat(t.txn, main_dbi, &st);
	}
	if (rc != MDB_SUCCESS) {
		ret = mdb_to_store(s, rc, "read the main database");
		goto fail;
	}
	/* Nothing at all in the main database: no named database, no data. */
	fresh = st.ms_entries == 0;

	if (!fresh) {
		ret = check_meta(s, &t, &old_layout);
		if (ret) {
			goto fail;
		}
	}
	for (i = 0; i < DB_COUNT; i++) {
		rc = mdb_dbi_open(t.txn, db_names[i], fresh ? MDB_CREATE : 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
			/* The layout lists it, yet it is not there: not what we wrote. */
			snprintf(what, sizeof(what), "database \"%s\" is missing", db_names[i]);
			ret = refuse(s, what);
			goto fail;
		}
		if (rc == MDB_SUCCESS &&
		    (i == DB_BINDINGS || i == DB_UNACKED)) {
			rc = mdb_set_compare(t.txn, s->dbi[i], key_cmp);
		}
		if (rc != MDB_SUCCESS) {
			snprintf(what, sizeof(what), "open database \"%s\"", db_names[i]);
			ret = mdb_to_store(s, rc, what);
			goto fail;
		}
	}
	if (fresh) {
		lw_put32(schema, STORE_SCHEMA);
		txn_put(&t, DB_META, META_SCHEMA, strlen(META_SCHEMA), schema, sizeof(schema));
		txn_put(&t, DB_META, META_LAYOUT, strlen(META_LAYOUT), LAYOUT, strlen(LAYOUT));
	}
	if (old_layout && !s->reader) {
		ret = drop_clients(s, &t);
		if (ret) {
			goto fail;
		}
	}
	/* Nothing is dirty in an existing environment of our layout: LMDB commits it without
	 * a write. */
	return txn_commit(&t);

fail:
	txn_abort(&t);
	return ret;
}

/*
 * Create and open the environment of s->dir with s->env_flags and s->map_size, then its
 * databases. @return 0, or a store error with s->env NULL. Lock held (or not yet shared).
 */
static int env_open(struct store *s)
{
	int rc, ret;

	rc = mdb_env_create(&s->env);
	if (rc != MDB_SUCCESS) {
		s->env = NULL;
		return mdb_to_store(s, rc, "create the environment");
	}
	rc = mdb_env_set_maxdbs(s->env, MAX_DBS);
	if (rc == MDB_SUCCESS) {
		rc = mdb_env_set_mapsize(s->env, (size_t)s->map_size);
	}
	if (rc == MDB_SUCCESS) {
		rc = mdb_env_open(s->env, s->dir, s->env_flags, 0600);
	}
	if (rc != MDB_SUCCESS) {
		ret = mdb_to_store(s, rc, "open the environment");
		goto fail;
	}
	refresh_map_size(s);
	/* Only an upgrade writes here (drop_clients()): its transaction on a store whose map
	 * its data fills aborts with STORE_E_FULL, the map grows and it runs again. */
	while ((ret = open_dbs(s)) == STORE_E_FULL && (ret = grow_map(s)) == 0) {
	}
	if (ret == 0) {
		return 0;
	}
fail:
	mdb_env_close(s->env);
	s->env = NULL;
	return ret;
}

/* Close the environment and open it again (after MDB_PANIC). Lock held. */
static int env_reopen(struct store *s)
{
	if (s->spare_rtxn != NULL) {
		mdb_txn_abort(s->spare_rtxn);
		s->spare_rtxn = NULL;
	}
	if (s->env != NULL) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
	atomic_fetch_add_explicit(&s->reopens, 1, memory_order_relaxed);
	return env_open(s);
}

uint64_t store_reopens(const struct store *s)
{
	/* The journal's environment is given up and reopened the same way (journal.c). */
	return atomic_load_explicit(&s->reopens, memory_order_relaxed) +
	       (s->jrn != NULL ? journal_reopens(s->jrn) : 0);
}

void store_set_max_map_size(struct store *s, uint64_t max_map_size)
{
	pthread_mutex_lock(&s->lock);
	s->max_map_size = max_map_size ? max_map_size : DEFAULT_MAX_MAP_SIZE;
	pthread_mutex_unlock(&s->lock);
}

static int open_journal(struct store *s, const struct store_opts *o, const char *dir);

/*
 * Make the store's directory entries durable, before anything is committed: a file's
 * fdatasync() (LMDB's commit) does not cover the entry that names it, so until its directory
 * is synced a power cut after an ACK could take back the store's directory, or data.mdb, with
 * the acknowledged bindings in it. @p in_dir false: the store directory's own entry (its
 * parent is synced, after the mkdir); true: the entries LMDB's files have in it (the store
 * directory is synced, after mdb_env_open() created data.mdb and lock.mdb).
 * At every open, not only after a creation of this run's: mdb_env_open() does not say
 * whether it created the file, and a run killed before its sync, or an older binary that
 * never synced, left entries of unknown durability for good (the journal's directory had
 * that bug, review14). In both sync modes: relaxed may lose the latest commits, never the
 * store. Two directory fsyncs per start (about 0.1 ms each here), none per commit. @return 0 or STORE_E_IO (the message names the directory synced).
 */
static int sync_entries(struct store *s, bool in_dir)
{
	char parent[4096];
	int ret;

	if (in_dir) {
		ret = store_dir_sync(s->dir);
		if (ret != 0) {
			set_err(s, "cannot sync the directory, the entries of data.mdb and lock.mdb: "
				"%s", strerror(-ret));
			return STORE_E_IO;
		}
		return 0;
	}
	ret = store_dir_parent(s->dir, parent, sizeof(parent));
	if (ret == 0) {
		ret = store_dir_sync(parent);
	}
	if (ret != 0) {
		set_err(s, "cannot sync %s, the directory's entry: %s", parent, strerror(-ret));
		return STORE_E_IO;
	}
	return 0;
}

struct store *store_open(const char *dir, const struct store_opts *o, char *err, size_t errlen)
{
	unsigned flags = MDB_NOTLS;
	bool reader = o != NULL && o->reader && !o->journal;	/* one that keeps none */
	struct store *s;

	s = calloc(1, sizeof(*s));
	if (!s) {
		goto nomem;
	}
	s->dir = strdup(dir);
	if (!s->dir) {
		free(s);
		goto nomem;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->jlock_fd = -1;
	s->reader = reader;
	s->map_size = o && o->map_size ? o->map_size : DEFAULT_MAP_SIZE;
	s->max_map_size = o && o->max_map_size ? o->max_map_size : DEFAULT_MAX_MAP_SIZE;
	if (s->map_size > s->max_map_size) {
		set_err(s, "map_size %" PRIu64 " is larger than max_map_size %" PRIu64,
			s->map_size, s->max_map_size);
		goto fail;
	}
	if (o && o->sync == STORE_SYNC_RELAXED) {
		/* Commits stay ordered, but a power cut loses the latest ones (see store.h). */
		flags |= MDB_NOSYNC;
	}

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		set_err(s, "cannot create the directory: %s", strerror(errno));
		goto fail;
	}
	/* A reader syncs them only before a replay of its own (open_journal()). */
	if (!reader && sync_entries(s, false) != 0) {
		goto fail;
	}
	s->env_flags = flags;
	if (o != NULL && o->journal && o->sync == STORE_SYNC_STRICT) {
		s->prefill_ahead = o->prefill_ahead;
	}
	if (env_open(s) != 0 || (!reader && sync_entries(s, true) != 0)) {
		goto fail;
	}
	if (open_journal(s, o, dir) != 0) {
		goto fail;
	}
	return s;

fail:
	if (err && errlen) {
		snprintf(err, errlen, "%s", s->errmsg);
	}
	store_close(s);
	return NULL;
nomem:
	if (err && errlen) {
		snprintf(err, errlen, "%s: out of memory", dir);
	}
	return NULL;
}

void store_close(struct store *s)
{
	if (!s) {
		return;
	}
	journal_close(s->jrn);
	if (s->jlock_fd >= 0) {
		close(s->jlock_fd);
	}
	if (s->spare_rtxn) {
		mdb_txn_abort(s->spare_rtxn);
	}
	if (s->env) {
		mdb_env_close(s->env);	/* closes the database handles too */
	}
	pthread_mutex_destroy(&s->lock);
	free(s->apply_seqs);
	free(s->dir);
	free(s);
}

/*
 * Walk database @p db in key order inside one read transaction, calling @p each(s, k, v, arg)
 * for every record; a non-zero return stops the walk and is returned. Lock held.
 */
static int walk_locked(struct store *s, int db, const char *name,
		       int (*each)(struct store *s, const MDB_val *k, const MDB_val *v, void *arg),
		       void *arg)
{
	struct store_txn t;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char what[64];
	int rc, ret;

	txn_begin(s, &t, true);
	if (t.ret) {
		return t.ret;
	}
	rc = mdb_cursor_open(t.txn, s->dbi[db], &cur);
	if (rc != MDB_SUCCESS) {
		cur = NULL;
		snprintf(what, sizeof(what), "open a cursor on \"%s\"", name);
		ret = mdb_to_store(s, rc, what);
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		ret = each(s, &k, &v, arg);
		if (ret) {
			goto out;
		}
	}
	snprintf(what, sizeof(what), "walk \"%s\"", name);
	ret = rc == MDB_NOTFOUND ? 0 : mdb_to_store(s, rc, what);
out:
	if (cur) {
		mdb_cursor_close(cur);
	}
	txn_end_read(&t);
	return ret;
}

struct load_walk {
	int (*cb)(const struct store_binding *b, void *arg);
	void *arg;
};

static int load_each(struct store *s, const MDB_val *k, const MDB_val *v, void *arg)
{
	const struct load_walk *w = arg;
	struct store_binding b;
	int ret = rec_decode(s, k, v, &b);

	return ret ? ret : w->cb(&b, w->arg);
}

static int load_locked(struct store *s, int (*cb)(const struct store_binding *b, void *arg), void *arg)
{
	struct load_walk w = {cb, arg};

	return walk_locked(s, DB_BINDINGS, "bindings", load_each, &w);
}

static int get_locked(struct store *s, uint32_t addr, struct store_binding *out)
{
	struct store_txn t;
	uint8_t akey[ADDR_LEN];
	MDB_val k = { .mv_size = ADDR_LEN, .mv_data = akey };
	MDB_val v;
	int ret;

	lw_put32(akey, addr);
	txn_begin(s, &t, true);
	if (txn_get(&t, DB_BINDINGS, akey, ADDR_LEN, &v)) {
		ret = rec_decode(s, &k, &v, out);
	} else {
		ret = t.ret ? t.ret : -ENOENT;
	}
	txn_end_read(&t);
	return ret;
}

static uint64_t count_locked(struct store *s, enum db_id db)
{
	struct store_txn t;
	MDB_stat st;
	uint64_t n = 0;
	int rc;

	txn_begin(s, &t, true);
	if (t.ret) {
		return 0;
	}
	rc = mdb_stat(t.txn, s->dbi[db], &st);
	if (rc == MDB_SUCCESS) {
		n = st.ms_entries;
	} else {
		char what[64];

		snprintf(what, sizeof(what), "count \"%s\"", db_names[db]);
		mdb_to_store(s, rc, what);
	}
	txn_end_read(&t);
	return n;
}

const char *store_open_note(const struct store *s)
{
	return s->open_note;
}

const char *store_errmsg(const struct store *s)
{
	/* The committer may be writing errmsg right now: copy it under the lock. */
	static _Thread_local char copy[ERRMSG_LEN];

	if (!s) {
		return "no store";
	}
	pthread_mutex_lock((pthread_mutex_t *)&s->lock);
	snprintf(copy, sizeof(copy), "%s", s->errmsg[0] ? s->errmsg : "no error");
	pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
	return copy;
}

const char *store_prefill_errmsg(const struct store *s)
{
	static _Thread_local char copy[ERRMSG_LEN];

	pthread_mutex_lock((pthread_mutex_t *)&s->lock);
	snprintf(copy, sizeof(copy), "%s", s->pf_errmsg[0] ? s->pf_errmsg : "no error");
	pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
	return copy;
}

/* An @p err that is not negative would read as success: such failures report STORE_E_IO. */
void store_inject_failure(struct store *s, unsigned n, int err)
{
	atomic_store_explicit(&s->inject_err, err, memory_order_relaxed);
	atomic_store_explicit(&s->inject_n, n, memory_order_relaxed);
}

void store_inject_delay(struct store *s, unsigned ms)
{
	if (s->jrn != NULL) {
		journal_inject_delay(s->jrn, ms);
	}
}

const char *store_commit_phase(const struct store *s)
{
	return s->jrn != NULL ? journal_phase_name(journal_phase(s->jrn)) : "write";
}

int store_write_batch_gen(struct store *s, const struct dp_change *c, size_t n, uint64_t *gens)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = write_batch_locked(s, c, n, gens);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_write_batch(struct store *s, const struct dp_change *c, size_t n)
{
	return store_write_batch_gen(s, c, n, NULL);
}

int store_load(struct store *s, int (*cb)(const struct store_binding *b, void *arg), void *arg)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = load_locked(s, cb, arg);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_get(struct store *s, uint32_t addr, struct store_binding *out)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = get_locked(s, addr, out);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Entries of @p db, under the lock (0 after an error, the message set). */
static uint64_t count_db(struct store *s, enum db_id db)
{
	uint64_t ret;

	pthread_mutex_lock(&s->lock);
	ret = count_locked(s, db);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

uint64_t store_count(struct store *s)
{
	return count_db(s, DB_BINDINGS);
}

/* write_txn_locked() under the store's lock. */
static int write_txn(struct store *s, void (*fill)(struct store_txn *t, const void *arg),
		     const void *arg)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = write_txn_locked(s, fill, arg);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/*
 * Look @p key up in @p db in one read transaction under the store's lock and hand the value
 * to @p take, which runs under the lock: the value points into the map, valid only during the
 * call. @return take's value, -ENOENT when the key is missing, or a store error.
 */
static int read_one(struct store *s, enum db_id db, const void *key, size_t klen,
		    int (*take)(struct store *s, const MDB_val *v, void *arg), void *arg)
{
	struct store_txn t;
	MDB_val v;
	int ret;

	pthread_mutex_lock(&s->lock);
	txn_begin(s, &t, true);
	if (txn_get(&t, db, key, klen, &v)) {
		ret = take(s, &v, arg);
	} else {
		ret = t.ret ? t.ret : -ENOENT;
	}
	txn_end_read(&t);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static const char CONFIG_RUNNING[] = "running";
static const char CONFIG_FINGERPRINT[] = "file-fingerprint";

struct config_rec {
	const char *json;
	size_t len;
	uint8_t fp[8];
};

static void fill_config(struct store_txn *t, const void *arg)
{
	const struct config_rec *r = arg;

	txn_put(t, DB_CONFIG, CONFIG_RUNNING, sizeof(CONFIG_RUNNING) - 1, r->json, r->len);
	txn_put(t, DB_CONFIG, CONFIG_FINGERPRINT, sizeof(CONFIG_FINGERPRINT) - 1, r->fp,
		sizeof(r->fp));
}

int store_config_put(struct store *s, const char *json, size_t len, uint64_t fingerprint)
{
	struct config_rec r = { .json = json, .len = len };

	lw_put64(r.fp, fingerprint);
	return write_txn(s, fill_config, &r);
}

int store_config_get(struct store *s, char **json, uint64_t *fingerprint)
{
	struct store_txn t;
	MDB_val v;
	int ret = 0;

	*json = NULL;
	pthread_mutex_lock(&s->lock);
	txn_begin(s, &t, true);
	if (txn_get(&t, DB_CONFIG, CONFIG_FINGERPRINT, sizeof(CONFIG_FINGERPRINT) - 1, &v) &&
	    v.mv_size == 8) {
		*fingerprint = lw_get64(v.mv_data);
		if (txn_get(&t, DB_CONFIG, CONFIG_RUNNING, sizeof(CONFIG_RUNNING) - 1, &v)) {
			*json = malloc(v.mv_size + 1);
			if (*json == NULL) {
				ret = -ENOMEM;
			} else {
				memcpy(*json, v.mv_data, v.mv_size);
				(*json)[v.mv_size] = '\0';
			}
		}
	}
	if (ret == 0 && *json == NULL) {
		ret = t.ret ? t.ret : -ENOENT;
	}
	txn_end_read(&t);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* --- the wall clock's forward-step grace (worker.h) --- */

static const char META_CLOCK_GRACE[] = "clock-grace";

static void fill_clock_grace(struct store_txn *t, const void *arg)
{
	txn_put(t, DB_META, META_CLOCK_GRACE, sizeof(META_CLOCK_GRACE) - 1, arg, 16);
}

int store_clock_grace_put(struct store *s, uint64_t grace_s, uint64_t until)
{
	uint8_t v[16];

	lw_put64(v, grace_s);
	lw_put64(v + 8, until);
	return write_txn(s, fill_clock_grace, v);
}

static int take_clock_grace(struct store *s, const MDB_val *v, void *arg)
{
	uint64_t *out = arg;	/* grace seconds, until */

	if (v->mv_size != 16) {
		set_err(s, "meta \"%s\": %zu bytes, not 16", META_CLOCK_GRACE, v->mv_size);
		return STORE_E_CORRUPT;
	}
	out[0] = lw_get64(v->mv_data);
	out[1] = lw_get64((const uint8_t *)v->mv_data + 8);
	return 0;
}

int store_clock_grace_get(struct store *s, uint64_t *grace_s, uint64_t *until)
{
	uint64_t g[2] = {0, 0};
	int ret;

	ret = read_one(s, DB_META, META_CLOCK_GRACE, sizeof(META_CLOCK_GRACE) - 1,
		       take_clock_grace, g);
	if (ret == -ENOENT) {
		ret = 0;	/* never kept: no grace */
	}
	*grace_s = g[0];
	*until = g[1];
	return ret;
}

const char *store_lmdb_version(void)
{
	return mdb_version(NULL, NULL, NULL);
}

/* --- failover: the relationship records and the unacked set --- */

/* @return the length of a valid relationship name, or 0 (and the message set). */
static size_t fo_name_len(struct store *s, const char *name)
{
	size_t len = name ? strnlen(name, FO_NAME_MAX + 1) : 0;

	if (len == 0 || len > FO_NAME_MAX) {
		set_err(s, "failover relationship name must have 1 to %d bytes", FO_NAME_MAX);
		return 0;
	}
	return len;
}

struct fo_rec {
	const char *name;
	size_t name_len;
	const void *val;
	size_t len;
};

static void fill_fo(struct store_txn *t, const void *arg)
{
	const struct fo_rec *r = arg;

	txn_put(t, DB_FAILOVER, r->name, r->name_len, r->val, r->len);
}

int store_fo_put(struct store *s, const char *name, const void *val, size_t len)
{
	struct fo_rec r = { .name = name, .val = val, .len = len };
	int ret = -EINVAL;

	pthread_mutex_lock(&s->lock);
	r.name_len = fo_name_len(s, name);
	if (r.name_len == 0) {
		goto out;
	}
	if (val == NULL || len == 0 || len > FO_VAL_MAX) {
		set_err(s, "failover record of \"%s\": %zu bytes (1 to %d)", name, len,
			FO_VAL_MAX);
		goto out;
	}
	ret = write_txn_locked(s, fill_fo, &r);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

struct fo_out {
	void *buf;
	size_t cap;
	size_t *len;
};

static int take_fo(struct store *s, const MDB_val *v, void *arg)
{
	const struct fo_out *o = arg;

	(void)s;
	*o->len = v->mv_size;
	if (v->mv_size > o->cap) {
		return -ENOSPC;
	}
	if (v->mv_size > 0) {
		memcpy(o->buf, v->mv_data, v->mv_size);	/* never memcpy(NULL, .., 0) */
	}
	return 0;
}

int store_fo_get(struct store *s, const char *name, void *buf, size_t cap, size_t *len)
{
	struct fo_out o = {.buf = buf, .cap = cap, .len = len};
	size_t nlen;

	pthread_mutex_lock(&s->lock);
	nlen = fo_name_len(s, name);
	if (nlen != 0 && (len == NULL || (buf == NULL && cap > 0))) {
		set_err(s, "store_fo_get: no length or buffer");
		nlen = 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (nlen == 0) {
		return -EINVAL;
	}
	return read_one(s, DB_FAILOVER, name, nlen, take_fo, &o);
}

struct unacked_walk {
	int (*cb)(uint32_t addr, uint64_t gen, void *arg);
	void *arg;
};

static int unacked_each(struct store *s, const MDB_val *k, const MDB_val *v, void *arg)
{
	const struct unacked_walk *w = arg;
	uint64_t gen;

	if (k->mv_size != ADDR_LEN) {
		set_err(s, "unacked entry with a %zu-byte key, not a 4-byte address", k->mv_size);
		return STORE_E_CORRUPT;
	}
	if (!gen_decode(v, &gen)) {
		set_err(s, "unacked entry %s with a %zu-byte value, not a generation",
			lw_ip4_fmt(lw_get32(k->mv_data)).s, v->mv_size);
		return STORE_E_CORRUPT;
	}
	return w->cb(lw_get32(k->mv_data), gen, w->arg);
}

static int unacked_load_locked(struct store *s,
			       int (*cb)(uint32_t addr, uint64_t gen, void *arg), void *arg)
{
	struct unacked_walk w = {cb, arg};

	return walk_locked(s, DB_UNACKED, "unacked", unacked_each, &w);
}

int store_unacked_load(struct store *s, int (*cb)(uint32_t addr, uint64_t gen, void *arg),
		       void *arg)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = unacked_load_locked(s, cb, arg);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

struct addr_list {
	const uint32_t *a;
	const uint64_t *gen;	/* NULL: delete whatever the generation */
	size_t n;
	const struct store_pet *pets;
	size_t n_pets;
};

/* Raise the PET of @p p's binding, if it has one that decodes, to p->pet. */
static void pet_raise(struct store_txn *t, const struct store_pet *p)
{
	uint8_t akey[ADDR_LEN], rec[REC_MAX_LEN];
	MDB_val k = { .mv_size = ADDR_LEN, .mv_data = akey }, v;
	struct store_binding b;
	struct dp_change c;

	lw_put32(akey, p->addr);
	if (!txn_get(t, DB_BINDINGS, akey, ADDR_LEN, &v) || rec_decode(NULL, &k, &v, &b) != 0 ||
	    b.pet >= p->pet) {
		return;
	}
	memset(&c, 0, sizeof(c));
	c.state = b.state;
	c.start = b.start;
	c.ends = b.ends;
	c.key = b.key;
	c.hw_len = b.hw_len;
	memcpy(c.hw, b.hw, b.hw_len);
	c.info = b.info;
	txn_put(t, DB_BINDINGS, akey, ADDR_LEN, rec, rec_encode(&c, p->pet, rec));
}

/* Compare-and-delete, in the one write transaction: a mark whose generation is no longer the
 * acknowledged one belongs to a change committed since, and stays. */
static void fill_unacked_del(struct store_txn *t, const void *arg)
{
	const struct addr_list *l = arg;
	uint8_t akey[ADDR_LEN];
	uint64_t gen;
	MDB_val v;
	size_t i;

	for (i = 0; i < l->n && !t->ret; i++) {
		lw_put32(akey, l->a[i]);
		if (l->gen != NULL && (!txn_get(t, DB_UNACKED, akey, ADDR_LEN, &v) ||
				       !gen_decode(&v, &gen) || gen != l->gen[i])) {
			continue;
		}
		txn_del(t, DB_UNACKED, akey, ADDR_LEN);
	}
	for (i = 0; i < l->n_pets && !t->ret; i++) {
		pet_raise(t, &l->pets[i]);
	}
}

int store_unacked_del_pet(struct store *s, const uint32_t *addrs, const uint64_t *gens, size_t n,
			  const struct store_pet *pets, size_t n_pets)
{
	struct addr_list l = { .a = addrs, .gen = gens, .n = n, .pets = pets, .n_pets = n_pets };
	int ret;

	if (n == 0 && n_pets == 0) {
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	if ((addrs == NULL && n > 0) || (pets == NULL && n_pets > 0)) {
		set_err(s, "store_unacked_del: no addresses or no PETs");
		ret = -EINVAL;
	} else {
		ret = write_txn_locked(s, fill_unacked_del, &l);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_unacked_del(struct store *s, const uint32_t *addrs, const uint64_t *gens, size_t n)
{
	return store_unacked_del_pet(s, addrs, gens, n, NULL, 0);
}

uint64_t store_unacked_count(struct store *s)
{
	return count_db(s, DB_UNACKED);
}

/* --- the journal: strict durability's commit path (journal.h), and its second stage --- */

static const char META_APPLIED[] = "journal-applied";
#define JOURNAL_DIR		"journal"
#define REPLAY_CHUNK		16384

/* The journal's sequence that the bindings hold, read inside the transaction @p t (the write
 * transaction that moves it, but for applied_read()). */
static uint64_t applied_get(struct store_txn *t)
{
	MDB_val v;

	if (txn_get(t, DB_META, META_APPLIED, sizeof(META_APPLIED) - 1, &v) && v.mv_size == 8) {
		return lw_get64(v.mv_data);
	}
	return 0;
}

/* The journal's sequence that the bindings hold, read in a read transaction (store_open(),
 * before the store is shared). @return 0 or a store error. */
static int applied_read(struct store *s, uint64_t *mark)
{
	struct store_txn t;
	int ret;

	txn_begin(s, &t, true);
	*mark = t.ret == 0 ? applied_get(&t) : 0;
	ret = t.ret;
	txn_end_read(&t);
	return ret;
}

struct jr_apply {
	struct dp_change *out;	/* caller's array of max */
	uint64_t *gens;		/* caller's array of max, or NULL */
	uint64_t *seqs;		/* [max] */
	size_t max;
	long n;			/* changes applied (read from the journal) */
	uint64_t mark;		/* the applied mark written */
};

/*
 * The mark is read in the transaction that moves it, so that another process opening the
 * same store (leasewired --dump) can never apply a change twice: LMDB serialises write
 * transactions across processes, and each one applies exactly what lies after the mark.
 */
static void fill_journal(struct store_txn *t, const void *arg)
{
	struct jr_apply *a = (struct jr_apply *)arg;
	struct store *s = t->s;
	uint64_t t0 = mono_ns(), from;
	uint8_t mark[8];

	a->n = 0;
	from = applied_get(t);
	if (t->ret) {
		return;
	}
	a->n = s->jmdb != NULL ? jmdb_read(s->jmdb, from, a->out, a->seqs, a->max) :
	       journal_read(s->jrn, from, a->out, a->seqs, a->max);
	if (a->n < 0) {
		set_err(s, "%s", s->jmdb != NULL ? jmdb_errmsg(s->jmdb) : journal_errmsg(s->jrn));
		t->ret = (int)a->n;
		a->n = 0;
		return;
	}
	if (a->n == 0) {
		a->mark = from;
		return;
	}
	if (check_batch(s, a->out, (size_t)a->n) != 0) {
		/* The appender checked them: such an entry is damage, never skipped. */
		t->ret = STORE_E_CORRUPT;
		return;
	}
	for (long i = 0; i < a->n && !t->ret; i++) {
		if (s->apply_hook != NULL) {
			s->apply_hook(s->apply_hook_arg, (size_t)i);
		}
		apply_change(t, &a->out[i], a->gens != NULL ? &a->gens[i] : NULL);
	}
	a->mark = a->seqs[a->n - 1];
	lw_put64(mark, a->mark);
	txn_put(t, DB_META, META_APPLIED, sizeof(META_APPLIED) - 1, mark, sizeof(mark));
	s->last_apply_ns = mono_ns() - t0;
}

static long journal_apply_locked(struct store *s, struct dp_change *out, uint64_t *gens,
				 uint64_t *seqs, size_t max)
{
	struct jr_apply a = {.out = out, .gens = gens, .seqs = seqs, .max = max};
	int ret;

	ret = write_txn_locked(s, fill_journal, &a);
	if (ret != 0) {
		return ret;
	}
	/* An empty read committed nothing of ours (LMDB writes no page for a clean txn). */
	atomic_store_explicit(&s->applied, a.mark, memory_order_release);
	return a.n;
}

static int journal_failed(struct store *s, int ret);

long store_journal_apply(struct store *s, struct dp_change *out, uint64_t *gens, size_t max)
{
	long ret;

	if (s->jrn == NULL) {
		return -EINVAL;
	}
	if (max == 0) {
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	/* The entries' sequence numbers go to a scratch array kept from call to call: the
	 * applier asks for the same max every round, so it is allocated once, not per round
	 * (65536 entries by default: 512 KiB, an mmap and munmap each time). */
	if (s->apply_cap < max) {
		uint64_t *seqs = realloc(s->apply_seqs, max * sizeof(*seqs));

		if (seqs == NULL) {
			pthread_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
		s->apply_seqs = seqs;
		s->apply_cap = max;
	}
	ret = journal_apply_locked(s, out, gens, s->apply_seqs, max);
	pthread_mutex_unlock(&s->lock);
	/* Segments the bindings now hold durably go (deleted or recycled), here on the
	 * applier's thread, off the ACK path. A failure costs only space. */
	if (ret > 0 && journal_trim(s->jrn, atomic_load_explicit(&s->applied,
								  memory_order_acquire), false) != 0) {
		(void)journal_failed(s, STORE_E_IO);
	}
	return ret;
}

/* A journal call failed with @p ret: its message becomes the store's. @return @p ret. */
static int journal_failed(struct store *s, int ret)
{
	pthread_mutex_lock(&s->lock);
	set_err(s, "journal: %s", journal_errmsg(s->jrn));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_journal_append(struct store *s, const struct dp_change *c, size_t n)
{
	int ret;

	if (s->jrn == NULL) {
		return -EINVAL;
	}
	/* Fault injection reaches the journal's appends as it reaches store_write_batch(): in
	 * strict journal mode this is the commit that a parked ACK waits for. */
	ret = take_injected(s);
	if (ret != 0) {
		pthread_mutex_lock(&s->lock);
		set_err(s, "journal: injected failure (%s)", store_strerror(ret));
		pthread_mutex_unlock(&s->lock);
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		if (!store_change_valid(&c[i])) {
			pthread_mutex_lock(&s->lock);
			set_err(s, "change %zu (%s): not storable (state %u, key type %u, length "
				"%u)", i, lw_ip4_fmt(c[i].addr).s, c[i].state, c[i].key.type,
				c[i].key.len);
			pthread_mutex_unlock(&s->lock);
			return -EINVAL;
		}
	}
	ret = journal_append(s->jrn, c, n, NULL);
	return ret != 0 ? journal_failed(s, ret) : 0;
}

int store_journal_sync(struct store *s)
{
	int ret;

	if (s->jrn == NULL) {
		return -EINVAL;
	}
	ret = journal_sync(s->jrn);
	return ret != 0 ? journal_failed(s, ret) : 0;
}

int store_journal_trim(struct store *s)
{
	uint64_t applied;
	int ret;

	if (s->jrn == NULL) {
		return 0;
	}
	applied = atomic_load_explicit(&s->applied, memory_order_acquire);
	ret = journal_trim(s->jrn, applied, true);
	return ret != 0 ? journal_failed(s, ret) : 0;
}

bool store_has_journal(const struct store *s)
{
	return s->jrn != NULL;
}

uint64_t store_journal_lag(const struct store *s)
{
	uint64_t last, applied;

	if (s->jrn == NULL) {
		return 0;
	}
	applied = atomic_load_explicit(&s->applied, memory_order_acquire);
	last = journal_last(s->jrn);
	return last > applied ? last - applied : 0;
}

uint64_t store_journal_path_creates(const struct store *s)
{
	return s->jrn != NULL ? journal_path_creates(s->jrn) : 0;
}

uint64_t store_journal_direct_fallbacks(const struct store *s)
{
	return s->jrn != NULL ? journal_direct_fallbacks(s->jrn) : 0;
}

uint64_t store_journal_count(struct store *s)
{
	return s->jrn != NULL ? journal_count(s->jrn) : 0;
}

void store_inject_apply_hook(struct store *s, void (*fn)(void *arg, size_t i), void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->apply_hook = fn;
	s->apply_hook_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

/* Apply every journal entry after the applied mark (from s->jrn, or s->jmdb when set), then
 * sync the bindings (in relaxed mode too: the entries were acknowledged as durable). */
static int replay(struct store *s)
{
	struct dp_change *buf = calloc(REPLAY_CHUNK, sizeof(*buf));
	uint64_t *seqs = calloc(REPLAY_CHUNK, sizeof(*seqs));
	long n = 0;
	int ret = 0, rc;

	if (buf == NULL || seqs == NULL) {
		set_err(s, "journal: out of memory");
		ret = -ENOMEM;
		goto out;
	}
	do {
		n = journal_apply_locked(s, buf, NULL, seqs, REPLAY_CHUNK);
	} while (n > 0);
	if (n < 0) {
		ret = (int)n;
		goto out;
	}
	rc = mdb_env_sync(s->env, 1);
	if (rc != MDB_SUCCESS) {
		ret = mdb_to_store(s, rc, "sync the bindings replayed from the journal");
	}
out:
	free(buf);
	free(seqs);
	return ret;
}

/*
 * Upgrade: the LMDB journal of a previous binary (journal_mdb.h) in @p path may hold
 * acknowledged entries (a crash, or a stop that could not trim). They are applied, the
 * bindings synced, and only then its files removed; a crash before the removal replays
 * nothing twice (the applied mark says where it stands).
 */
static int upgrade_mdb(struct store *s, const char *path)
{
	char err[ERRMSG_LEN];
	int ret;

	s->jmdb = jmdb_open(path, err, sizeof(err));
	if (s->jmdb == NULL) {
		set_err(s, "journal (LMDB, previous format): %s", err);
		return STORE_E_IO;
	}
	ret = replay(s);
	jmdb_close(s->jmdb);
	s->jmdb = NULL;
	if (ret != 0) {
		return ret;
	}
	ret = jmdb_remove(path);
	if (ret != 0) {
		set_err(s, "journal: remove the previous format's files in %s: %s", path,
			strerror(-ret));
	}
	return ret;
}

/*
 * Open the journal when asked to, or when one is there (a strict run left it; any opener,
 * relaxed or a dump, must see what it holds), and bring the bindings up to date from it:
 * every entry after the applied mark is applied, the bindings synced, and only then the
 * journal trimmed.
 */
static int open_journal(struct store *s, const struct store_opts *o, const char *dir)
{
	char path[4096], err[ERRMSG_LEN];
	bool want = o != NULL && o->journal;
	bool reader = !want && o != NULL && o->reader;	/* its entries not synced yet */
	uint64_t mark;
	int ret;

	if (snprintf(path, sizeof(path), "%s/" JOURNAL_DIR, dir) >= (int)sizeof(path)) {
		set_err(s, "journal path too long");
		return -ENAMETOOLONG;
	}
	/* One owner at a time: another process (a dump beside the running daemon) leaves the
	 * journal alone, as it finds it; it shows the bindings as the daemon applied them. */
	s->jlock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->jlock_fd < 0 && errno == ENOENT && want) {
		ret = journal_mkdir(path, err, sizeof(err));
		if (ret < 0) {
			set_err(s, "journal: %s", err);
			return STORE_E_IO;
		}
		s->jlock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->jlock_fd >= 0 && flock(s->jlock_fd, LOCK_EX | LOCK_NB) != 0) {
		ret = errno;
		close(s->jlock_fd);
		s->jlock_fd = -1;
		if (ret == EWOULDBLOCK && !want) {
			return 0;
		}
		set_err(s, "journal %s: %s", path, ret == EWOULDBLOCK ?
			"in use by another process" : strerror(ret));
		return STORE_E_IO;
	}
	if (jmdb_exists(path) && jmdb_in_use(path)) {
		/* An old binary's daemon still runs on it: not ours to replay or remove. */
		if (!want) {
			return 0;
		}
		set_err(s, "journal %s: the LMDB journal is in use by another process", path);
		return STORE_E_IO;
	}
	/* A reader alone with a journal applies what it holds to the bindings and trims it:
	 * the store's entries must be durable before (store_open() left them to it). Only
	 * then: a strict daemon's clean stop leaves spare segments and nothing to replay
	 * (review17), and a dump of that store commits nothing. An LMDB journal is upgraded
	 * (replayed, its files removed) whatever it holds. */
	if (reader && jmdb_exists(path)) {
		if (sync_entries(s, false) != 0 || sync_entries(s, true) != 0) {
			return STORE_E_IO;
		}
		reader = false;		/* synced */
	}
	if (jmdb_exists(path)) {
		ret = upgrade_mdb(s, path);
		if (ret != 0) {
			return ret;
		}
	}
	if (!want && !journal_exists(path)) {
		return 0;
	}
	s->jrn = journal_open(path, o == NULL || o->sync == STORE_SYNC_STRICT, 0,
			      o != NULL ? o->journal_segment : 0, err, sizeof(err));
	if (s->jrn == NULL) {
		set_err(s, "journal: %s", err);
		return STORE_E_IO;
	}
	if (reader) {
		ret = applied_read(s, &mark);
		if (ret != 0) {
			return ret;
		}
		if (journal_last(s->jrn) > mark &&
		    (sync_entries(s, false) != 0 || sync_entries(s, true) != 0)) {
			return STORE_E_IO;
		}
	}
	ret = replay(s);
	if (ret != 0) {
		return ret;
	}
	journal_raise(s->jrn, atomic_load(&s->applied));
	ret = journal_trim(s->jrn, atomic_load(&s->applied), true);
	if (ret != 0) {
		set_err(s, "journal: %s", journal_errmsg(s->jrn));
		return ret;
	}
	if (!want) {
		journal_close(s->jrn);
		s->jrn = NULL;
	}
	return 0;
}

/* --- prefilled data files (store.h, prefill.h) --- */

/* Count one extension (@p ret bytes) or failure (@p ret < 0) that took @p ns. */
static void prefill_count(struct store *s, int64_t ret, uint64_t ns)
{
	if (ret < 0) {
		atomic_fetch_add_explicit(&s->pf_failures, 1, memory_order_relaxed);
		atomic_store_explicit(&s->pf_last_error, (int)ret, memory_order_relaxed);
	} else if (ret > 0) {
		atomic_fetch_add_explicit(&s->pf_extensions, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->pf_bytes, (uint64_t)ret, memory_order_relaxed);
	}
	if (ret != 0) {
		atomic_fetch_add_explicit(&s->pf_ns, ns, memory_order_relaxed);
	}
}

/* How far the bindings' data file must be extended: 0, or the size (prefill.h). Lock held;
 * *fd gets the data file. @return an MDB code or a positive errno. */
static int bindings_prefill_due(struct store *s, uint64_t max_step, int *fd, uint64_t *want)
{
	struct store_env_file f;
	uint64_t ahead;
	int rc = store_env_file(s->env, &f);

	*want = 0;
	if (rc != 0) {
		return rc;
	}
	*fd = f.fd;
	/* A large store grows by large applies: keep an eighth of it ahead. */
	ahead = f.used / 8 > s->prefill_ahead ? f.used / 8 : s->prefill_ahead;
	*want = store_prefill_target(f.used, f.size, ahead, f.map, max_step);
	return MDB_SUCCESS;
}

/* Extend the bindings' data file when due. Lock held. @return bytes written or an error. */
static int64_t bindings_prefill_locked(struct store *s, uint64_t max_step)
{
	struct store_txn t;
	uint64_t want, t0;
	int64_t ret = 0;
	int fd, rc;

	if (s->env == NULL) {
		return 0;	/* a reopen failed: the next transaction retries it */
	}
	/* A first look without the writer lock: cheap, and what every round does. */
	rc = bindings_prefill_due(s, max_step, &fd, &want);
	if (rc != MDB_SUCCESS) {
		set_pf_err(s, "prefill: read the data file's size: %s", mdb_strerror(rc));
		ret = store_mdb_err(rc);
		prefill_count(s, ret, 0);
		return ret;
	}
	if (want == 0) {
		return 0;
	}
	t0 = mono_ns();
	/* LMDB writes past the end only inside a commit: with the writer lock held (another
	 * process's writers included) nothing can be written there meanwhile. */
	txn_begin(s, &t, false);
	if (t.ret == 0) {
		rc = bindings_prefill_due(s, max_step, &fd, &want);
		if (rc != MDB_SUCCESS) {
			set_pf_err(s, "prefill: read the data file's size: %s", mdb_strerror(rc));
			ret = store_mdb_err(rc);
		} else if (want != 0) {
			ret = store_prefill_fd(fd, want);
			if (ret < 0) {
				set_pf_err(s, "prefill: extend the data file to %" PRIu64
					   " bytes: %s", want, strerror((int)-ret));
			}
		}
	} else {
		ret = t.ret;
	}
	txn_abort(&t);
	prefill_count(s, ret, mono_ns() - t0);
	return ret;
}

int64_t store_prefill(struct store *s, uint64_t max_step)
{
	int64_t ret, jret, total = 0;
	uint64_t ns;
	int err = 0;

	if (s->prefill_ahead == 0 || s->jrn == NULL) {
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	ret = bindings_prefill_locked(s, max_step);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0) {
		err = (int)ret;
	} else {
		total += ret;
	}
	/* The journal's next segment (journal.h): the store's lock is not needed (nor held:
	 * an append never takes it, an apply would wait for nothing), and the appender never
	 * waits for it (it creates a segment itself when none is ready). */
	jret = journal_prefill(s->jrn, max_step, &ns);
	prefill_count(s, jret, ns);
	if (jret < 0) {
		if (err == 0) {
			err = (int)jret;
			pthread_mutex_lock(&s->lock);
			set_pf_err(s, "journal: %s", journal_errmsg(s->jrn));
			pthread_mutex_unlock(&s->lock);
		}
	} else {
		total += jret;
	}
	return err != 0 ? err : total;
}

void store_prefill_stats(const struct store *s, struct store_prefill_stats *out)
{
	out->extensions = atomic_load_explicit(&s->pf_extensions, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&s->pf_bytes, memory_order_relaxed);
	out->ns = atomic_load_explicit(&s->pf_ns, memory_order_relaxed);
	out->failures = atomic_load_explicit(&s->pf_failures, memory_order_relaxed);
	out->last_error = atomic_load_explicit(&s->pf_last_error, memory_order_relaxed);
}

int store_data_files(struct store *s, struct store_data_file *bindings,
		     struct store_data_file *journal)
{
	struct store_env_file f;
	struct journal_files jf;
	int rc;

	memset(journal, 0, sizeof(*journal));
	pthread_mutex_lock(&s->lock);
	rc = s->env != NULL ? store_env_file(s->env, &f) : MDB_PANIC;
	if (rc != 0) {
		rc = mdb_to_store(s, rc, "look at the data file");
	} else {
		bindings->used = f.used;
		bindings->size = f.size;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc != 0 || s->jrn == NULL) {
		return rc;
	}
	journal_files(s->jrn, &jf);
	journal->used = jf.used;
	journal->size = jf.size;
	return 0;
}
