/*
 * privdrop: see privdrop.h.
 *
 * Design. capset(2), PR_CAPBSET_DROP, the ambient set, PR_SET_KEEPCAPS and no_new_privs all
 * act on the calling thread only, and by the time the daemon may drop anything the EAL
 * (interrupt thread, lcores), liburcu (call_rcu) and the committer run threads of their own.
 * The change is therefore described once in `want` and applied by every thread to itself in
 * a signal handler (raw syscalls only: async-signal-safe), the way glibc makes setuid()
 * process-wide. The control thread then reads /proc/self/task/TID/status back and signals
 * again any thread that does not show the change yet (a thread created meanwhile by a thread
 * that had not changed), a bounded number of rounds. The user switch in between uses glibc's
 * setgroups/setresgid/setresuid, which are process-wide already; PR_SET_KEEPCAPS carries the
 * kept capabilities across it.
 *
 * `want` and its counters are file-scope because a signal handler can reach nothing else;
 * they are used only inside cp_priv_drop(), on the control thread.
 */
#include "privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define ROUNDS		20		/* signal rounds before giving up */
#define ROUND_WAIT_MS	1000		/* per round, for the handlers to run */
#define BIT(c)		(1ull << (c))

/* The change each thread applies to itself. */
static struct {
	uint64_t caps;		/* permitted = effective = this */
	uint64_t bound;		/* bounding set: drop every capability outside this */
	bool drop_bound;	/* whether this process may (CAP_SETPCAP) */
	int keepcaps;		/* PR_SET_KEEPCAPS value */
	int last_cap;
	atomic_int done;	/* handlers run this round */
	atomic_int error;	/* first errno a handler met, 0 if none */
} want;

