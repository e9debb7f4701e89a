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

#include "bindings.h"
#include "config.h"
#include "daemon.h"
#include "fmt.h"
#include "log.h"
#include "store.h"

static int dump_one(const struct store_binding *b, void *arg)
{
	FILE *out = arg;
	char hex[LW_HEX_BUFLEN(DP_KEY_MAX)];

	/* A BACKUP binding may have no client: its key is empty, of type "none". */
	lw_hex_fmt(hex, sizeof(hex), b->key.data, b->key.len, ':');
	fprintf(out, "{\"address\": \"%s\", \"state\": \"%s\", \"key-type\": \"%s\", "
		"\"key\": \"%s", lw_ip4_fmt(b->addr).s, bt_state_str(b->state),
		b->key.type == DP_KEY_CLIENT_ID ? "client-id" :
		b->key.len == 0 && b->key.type != DP_KEY_HWADDR ? "none" : "hw", hex);
	/* "hw": htype + chaddr as stored (record version 2), null when unknown. */
	if (b->hw_len == 0) {
		fprintf(out, "\", \"hw\": null");
	} else {
		lw_hex_fmt(hex, sizeof(hex), b->hw, b->hw_len, ':');
		fprintf(out, "\", \"hw\": \"%s\"", hex);
	}
	if (b->ends == UINT64_MAX) {
		fprintf(out, ", \"start\": %llu, \"ends\": null}\n",
			(unsigned long long)b->start);
	} else {
		fprintf(out, ", \"start\": %llu, \"ends\": %llu}\n",
			(unsigned long long)b->start, (unsigned long long)b->ends);
	}
	return 0;
}

/* Print every stored binding as one JSON object per line (tests, operators). */
static int dump_store(const char *dir)
{
	/* A reader: beside a running daemon it only reads (store.h). */
	struct store_opts so = {.sync = STORE_SYNC_STRICT, .reader = true};
	char err[512];
	struct store *s = store_open(dir, &so, err, sizeof(err));
	int rc;

	if (s == NULL) {
		fprintf(stderr, "leasewired: %s\n", err);
		return 1;
	}
	rc = store_load(s, dump_one, stdout);
	if (rc != 0) {
		fprintf(stderr, "leasewired: %s: %s\n", dir, store_errmsg(s));
	}
	store_close(s);
	return rc == 0 ? 0 : 1;
}

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
		"  -S, --dump-store DIR      print the bindings stored in DIR as JSON lines\n"
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
		{"dump-store", required_argument, NULL, 'S'},
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

	while ((c = getopt_long(argc, argv, "c:dtpr:S:vh", longopts, NULL)) != -1) {
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
		case 'S':
			return dump_store(optarg);
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
	args.config_path = path;
	if (check) {
		printf("%s: configuration OK\n", path ? path : "built-in configuration");
		dp_config_free(cfg);
		return 0;
	}
	return cp_daemon_run(cfg, &args);
}
