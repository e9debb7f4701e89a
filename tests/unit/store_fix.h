/*
 * store_fix: the cmocka fixture of the lmdb-store tests (test_store, test_journal,
 * test_store_faults, test_committer): a temporary directory per test, the store in it, and
 * the store and committer a test opened, closed and removed at teardown.
 *
 * Include after <cmocka.h>. Test code only (one thread per test; test_journal's crash
 * children use store_fix_try_open(), which never asserts).
 */
#pragma once

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "committer.h"
#include "store.h"

struct store_fix {
	char tmp[64];		/**< the test's own directory, removed at teardown */
	char dir[96];		/**< the store: tmp/db (store_open() creates it) */
	char jdir[128];		/**< the store's journal: tmp/db/journal */
	char err[512];		/**< store_open()'s message */
	struct store *s;	/**< closed at teardown when set */
	struct committer *c;	/**< freed at teardown (before s) when set */
};

/* A temporary directory /tmp/lw-@p name-XXXXXX, in a calloc'd fixture set as *state. */
static inline int store_fix_setup(void **state, const char *name)
{
	struct store_fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/lw-%s-XXXXXX", name);
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->dir, sizeof(f->dir), "%s/db", f->tmp);
	snprintf(f->jdir, sizeof(f->jdir), "%s/db/journal", f->tmp);
	*state = f;
	return 0;
}

static inline int store_fix_rm_one(const char *path, const struct stat *st, int flag,
				   struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Stop and free the committer, close the store, remove the directory, free the fixture.
 * A test that failed with the committer's threads running gets here with them running:
 * they are joined before anything they use is freed (a stop of a committer that never
 * started only marks it). */
static inline int store_fix_teardown(void **state)
{
	struct store_fix *f = *state;

	if (f->c != NULL) {
		(void)committer_stop(f->c, 1000);
	}
	committer_free(f->c);
	store_close(f->s);
	assert_int_equal(nftw(f->tmp, store_fix_rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* Open the fixture's store with @p o (NULL: defaults). NULL on failure, the message in
 * f->err: usable in a child process, where cmocka cannot assert. */
static inline struct store *store_fix_try_open(struct store_fix *f, const struct store_opts *o)
{
	return store_open(f->dir, o, f->err, sizeof(f->err));
}

/* Open the fixture's store with @p o, or fail the test with store_open()'s message. */
static inline struct store *store_fix_open(struct store_fix *f, const struct store_opts *o)
{
	struct store *s = store_fix_try_open(f, o);

	if (s == NULL) {
		fail_msg("store_open: %s", f->err);
	}
	return s;
}
