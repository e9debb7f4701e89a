/*
 * mgmt_queue: see mgmt_queue.h. Every change is made on the in-memory state, written whole
 * to the file, and undone in memory when the write fails, so memory and file never differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mgmt_queue.h"

struct mgmt_queue {
	char *path;			/* the file; NULL = memory only */
	struct mgmt_qentry *e;		/* oldest first */
	size_t n, cap;
	uint64_t next_seq;
	json_t *status;			/* { scope: { "state": ..., "reason": ... } } */
};

static const char *const sync_names[] = {
	[MGMT_SYNC_IN_SYNC] = "in-sync",
	[MGMT_SYNC_PENDING] = "pending",
	[MGMT_SYNC_ERROR] = "error",
	[MGMT_SYNC_DRIFT] = "drift",
};

const char *mgmt_sync_str(enum mgmt_sync st)
{
	return (unsigned)st < sizeof(sync_names) / sizeof(sync_names[0]) ? sync_names[st]
									  : "unknown";
}

static bool name_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strlen(s) < max;
}

/* Write the whole state: temporary file, fsync, rename over the file, fsync the directory. */
static int save(const struct mgmt_queue *q)
{
	if (q->path == NULL) {
		return 0;
	}
	json_t *doc = json_pack("{s:i,s:I,s:[],s:O}", "version", 1, "next-seq",
				(json_int_t)q->next_seq, "entries", "status", q->status);
	if (doc == NULL) {
		return -ENOMEM;
	}
	json_t *arr = json_object_get(doc, "entries");
	for (size_t i = 0; i < q->n; i++) {
		json_t *e = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)q->e[i].seq,
				      "relationship", q->e[i].relationship, "scope",
				      q->e[i].scope, "op", q->e[i].op);

		if (e != NULL && q->e[i].partner != 0 &&
		    json_object_set_new(e, "partner", json_integer(q->e[i].partner)) != 0) {
			json_decref(e);
			e = NULL;
		}
		if (json_array_append_new(arr, e) != 0) {
			json_decref(doc);
			return -ENOMEM;
		}
	}
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL) {
		return -ENOMEM;
	}
	size_t plen = strlen(q->path);
	char *tmp = malloc(plen + 5);
	int ret = -ENOMEM;
	if (tmp == NULL) {
		goto out;
	}
	memcpy(tmp, q->path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, q->path) != 0) {
		ret = -errno;
		unlink(tmp);
		goto out;
	}
	/* The rename is durable once the directory is. */
	char *slash = strrchr(q->path, '/');
	if (slash != NULL) {
		*slash = '\0';
		int dfd = open(q->path[0] ? q->path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	ret = 0;
out:
	free(tmp);
	free(text);
	return ret;
}

static int grow(struct mgmt_queue *q)
{
	if (q->n < q->cap) {
		return 0;
	}
	size_t cap = q->cap ? 2 * q->cap : 16;
	struct mgmt_qentry *e = realloc(q->e, cap * sizeof(*e));
	if (e == NULL) {
		return -ENOMEM;
	}
	q->e = e;
	q->cap = cap;
	return 0;
}

static int load(struct mgmt_queue *q, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_load_file(q->path, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		FILE *f = fopen(q->path, "r");
		if (f == NULL && errno == ENOENT) {
			return 0;	/* nothing queued yet */
		}
		if (f != NULL) {
			fclose(f);
		}
		snprintf(err, errlen, "%s: %s", q->path, je.text);
		return -1;
	}
	json_t *entries = json_object_get(doc, "entries");
	json_t *status = json_object_get(doc, "status");
	json_t *next = json_object_get(doc, "next-seq");
	if (!json_is_integer(json_object_get(doc, "version")) ||
	    json_integer_value(json_object_get(doc, "version")) != 1 ||
	    !json_is_array(entries) || !json_is_object(status) || !json_is_integer(next) ||
	    json_integer_value(next) < 1) {
		snprintf(err, errlen, "%s: not a version 1 management queue", q->path);
		goto bad;
	}
	q->next_seq = (uint64_t)json_integer_value(next);
	size_t i;
	json_t *v;
	json_array_foreach(entries, i, v) {
		json_t *seq = json_object_get(v, "seq");
		const char *rel = json_string_value(json_object_get(v, "relationship"));
		const char *scope = json_string_value(json_object_get(v, "scope"));
		const char *op = json_string_value(json_object_get(v, "op"));
		json_t *partner = json_object_get(v, "partner");
		if ((partner != NULL && (!json_is_integer(partner) ||
					 json_integer_value(partner) < 0 ||
					 json_integer_value(partner) > UINT32_MAX)) ||
		    !json_is_integer(seq) || json_integer_value(seq) < 1 ||
		    (uint64_t)json_integer_value(seq) >= q->next_seq ||
		    (q->n > 0 && (uint64_t)json_integer_value(seq) <= q->e[q->n - 1].seq) ||
		    !name_ok(rel, MGMT_QUEUE_NAME_MAX) || !name_ok(scope, MGMT_QUEUE_NAME_MAX) ||
		    !name_ok(op, sizeof(q->e[0].op)) || q->n >= MGMT_QUEUE_MAX) {
			snprintf(err, errlen, "%s: entries[%zu] is not valid", q->path, i);
			goto bad;
		}
		if (grow(q) != 0) {
			snprintf(err, errlen, "%s: out of memory", q->path);
			goto bad;
		}
		struct mgmt_qentry *e = &q->e[q->n++];
		memset(e, 0, sizeof(*e));
		e->seq = (uint64_t)json_integer_value(seq);
		strcpy(e->relationship, rel);
		strcpy(e->scope, scope);
		strcpy(e->op, op);
		e->partner = partner != NULL ? (uint32_t)json_integer_value(partner) : 0;
	}
	json_decref(q->status);
	q->status = json_incref(status);
	json_decref(doc);
	return 0;
bad:
	json_decref(doc);
	return -1;
}

struct mgmt_queue *mgmt_queue_open(const char *dir, char *err, size_t errlen)
{
	struct mgmt_queue *q = calloc(1, sizeof(*q));
	if (q == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->next_seq = 1;
	q->status = json_object();
	if (q->status == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (dir != NULL && dir[0] != '\0') {
		size_t l = strlen(dir) + 1 + strlen(MGMT_QUEUE_FILE) + 1;
		q->path = malloc(l);
		if (q->path == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		snprintf(q->path, l, "%s/%s", dir, MGMT_QUEUE_FILE);
		if (load(q, err, errlen) != 0) {
			goto fail;
		}
	}
	return q;
fail:
	mgmt_queue_close(q);
	return NULL;
}

void mgmt_queue_close(struct mgmt_queue *q)
{
	if (q == NULL) {
		return;
	}
	json_decref(q->status);
	free(q->e);
	free(q->path);
	free(q);
}

int mgmt_queue_push(struct mgmt_queue *q, const char *rel, const char *scope, const char *op,
		    uint64_t *seq)
{
	return mgmt_queue_push_to(q, rel, scope, op, 0, seq);
}

int mgmt_queue_at(const struct mgmt_queue *q, size_t i, struct mgmt_qentry *out)
{
	if (i >= q->n) {
		return -ENOENT;
	}
	*out = q->e[i];
	return 0;
}

int mgmt_queue_push_to(struct mgmt_queue *q, const char *rel, const char *scope, const char *op,
		       uint32_t partner, uint64_t *seq)
{
	if (!name_ok(rel, MGMT_QUEUE_NAME_MAX) || !name_ok(scope, MGMT_QUEUE_NAME_MAX) ||
	    !name_ok(op, sizeof(q->e[0].op))) {
		return -EINVAL;
	}
	/* Coalesce: an older entry of the same scope, relationship and op leaves its place. */
	size_t old = q->n;
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->e[i].relationship, rel) == 0 && strcmp(q->e[i].scope, scope) == 0 &&
		    strcmp(q->e[i].op, op) == 0 && q->e[i].partner == partner) {
			old = i;
			break;
		}
	}
	if (old == q->n && q->n >= MGMT_QUEUE_MAX) {
		return -ENOSPC;
	}
	if (grow(q) != 0) {
		return -ENOMEM;
	}
	struct mgmt_qentry *backup = malloc((q->n ? q->n : 1) * sizeof(*backup));
	if (backup == NULL) {
		return -ENOMEM;
	}
	memcpy(backup, q->e, q->n * sizeof(*backup));
	size_t backup_n = q->n;
	if (old < q->n) {
		memmove(&q->e[old], &q->e[old + 1], (q->n - old - 1) * sizeof(q->e[0]));
		q->n--;
	}
	struct mgmt_qentry *e = &q->e[q->n++];
	memset(e, 0, sizeof(*e));
	e->seq = q->next_seq++;
	strcpy(e->relationship, rel);
	strcpy(e->scope, scope);
	strcpy(e->op, op);
	e->partner = partner;
	int ret = save(q);
	if (ret != 0) {
		memcpy(q->e, backup, backup_n * sizeof(*backup));
		q->n = backup_n;
		q->next_seq--;
		free(backup);
		return ret;
	}
	free(backup);
	if (seq != NULL) {
		*seq = e->seq;
	}
	return 0;
}

int mgmt_queue_peek(const struct mgmt_queue *q, const char *rel, struct mgmt_qentry *out)
{
	for (size_t i = 0; i < q->n; i++) {
		if (rel == NULL || strcmp(q->e[i].relationship, rel) == 0) {
			*out = q->e[i];
			return 0;
		}
	}
	return -ENOENT;
}

static bool scope_queued(const struct mgmt_queue *q, const char *scope)
{
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->e[i].scope, scope) == 0) {
			return true;
		}
	}
	return false;
}

