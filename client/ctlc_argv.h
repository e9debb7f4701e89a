/*
 * ctlc_argv: the leasewirectl command line, its help and its shell completion.
 *
 * One row per command line form (client/ctlc_argv.c): the words, the synopsis shown in
 * errors and --help, the positional arguments, the options it accepts and a builder that
 * turns the checked words into the request's "arguments". The protocol command, its help
 * line and its argument keys come from common/ctl_proto.h, and every request built is
 * checked against the protocol table before it is returned, so the client cannot send what
 * the server's table refuses. Any thread; no state.
 */
#pragma once

#include <stdio.h>

#include <jansson.h>

#include "lw_attr.h"

/* struct ctlc_cmd.flags and struct ctlc_view.flags */
/** The request is a lease4-get-page request: fetch every page with ctlc_call_all(). */
#define CTLC_F_PAGED		(1u << 0)
/** Print the statistics (or failover status) in the Prometheus text format, not a table. */
#define CTLC_F_PROMETHEUS	(1u << 1)
/** Show everything, including the zero drop-* counters a table normally hides. */
#define CTLC_F_ALL		(1u << 2)
/** Print the answer as JSON whatever the command (the "raw" command sets this). */
#define CTLC_F_JSON		(1u << 3)
/** Send nothing: print the bash completion script (ctlc_completion_bash()) instead. */
#define CTLC_F_COMPLETION	(1u << 4)

/**
 * One parsed command line: the request to send and how to show its answer.
 *
 * Initialise with `struct ctlc_cmd c = {0};` and release with ctlc_cmd_deinit().
 */
struct ctlc_cmd {
	json_t *request;	/**< {"command": ..., "arguments"?: ...}; owned, NULL on error
				     and for CTLC_F_COMPLETION */
	const char *synopsis;	/**< static usage line of the command, without the program
				     name; set as soon as the command words were recognised
				     (also when its arguments were wrong), else NULL */
	unsigned int flags;	/**< CTLC_F_* */
};

/**
 * @brief Turn a leasewirectl command line into a protocol request.
 *
 * @p argv starts with the command word (the global options have been taken off already):
 * `{"lease", "show", "02:00:5e:12:00:05"}` gives `{"command": "lease4-get", "arguments":
 * {"hw-address": "02:00:5e:12:00:05"}}`. Addresses, MAC addresses, client ids, lifetimes,
 * states and ranges are checked and normalised here; FILE arguments are read ("-" is
 * standard input) and must hold one JSON object.
 *
 * @param argc   number of words in @p argv.
 * @param argv   the words; not modified.
 * @param cmd    receives the request, the command's synopsis and its CTLC_F_* flags. Must be
 *               zeroed (or deinitialised) by the caller; on failure cmd->request is NULL but
 *               cmd->synopsis may be set.
 * @param err    receives the message on failure, without the program name, for instance
 *               `lease add: missing --mac or --client-id`.
 * @param errlen size of @p err.
 * @return 0, or
 *         -EINVAL  the command line is wrong (a usage error);
 *         -EBADMSG a FILE (or "-" input) is not valid JSON or not a JSON object; the message
 *                  is "PATH:LINE:COLUMN: invalid JSON: reason" or "PATH: ...";
 *         -ENOMEM;
 *         another negative errno when a FILE cannot be read ("cannot read PATH: reason").
 * @note Any thread, but reading "-" consumes standard input.
 */
_mustcheck_
int ctlc_parse_argv(int argc, char **argv, struct ctlc_cmd *cmd, char *err, size_t errlen);

/**
 * @brief Release what ctlc_parse_argv() stored in @p cmd and zero it.
 * @param cmd may be NULL; a zeroed @p cmd is fine.
 */
void ctlc_cmd_deinit(struct ctlc_cmd *cmd);

/**
 * @brief The request part of ctlc_parse_argv(), for callers that need nothing else.
 *
 * @param req receives the request (new reference, release with json_decref()) or NULL.
 * @return as ctlc_parse_argv().
 */
_mustcheck_
int ctlc_request_from_argv(int argc, char **argv, json_t **req, char *err, size_t errlen);

/**
 * @brief Print every command's synopsis and a one-line description, for --help.
 * @param out stream to write to.
 */
void ctlc_usage_commands(FILE *out);

/** One command line form, as ctlc_cli_get() describes it (every string is static). */
struct ctlc_cli {
	const char *word;		/**< "lease" */
	const char *sub;		/**< "add", or NULL */
	const char *synopsis;		/**< "lease add ADDRESS (--mac MAC | ...) ..." */
	const char *help;		/**< the --help line (from the protocol table) */
	const char *command;		/**< protocol command sent, NULL for raw/completion */
	const char *options[16];	/**< long option names without "--", NULL-terminated */
};

/** @brief Number of command line forms (rows of --help). */
size_t ctlc_cli_count(void);

/**
 * @brief Describe command line form @p i (0 .. ctlc_cli_count() - 1), in --help order.
 * @return 0, or -ENOENT when @p i is out of range.
 * @note Any thread. For the documentation check (tests) and completion.
 */
_mustcheck_
int ctlc_cli_get(size_t i, struct ctlc_cli *out);

/**
 * @brief Print a bash completion script for leasewirectl, built from the command rows:
 *        global options, command words, subcommands, each command's options, file names.
 * @param out stream to write to (write errors are left in its error indicator).
 * @return 0, or -ENOMEM.
 */
_mustcheck_
int ctlc_completion_bash(FILE *out);
