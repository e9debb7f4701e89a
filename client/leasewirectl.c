/*
 * leasewirectl: the operator's client of the leasewired control socket.
 *
 * Thin on purpose: the words are turned into a request, the request is sent and the answer
 * printed by the ctlc modules (ctlc.h), so that tests drive exactly what the operator runs.
 * What stays here is the process's contract: global options, where output goes, and the exit
 * status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctlc.h"

#define PROG	"leasewirectl"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [-s SOCKET] [-j] [-t SECONDS] [-h] COMMAND [ARGUMENTS]\n"
		"\n"
		"Options:\n"
		"  -s, --socket SOCKET     control socket (default: $" CTLC_SOCKET_ENV " or\n"
		"                          " CTLC_DEFAULT_SOCKET ")\n"
		"  -j, --json              print the server's answer as JSON, nothing else\n"
		"  -t, --timeout SECONDS   wait at most SECONDS for each answer (default %g)\n"
		"  -h, --help              print this help\n"
		"\n"
		"Commands:\n", CTLC_DEFAULT_TIMEOUT);
	ctlc_usage_commands(out);
	fprintf(out,
		"\n"
		"ADDRESS is an IPv4 address, MAC is aa:bb:cc:dd:ee:ff, CLIENT-ID is hex bytes,\n"
		"FILE is a JSON file (\"-\": standard input).\n"
		"Exit status: the answer's result (0 ok, 1 error, 2 unsupported, 3 empty,\n"
		"4 conflict), 5 when there is no usable answer, 64 for a usage error.\n"
		"See leasewirectl(1).\n");
}

/* A usage error: one line saying what is wrong, one line saying how it is done. */
static int usage_error(const char *msg, const char *synopsis)
{
	fprintf(stderr, PROG ": %s\n", msg);
	if (synopsis != NULL) {
		fprintf(stderr, "usage: " PROG " %s\n", synopsis);
	} else {
		fprintf(stderr, "Try '" PROG " --help' for more information.\n");
	}
	return CTLC_EXIT_USAGE;
}

static bool parse_timeout(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0 && v <= 1e6)) {
		return false;
	}
	*out = v;
	return true;
}

/* "leasewirectl: <text>" on stderr; the server's text is shown as printable ASCII only. */
static void error_text(const char *what, const char *text)
{
	fprintf(stderr, PROG ": %s", what);
	for (; text != NULL && *text != '\0'; text++) {
		fputc(*text >= 0x20 && *text <= 0x7e ? *text : '?', stderr);
	}
	fputc('\n', stderr);
}

static int print_json(json_t *answer)
{
	if (json_dumpf(answer, stdout, JSON_INDENT(2)) != 0) {
		return -EIO;
	}
	fputc('\n', stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = getenv(CTLC_SOCKET_ENV);
	double timeout_s = CTLC_DEFAULT_TIMEOUT;
	struct ctlc_cmd cmd = { 0 };
	const char *command, *text;
	json_t *answer = NULL;
	bool json = false;
	char err[1024];
	char msg[1200];
	json_int_t result;
	int status;
	int opt;
	int ret;

	if (socket_path == NULL || socket_path[0] == '\0') {
		socket_path = CTLC_DEFAULT_SOCKET;
	}
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:s:jt:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (optarg[0] == '\0') {
				return usage_error("-s: the socket path must not be empty", NULL);
			}
			socket_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			if (!parse_timeout(optarg, &timeout_s)) {
				snprintf(msg, sizeof(msg), "-t: \"%.64s\" is not a number of seconds "
					 "(more than 0, at most 1000000)", optarg);
				return usage_error(msg, NULL);
			}
			break;
		case 'h':
			usage(stdout);
			return fflush(stdout) == 0 && !ferror(stdout) ? 0 : CTLC_EXIT_FAILURE;
		case ':':
			snprintf(msg, sizeof(msg), "option %.64s needs a value", argv[optind - 1]);
			return usage_error(msg, NULL);
		default:
			if (optopt != 0) {
				snprintf(msg, sizeof(msg), "unknown option \"-%c\"", optopt);
			} else {
				snprintf(msg, sizeof(msg), "unknown option \"%.64s\"",
					 argv[optind - 1]);
			}
			return usage_error(msg, NULL);
		}
	}
	if (optind == argc) {
		return usage_error("missing command", NULL);
	}

	ret = ctlc_parse_argv(argc - optind, argv + optind, &cmd, err, sizeof(err));
	if (ret == -EINVAL) {
		return usage_error(err, cmd.synopsis);
	}
	if (ret != 0) {
		/* A FILE that cannot be read or is not JSON: the server would have said 1. */
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (cmd.flags & CTLC_F_COMPLETION) {
		/* Local: the script is printed from the command rows, no server is asked. */
		if (ctlc_completion_bash(stdout) != 0 || fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, PROG ": cannot write the completion script\n");
			status = CTLC_EXIT_FAILURE;
		} else {
			status = 0;
		}
		goto out;
	}
	if (json && (cmd.flags & CTLC_F_PROMETHEUS)) {
		status = usage_error("--json and --prometheus are mutually exclusive",
				     cmd.synopsis);
		goto out;
	}
	json = json || (cmd.flags & CTLC_F_JSON);
	command = json_string_value(json_object_get(cmd.request, "command"));

	ret = ctlc_call_all(socket_path, cmd.request, timeout_s, &answer, err, sizeof(err));
	if (ret != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		status = CTLC_EXIT_FAILURE;
		goto out;
	}
	result = json_integer_value(json_object_get(answer, "result"));
	text = json_string_value(json_object_get(answer, "text"));
	status = result >= 0 && result <= 4 ? (int)result : CTLC_EXIT_FAILURE;

	if (json) {
		ret = print_json(answer);
	} else if (result == 0 && (cmd.flags & CTLC_F_PROMETHEUS)) {
		ret = ctlc_render_prometheus(stdout, json_object_get(answer, "arguments"));
	} else if (result == 0 || result == 3) {
		struct ctlc_view view = { .flags = cmd.flags };

		if (result == 3 && (cmd.flags & CTLC_F_PROMETHEUS)) {
			/* Keep stdout a valid exposition: nothing at all. */
			error_text("", text != NULL ? text : "nothing found");
			ret = 0;
		} else {
			ret = ctlc_render_view(stdout, command, answer, &view);
		}
	} else {
		ret = 0;
	}
	if (!json && status == CTLC_EXIT_FAILURE) {
		snprintf(msg, sizeof(msg), "unexpected result %" JSON_INTEGER_FORMAT
			 " in the answer: ", result);
		error_text(msg, text);
	} else if (!json && result != 0 && result != 3) {
		error_text("", text != NULL && text[0] != '\0' ? text :
			   result == 2 ? "unsupported command" : "the server refused the command");
	}
	if (ret != 0) {
		fprintf(stderr, PROG ": cannot print the answer: %s\n", strerror(-ret));
		status = CTLC_EXIT_FAILURE;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write the output: %s\n", strerror(errno));
		status = CTLC_EXIT_FAILURE;
	}
out:
	json_decref(answer);
	ctlc_cmd_deinit(&cmd);
	return status;
}