int mgmt_queue_ack(struct mgmt_queue *q, uint64_t seq)
{
	size_t i;
	for (i = 0; i < q->n && q->e[i].seq != seq; i++) {
	}
	if (i == q->n) {
		return -ENOENT;
	}
	struct mgmt_qentry saved = q->e[i];
	memmove(&q->e[i], &q->e[i + 1], (q->n - i - 1) * sizeof(q->e[0]));
	q->n--;
	json_t *old_status = json_deep_copy(q->status);
	if (old_status == NULL) {
		goto undo_entry;
	}
	/* The partner now holds our settings: a drift is over. An error stays until it is
	 * cleared (mgmt_queue_set_status()), as the header says. */
	const char *st = json_string_value(json_object_get(json_object_get(q->status,
									   saved.scope), "state"));
	if (!scope_queued(q, saved.scope) && st != NULL && strcmp(st, "drift") == 0) {
		(void)json_object_del(q->status, saved.scope);
	}
	int ret = save(q);
	if (ret != 0) {
		json_decref(q->status);
		q->status = old_status;
		memmove(&q->e[i + 1], &q->e[i], (q->n - i) * sizeof(q->e[0]));
		q->e[i] = saved;
		q->n++;
		return ret;
	}
	json_decref(old_status);
	return 0;
undo_entry:
	memmove(&q->e[i + 1], &q->e[i], (q->n - i) * sizeof(q->e[0]));
	q->e[i] = saved;
	q->n++;
	return -ENOMEM;
}

