/*
 * log: one line per event on stderr, "TIME LEVEL message key=value ...".
 *
 * Control thread and start-up code only; workers never log (they count).
 */
#pragma once

enum cp_log_level { CP_LOG_ERR = 0, CP_LOG_WARN = 1, CP_LOG_INFO = 2, CP_LOG_DEBUG = 3 };

/** Messages above this level are not written. Default CP_LOG_INFO. */
extern enum cp_log_level cp_log_level;

/** Write one log line (a newline is added). */
__attribute__((format(printf, 2, 3)))
void cp_log(enum cp_log_level level, const char *fmt, ...);
