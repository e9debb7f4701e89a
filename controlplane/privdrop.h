/*
 * privdrop: least privilege once leasewired has started.
 *
 * leasewired starts as root: the EAL (hugepages, PCI/VFIO), the ports (AF_PACKET and AF_XDP
 * sockets, promiscuous mode), the failover listeners (TCP port 647 < 1024) and the control
 * socket (its directory under /run, its group) need privileges. Once all of that is open,
 * almost nothing the daemon does at run time needs them: every port, socket, store file and
 * DPDK memory is an open descriptor or a mapping, and what would need them again (another
 * port, store or socket) needs a restart anyway (apply.c). The exception is a failover
 * relationship, which is made live (its listener binds TCP port 647): CAP_NET_BIND_SERVICE
 * stays. So after start-up the daemon keeps only that and what its ports need while running
 * and at teardown (cp_priv_keep()),
 * optionally as a dedicated user (server.user), and nothing can be regained: the bounding
 * set is dropped too, ambient capabilities cleared and no_new_privs set.
 *
 * Capabilities are per thread in Linux and the EAL, the committer and liburcu have threads of
 * their own by then, so the change is made in every thread of the process: a signal handler
 * in each thread applies it (as glibc does for setuid()), and /proc/self/task is read back
 * until every thread shows it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "dp_config.h"
#include "lw_attr.h"

/** What cp_priv_drop() does. */
struct cp_priv_opts {
	uint64_t keep;		/**< capabilities kept (bit n = capability n), cp_priv_keep() */
	const char *user;	/**< switch to this user (and its groups); NULL or "" = stay */
	const char *store_dir;	/**< LMDB directory given to @c user; NULL or "" = none */
	const char *socket;	/**< control socket given to @c user; NULL or "" = none */
};

/**
 * @brief The capabilities the running daemon keeps for the ports of @p cfg.
 *
 * - always CAP_NET_BIND_SERVICE: a failover relationship (its listener on TCP port 647)
 *   or the management channel can be added at run time (failover-add, a partner's
 *   create-relationship, config-reload); it allows binding ports below 1024 and nothing
 *   else.
 * - software ports (net_af_packet, net_pcap, net_ring, net_null, net_tap, net_vhost,
 *   virtio_user, net_memif): nothing more; their sockets and files are open.
 * - net_af_xdp: CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_BPF, to detach the XDP program at
 *   teardown (a program left attached black-holes the interface).
 * - a PCI device: CAP_SYS_ADMIN, CAP_SYS_RAWIO, CAP_IPC_LOCK and CAP_NET_ADMIN (VFIO/UIO
 *   interrupts, physical addresses, link changes); not measured on a real NIC here.
 *
 * @return the capability mask (bit n = capability n).
 * @note Any thread.
 */
uint64_t cp_priv_keep(const struct dp_config *cfg);

/**
 * @brief Drop to @p o->keep in every thread of the process, optionally as @p o->user.
 *
 * With a user: the store directory and its data.mdb/lock.mdb, the control socket and its
 * directory (when it is leasewired's own: 0750 and ours) are given to the user first; then
 * the supplementary groups become the user's, and the gid and uid are set (real, effective,
 * saved). In every case: the bounding set is reduced to @p o->keep (when the process may),
 * the ambient set cleared, permitted and effective set to @p o->keep (limited to what the
 * process has), inheritable cleared, and no_new_privs set.
 *
 * Also checks the store: data.mdb and lock.mdb are made 0600 when wider, and a store
 * directory that others can write is logged as a warning.
 *
 * @param o   what to do (not kept).
 * @param err receives one message on failure.
 * @param errlen size of @p err.
 * @return 0, or a negative errno: the user does not exist, a user was asked for without
 *         the privilege to switch, a thread did not take the change (the process is then in
 *         an undefined mix and must exit).
 * @note Control thread, once, after every privileged resource is open. Installs a handler
 *       for SIGRTMIN + 3 for the duration of the call.
 */
_mustcheck_
int cp_priv_drop(const struct cp_priv_opts *o, char *err, size_t errlen);

/**
 * @brief The names of the capabilities in @p mask, comma-separated ("none" when empty).
 *
 * @return @p buf.
 * @note Any thread.
 */
const char *cp_priv_names(uint64_t mask, char *buf, size_t len);