int mgmt_queue_set_status(struct mgmt_queue *q, const char *scope, enum mgmt_sync st,
			  const char *reason)
{
	if (!name_ok(scope, MGMT_QUEUE_NAME_MAX) || st == MGMT_SYNC_PENDING ||
	    (unsigned)st > MGMT_SYNC_DRIFT) {
		return -EINVAL;
	}
	json_t *old = json_object_get(q->status, scope);
	json_incref(old);
	int rc;
	if (st == MGMT_SYNC_IN_SYNC) {
		rc = old ? json_object_del(q->status, scope) : 0;
	} else {
		rc = json_object_set_new(q->status, scope,
					 json_pack("{s:s,s:s}", "state", mgmt_sync_str(st),
						   "reason", reason ? reason : ""));
	}
	if (rc != 0) {
		json_decref(old);
		return -ENOMEM;
	}
	int ret = save(q);
	if (ret != 0) {
		if (old != NULL) {
			(void)json_object_set_new(q->status, scope, old);
		} else {
			(void)json_object_del(q->status, scope);
		}
		return ret;
	}
	json_decref(old);
	return 0;
}

enum mgmt_sync mgmt_queue_status(const struct mgmt_queue *q, const char *scope,
				 const char **reason)
{
	json_t *s = json_object_get(q->status, scope);
	const char *state = json_string_value(json_object_get(s, "state"));

	if (reason != NULL) {
		const char *r = json_string_value(json_object_get(s, "reason"));
		*reason = r ? r : "";
	}
	if (state != NULL && strcmp(state, "error") == 0) {
		return MGMT_SYNC_ERROR;
	}
	if (state != NULL && strcmp(state, "drift") == 0) {
		return MGMT_SYNC_DRIFT;
	}
	return scope_queued(q, scope) ? MGMT_SYNC_PENDING : MGMT_SYNC_IN_SYNC;
}

size_t mgmt_queue_len(const struct mgmt_queue *q)
{
	return q->n;
}
