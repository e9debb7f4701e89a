#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

enum cp_log_level cp_log_level = CP_LOG_INFO;

const char *cp_log_esc(char *out, size_t size, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (size == 0) {
		return out;
	}
	for (size_t i = 0; s != NULL && i < n && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[4];
		size_t k = 0;

		if (c == '"' || c == '\\') {
			e[k++] = '\\';
			e[k++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			e[k++] = '\\';
			e[k++] = 'x';
			e[k++] = hex[c >> 4];
			e[k++] = hex[c & 15];
		} else {
			e[k++] = (char)c;
		}
		if (o + k >= size) {
			break;
		}
		for (size_t j = 0; j < k; j++) {
			out[o++] = e[j];
		}
	}
	out[o] = '\0';
	return out;
}

/* The message with its control characters escaped: one line whatever it holds. */
static void put_line(const char *msg, FILE *f)
{
	for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++) {
		if (*p == '\n') {
			fputs("\\n", f);
		} else if (*p == '\r') {
			fputs("\\r", f);
		} else if (*p == '\t') {
			fputs("\\t", f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", *p);
		} else {
			fputc(*p, f);
		}
	}
}

void cp_log(enum cp_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"critical", "error", "warning", "info", "debug"};
	char stamp[32], buf[4096], *msg = buf;
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level > cp_log_level) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) && (msg = malloc((size_t)n + 1)) != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	} else if (msg == NULL) {
		msg = buf;	/* out of memory: the line is cut, still one line */
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000, names[level]);
	put_line(n < 0 ? fmt : msg, stderr);
	fputc('\n', stderr);
	funlockfile(stderr);
	if (msg != buf) {
		free(msg);
	}
}
