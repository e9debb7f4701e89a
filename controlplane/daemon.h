/*
 * daemon: the life of leasewired, from EAL start to the final counters.
 *
 * The thread that calls cp_daemon_run() becomes the control thread (the EAL main lcore):
 * it starts the workers on the other lcores, then loops doing what must stay off the hot
 * path (periodic counters, pool-exhaustion warnings, expiry scans) until SIGINT/SIGTERM.
 */
#pragma once

#include <stdbool.h>

#include "dp_config.h"

struct cp_daemon_args {
	int eal_argc;		/**< EAL arguments given after "--"; 0 = choose defaults */
	char **eal_argv;
	const char *prog;
	const char *config_path;	/**< the file, for config-reload; NULL = built-in */
	double run_seconds;	/**< stop by itself after this long; 0 = until signalled */
};

/**
 * Run the daemon on @p cfg (ownership passes to the daemon).
 * @return the process exit status: 0 after a clean stop (or the exit-value of a shutdown
 *         command), 1 when start-up failed (the reason has been logged).
 */
int cp_daemon_run(struct dp_config *cfg, const struct cp_daemon_args *args);

/**
 * The EAL arguments leasewired uses when none are given: hugepages in memory when at least 64
 * free 2 MiB pages exist, else --no-huge; --no-pci unless a port is a PCI device; one lcore
 * per worker plus the control lcore, spread over the CPUs we may run on.
 * @param argv  room for at least 16 entries; the strings live in @p buf.
 * @return argc.
 */
int cp_default_eal_args(const struct dp_config *cfg, const char *prog, char **argv, char *buf,
			size_t buflen);
