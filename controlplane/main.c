/*
 * leasewired: the leasewire DHCPv4 server.
 *
 *   leasewired -c CONFIG [options] [-- EAL arguments]
 *   leasewired --default [options] [-- EAL arguments]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s -c CONFIG [options] [-- EAL arguments]\n"
		"       %s --default [options] [-- EAL arguments]\n"
		"\n"
		"  -c, --config FILE         JSON configuration (see leasewired(8))\n"
		"  -d, --default             run the built-in lab configuration\n"
		"  -t, --check               validate the configuration and exit\n"
		"  -p, --print-default       print the built-in configuration and exit\n"
		"  -r, --run-seconds N       stop by itself after N seconds (tests)\n"
		"  -v, --verbose             debug logging\n"
		"  -h, --help                this text\n"
		"\n"
		"Without EAL arguments leasewired picks its own (see leasewired(8)).\n",
		prog, prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"default", no_argument, NULL, 'd'},
		{"check", no_argument, NULL, 't'},
		{"print-default", no_argument, NULL, 'p'},
		{"run-seconds", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cp_daemon_args args = {.prog = argv[0]};
	const char *path = NULL;
	bool use_default = false, check = false;
	struct dp_config *cfg;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "c:dtpr:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			use_default = true;
			break;
		case 't':
			check = true;
			break;
		case 'p':
			fputs(cp_config_default_json(), stdout);
			return 0;
		case 'r':
			args.run_seconds = strtod(optarg, NULL);
			break;
		case 'v':
			cp_log_level = CP_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if ((path == NULL) == !use_default) {
		usage(stderr, argv[0]);
		return 2;
	}
	/* getopt stops at "--": whatever follows is for the EAL. */
	if (optind < argc && strcmp(argv[optind - 1], "--") == 0) {
		args.eal_argc = argc - optind;
		args.eal_argv = argv + optind;
	} else if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\" (EAL arguments go after --)\n",
			argv[0], argv[optind]);
		return 2;
	}

	cfg = path ? cp_config_load(path, err, sizeof(err))
		   : cp_config_parse(cp_config_default_json(), err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], path ? path : "built-in configuration",
			err);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK\n", path ? path : "built-in configuration");
		dp_config_free(cfg);
		return 0;
	}
	return cp_daemon_run(cfg, &args);
}