static int apply_self(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (prctl(PR_SET_KEEPCAPS, want.keepcaps, 0, 0, 0) != 0) {
		return errno;
	}
	for (int c = 0; want.drop_bound && c <= want.last_cap; c++) {
		if (!(want.bound & BIT(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
			return errno;
		}
	}
	/* Not supported before Linux 4.3: then there is no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		return errno;
	}
	d[0].permitted = d[0].effective = (uint32_t)want.caps;
	d[1].permitted = d[1].effective = (uint32_t)(want.caps >> 32);
	if (syscall(SYS_capset, &h, d) != 0) {
		return errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		return errno;
	}
	return 0;
}

static void on_signal(int sig)
{
	int saved = errno, e = apply_self();
	int zero = 0;

	(void)sig;
	if (e != 0) {
		atomic_compare_exchange_strong(&want.error, &zero, e);
	}
	atomic_fetch_add(&want.done, 1);
	errno = saved;
}

/* The capability sets of one thread, from /proc/self/task/TID/status. */
struct task_caps {
	uint64_t inh, prm, eff, bnd, amb;
	bool nnp;
};

static bool read_task(pid_t tid, struct task_caps *t, char *comm, size_t commlen)
{
	char path[64], line[256];
	FILE *f;
	unsigned long long v;
	int seen = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	memset(t, 0, sizeof(*t));
	snprintf(comm, commlen, "?");
	while (fgets(line, sizeof(line), f) != NULL) {
		int nnp;

		if (strncmp(line, "Name:\t", 6) == 0) {
			snprintf(comm, commlen, "%.*s", (int)strcspn(line + 6, "\n"), line + 6);
		} else if (sscanf(line, "CapInh: %llx", &v) == 1) {
			t->inh = v, seen++;
		} else if (sscanf(line, "CapPrm: %llx", &v) == 1) {
			t->prm = v, seen++;
		} else if (sscanf(line, "CapEff: %llx", &v) == 1) {
			t->eff = v, seen++;
		} else if (sscanf(line, "CapBnd: %llx", &v) == 1) {
			t->bnd = v, seen++;
		} else if (sscanf(line, "CapAmb: %llx", &v) == 1) {
			t->amb = v;
		} else if (sscanf(line, "NoNewPrivs: %d", &nnp) == 1) {
			t->nnp = nnp != 0;
		}
	}
	fclose(f);
	return seen == 4;
}

static bool task_done(const struct task_caps *t)
{
	return t->prm == want.caps && t->eff == want.caps && t->inh == 0 && t->amb == 0 &&
	       t->nnp && (!want.drop_bound || (t->bnd & ~want.bound) == 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Apply `want` in this thread, then in every other one until all of them show it. */
static int apply_all(int sig, char *err, size_t errlen)
{
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
	int e = apply_self();

	if (e != 0) {
		snprintf(err, errlen, "cannot drop privileges: %s", strerror(e));
		return -e;
	}
	atomic_thread_fence(memory_order_seq_cst);	/* `want` before any handler reads it */
	for (int round = 0; round < ROUNDS; round++) {
		char comm[32] = "", late[32] = "";
		pid_t late_tid = 0;
		int sent = 0, waited = 0;
		struct dirent *de;
		DIR *d = opendir("/proc/self/task");

		if (d == NULL) {
			snprintf(err, errlen, "cannot drop privileges: /proc/self/task: %s",
				 strerror(errno));
			return -errno;
		}
		atomic_store(&want.done, 0);
		while ((de = readdir(d)) != NULL) {
			pid_t tid = (pid_t)atoi(de->d_name);
			struct task_caps t;

			if (tid <= 0 || !read_task(tid, &t, comm, sizeof(comm)) || task_done(&t)) {
				continue;	/* gone, or done */
			}
			if (tid == self) {
				closedir(d);
				snprintf(err, errlen, "cannot drop privileges: the control "
					 "thread still shows them");
				return -EPERM;
			}
			if (syscall(SYS_tgkill, pid, tid, sig) == 0) {
				sent++;
				late_tid = tid;
				snprintf(late, sizeof(late), "%s", comm);
			}
		}
		closedir(d);
		if (sent == 0) {
			return 0;
		}
		while (atomic_load(&want.done) < sent && waited < ROUND_WAIT_MS) {
			sleep_ms(1);
			waited++;
		}
		e = atomic_load(&want.error);
		if (e != 0) {
			snprintf(err, errlen, "cannot drop privileges in every thread: %s",
				 strerror(e));
			return -e;
		}
		if (round == ROUNDS - 1) {
			snprintf(err, errlen, "cannot drop privileges: thread %d (%s) does not "
				 "take the change (does it block signal %d?)", (int)late_tid, late,
				 sig);
		}
	}
	return -ETIMEDOUT;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f != NULL) {
		if (fscanf(f, "%d", &n) != 1) {
			n = CAP_LAST_CAP;
		}
		fclose(f);
	}
	return n < 63 ? n : 63;
}

static uint64_t current_permitted(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (syscall(SYS_capget, &h, d) != 0) {
		return 0;
	}
	return (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
}

static bool is_pci(const char *device)
{
	return strncmp(device, "net_", 4) != 0 && strncmp(device, "eth_", 4) != 0 &&
	       strncmp(device, "virtio_user", 11) != 0;
}

uint64_t cp_priv_keep(const struct dp_config *cfg)
{
	/* Relationships are live objects: failover-add, a partner's create-relationship over the
	 * management channel or a config-reload can make one at any time, and its listener binds
	 * port 647 (< 1024) then. Pre-binding cannot work (the local address and port come with
	 * the relationship), so the daemon keeps the right to bind a privileged port, and no
	 * other (see privdrop.h). */
	uint64_t keep = BIT(CAP_NET_BIND_SERVICE);

	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		const char *dev = cfg->ports[i].device;

		if (strncmp(dev, "net_af_xdp", 10) == 0) {
			keep |= BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_ADMIN) | BIT(CAP_BPF);
		} else if (is_pci(dev)) {
			keep |= BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_RAWIO) | BIT(CAP_IPC_LOCK) |
				BIT(CAP_NET_ADMIN);
		}
	}
	return keep;
}

const char *cp_priv_names(uint64_t mask, char *buf, size_t len)
{
	static const struct {
		int cap;
		const char *name;
	} names[] = {
		{ CAP_CHOWN, "cap_chown" }, { CAP_DAC_OVERRIDE, "cap_dac_override" },
		{ CAP_SETGID, "cap_setgid" }, { CAP_SETUID, "cap_setuid" },
		{ CAP_NET_BIND_SERVICE, "cap_net_bind_service" },
		{ CAP_NET_ADMIN, "cap_net_admin" }, { CAP_NET_RAW, "cap_net_raw" },
		{ CAP_IPC_LOCK, "cap_ipc_lock" }, { CAP_SYS_RAWIO, "cap_sys_rawio" },
		{ CAP_SYS_ADMIN, "cap_sys_admin" }, { CAP_BPF, "cap_bpf" },
	};
	size_t at = 0;

	buf[0] = '\0';
	for (int c = 0; c < 64 && at < len; c++) {
		const char *n = NULL;
		char num[16];

		if (!(mask & BIT(c))) {
			continue;
		}
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (names[i].cap == c) {
				n = names[i].name;
			}
		}
		if (n == NULL) {
			snprintf(num, sizeof(num), "cap_%d", c);
			n = num;
		}
		at += (size_t)snprintf(buf + at, len - at, "%s%s", at != 0 ? "," : "", n);
	}
	if (buf[0] == '\0') {
		snprintf(buf, len, "none");
	}
	return buf;
}

/* data.mdb and lock.mdb no wider than 0600; a store directory others may write is a risk. */
static void check_store(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0) {
		return;
	}
	if (fstat(dfd, &st) == 0 && (st.st_mode & 0022) != 0) {
		cp_log(CP_LOG_WARN, "server.store: %s is writable by %s (mode %04o): make it "
		       "0700", dir, (st.st_mode & 0002) ? "everyone" : "its group",
		       (unsigned)(st.st_mode & 07777));
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (fstatat(dfd, files[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 0177) != 0 && fchmodat(dfd, files[i], 0600, 0) != 0) {
			cp_log(CP_LOG_WARN, "server.store: cannot make %s/%s 0600: %s", dir,
			       files[i], strerror(errno));
		}
	}
	close(dfd);
}

/* Give the journal's segment files (journal/NNNNNNNNNNNNNNNN.wal, lmdb-store/journal.h: the
 * names change as it runs) in the store directory @p dfd to @p uid:@p gid.
 * @return 0 or -errno. */
static int give_segments(int dfd, uid_t uid, gid_t gid)
{
	int jfd = openat(dfd, "journal", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (jfd < 0) {
		return errno == ENOENT ? 0 : -errno;
	}
	d = fdopendir(jfd);
	if (d == NULL) {
		ret = -errno;
		close(jfd);
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 4 && strcmp(de->d_name + len - 4, ".wal") == 0 &&
		    fchownat(jfd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno != ENOENT && ret == 0) {
			ret = -errno;
		}
	}
	closedir(d);
	return ret;
}

/* Give the store and the control socket to @uid:@gid (the socket keeps its group). */
static int give(const struct cp_priv_opts *o, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	/* The strict mode's journal (lmdb-store/journal.h) is a subdirectory of the store (its
	 * segments: give_segments()); journal/data.mdb, lock.mdb: an older binary's journal. */
	static const char *const files[] = { "data.mdb", "lock.mdb", "journal",
					     "journal/data.mdb", "journal/lock.mdb" };
	struct stat st;

	if (o->store_dir != NULL && o->store_dir[0] != '\0') {
		int dfd = open(o->store_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd < 0 || fchown(dfd, uid, gid) != 0) {
			snprintf(err, errlen, "server.user: cannot give %s to the user: %s",
				 o->store_dir, strerror(errno));
			if (dfd >= 0) {
				close(dfd);
			}
			return -EPERM;
		}
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			if (fchownat(dfd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
			    errno != ENOENT) {
				snprintf(err, errlen, "server.user: cannot give %s/%s to the "
					 "user: %s", o->store_dir, files[i], strerror(errno));
				close(dfd);
				return -EPERM;
			}
		}
		if (give_segments(dfd, uid, gid) != 0) {
			snprintf(err, errlen, "server.user: cannot give the journal's segments in "
				 "%s/journal to the user", o->store_dir);
			close(dfd);
			return -EPERM;
		}
		close(dfd);
	}
	if (o->socket != NULL && o->socket[0] != '\0') {
		char dir[256];
		const char *slash = strrchr(o->socket, '/');

		if (lchown(o->socket, uid, (gid_t)-1) != 0) {
			snprintf(err, errlen, "server.user: cannot give %s to the user: %s",
				 o->socket, strerror(errno));
			return -EPERM;
		}
		/* The socket's own directory (made 0750 by ctl.c), so that the user can remove
		 * the socket at exit; never a shared one such as /run or /tmp. */
		snprintf(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash - o->socket) : 0,
			 o->socket);
		if (dir[0] != '\0' && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid() && (st.st_mode & 07777) == 0750 &&
		    lchown(dir, uid, (gid_t)-1) != 0) {
			snprintf(err, errlen, "server.user: cannot give %s to the user: %s", dir,
				 strerror(errno));
			return -EPERM;
		}
	}
	return 0;
}

int cp_priv_drop(const struct cp_priv_opts *o, char *err, size_t errlen)
{
	int sig = SIGRTMIN + 3, rc;
	uint64_t have = current_permitted(), keep = o->keep & have;
	bool user = o->user != NULL && o->user[0] != '\0';
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART }, old;
	struct passwd *pw = NULL;
	char names[256];

	if (o->store_dir != NULL && o->store_dir[0] != '\0') {
		check_store(o->store_dir);
	}
	if (user) {
		pw = getpwnam(o->user);
		if (pw == NULL) {
			snprintf(err, errlen, "server.user: no user \"%s\"", o->user);
			return -ENOENT;
		}
		if (!(have & BIT(CAP_SETUID)) || !(have & BIT(CAP_SETGID))) {
			snprintf(err, errlen, "server.user: switching to \"%s\" needs leasewired "
				 "started as root", o->user);
			return -EPERM;
		}
		rc = give(o, pw->pw_uid, pw->pw_gid, err, errlen);
		if (rc != 0) {
			return rc;
		}
	}
	memset(&want, 0, sizeof(want));
	want.last_cap = last_cap();
	want.bound = keep;
	want.drop_bound = (have & BIT(CAP_SETPCAP)) != 0;
	/* Across the user switch the threads keep what they need for it. */
	want.caps = keep | (user ? BIT(CAP_SETUID) | BIT(CAP_SETGID) : 0);
	want.keepcaps = user;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) != 0) {
		snprintf(err, errlen, "cannot drop privileges: sigaction: %s", strerror(errno));
		return -errno;
	}
	rc = apply_all(sig, err, errlen);
	if (rc == 0 && user) {
		if (setgroups(1, &pw->pw_gid) != 0 || setresgid(pw->pw_gid, pw->pw_gid,
								pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
			rc = -errno;
			snprintf(err, errlen, "server.user: cannot become \"%s\": %s", o->user,
				 strerror(errno));
		} else {
			want.caps = keep;
			want.keepcaps = 0;
			rc = apply_all(sig, err, errlen);
		}
	}
	sigaction(sig, &old, NULL);
	if (rc != 0) {
		return rc;
	}
	if (user) {
		cp_log(CP_LOG_INFO, "privileges: running as %s (uid %u, gid %u), capabilities "
		       "kept: %s", o->user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid,
		       cp_priv_names(keep, names, sizeof(names)));
	} else {
		cp_log(CP_LOG_INFO, "privileges: capabilities kept: %s (server.user is not set: "
		       "still uid %u)", cp_priv_names(keep, names, sizeof(names)),
		       (unsigned)getuid());
	}
	return 0;
}
