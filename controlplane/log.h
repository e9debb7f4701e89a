/*
 * log: one line per event on stderr, "TIME LEVEL message key=value ...".
 * LEVEL is the severity (enum cp_log_level).
 *
 * A line is always one line: cp_log() writes every control character of the formatted
 * message escaped (\n, \r, \t, \xNN), so no text from outside (a failover partner's reject
 * message, a string from the control socket) can start a forged line. Untrusted text that
 * goes into a value goes through cp_log_esc() too, so that it cannot close a quoted value and
 * add keys of its own either.
 *
 * Control thread and start-up code only; workers never log (they count).
 */
#pragma once

#include <stddef.h>

#include "lw_attr.h"

/*
 * Severities, written as the LEVEL word of the line: "critical", "error", "warning", "info",
 * "debug". Failover events use the first four as Windows' event levels do (critical: time out
 * of sync; error: leaving NORMAL, entering PARTNER-DOWN; information: entering NORMAL; warning:
 * any other state change).
 */
enum cp_log_level {
	CP_LOG_CRIT = 0,
	CP_LOG_ERR = 1,
	CP_LOG_WARN = 2,
	CP_LOG_INFO = 3,
	CP_LOG_DEBUG = 4,
};

/** Messages above this level are not written. Default CP_LOG_INFO. */
extern enum cp_log_level cp_log_level;

/** Write one log line (a newline is added; control characters in the message are escaped). */
_printf_(2, 3)
void cp_log(enum cp_log_level level, const char *fmt, ...);

/** Room cp_log_esc() needs for @p n bytes of text: every byte may become \xNN. */
#define CP_LOG_ESC_SIZE(n) (4 * (size_t)(n) + 1)

/**
 * Make untrusted text safe as a log value: '"' and '\' are preceded by '\', control
 * characters and bytes 0x7f and above become \xNN. Reads up to @p n bytes of @p s, stopping at
 * a NUL (s may be NULL: ""). Truncated, never mid-escape, to fit @p out (@p size bytes,
 * CP_LOG_ESC_SIZE(n) to hold it all); always NUL-terminated when @p size > 0.
 * @return @p out (for use as a %s argument). Any thread; the caller owns @p out.
 */
const char *cp_log_esc(char *out, size_t size, const char *s, size_t n);
