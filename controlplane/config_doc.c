/*
 * lw-config-doc: the configuration tables of README.md and leasewired(8), printed from the
 * schema (config_schema.c), so the documentation cannot drift from the parser.
 *
 *   lw-config-doc markdown|man "SECTIONS"   print the rows of those top-level keys
 *   lw-config-doc check FILE...             exit 1 unless every marked block is current
 *   lw-config-doc update FILE...            rewrite the marked blocks
 *
 * A block is the text between a marker line and its end line:
 *   <!-- config-table: server ports scopes -->  ...  <!-- end config-table -->     (markdown)
 *   .\" config-table: relationships             ...  .\" end config-table          (man)
 * `meson test` runs "check" on README.md and doc/leasewired.8 (suite unit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

static const struct marker {
	const char *begin, *end, *close;	/* begin is followed by SECTIONS then close */
	enum cp_doc_format fmt;
} markers[] = {
	{ "<!-- config-table: ", "<!-- end config-table -->", " -->", CP_DOC_MARKDOWN },
	{ ".\\\" config-table: ", ".\\\" end config-table", "", CP_DOC_MAN },
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (f == NULL) {
		return NULL;
	}
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);

			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + *len, 1, 4096, f);

		*len += got;
		if (got == 0) {
			break;
		}
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* The file with every block regenerated, or NULL (message printed). */
static char *regenerate(const char *path, const char *text, unsigned int *blocks)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *o = open_memstream(&out, &outlen);
	const char *s = text;

	*blocks = 0;
	if (o == NULL) {
		return NULL;
	}
	while (*s != '\0') {
		const char *eol = strchr(s, '\n');
		size_t n = eol != NULL ? (size_t)(eol - s) + 1 : strlen(s);
		const struct marker *m = NULL;

		fwrite(s, 1, n, o);
		for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
			if (strncmp(s, markers[i].begin, strlen(markers[i].begin)) == 0) {
				m = &markers[i];
			}
		}
		s += n;
		if (m != NULL) {
			const char *sec = s - n + strlen(m->begin), *end;
			char sections[256];
			size_t sl = (size_t)(strchr(sec, '\n') - sec) - strlen(m->close);

			if (sl >= sizeof(sections)) {
				sl = sizeof(sections) - 1;
			}
			memcpy(sections, sec, sl);
			sections[sl] = '\0';
			end = strstr(s, m->end);
			if (end == NULL || cp_config_doc(o, m->fmt, sections) != 0) {
				fprintf(stderr, "%s: block \"%s\": %s\n", path, sections,
					end == NULL ? "no end marker" : "unknown section");
				fclose(o);
				free(out);
				return NULL;
			}
			s = end;
			(*blocks)++;
		}
	}
	fclose(o);
	return out;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc == 3 && (strcmp(argv[1], "markdown") == 0 || strcmp(argv[1], "man") == 0)) {
		return cp_config_doc(stdout, argv[1][1] == 'a' ? CP_DOC_MARKDOWN : CP_DOC_MAN,
				     argv[2]) == 0 ? 0 : 1;
	}
	if (argc < 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "update") != 0)) {
		fprintf(stderr, "usage: %s markdown|man SECTIONS | check|update FILE...\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		unsigned int blocks = 0;
		size_t len;
		char *text = slurp(argv[i], &len), *fresh;

		if (text == NULL) {
			perror(argv[i]);
			return 1;
		}
		fresh = regenerate(argv[i], text, &blocks);
		if (fresh == NULL || blocks == 0) {
			fprintf(stderr, "%s: no configuration table block\n", argv[i]);
			rc = 1;
		} else if (strcmp(fresh, text) != 0) {
			if (argv[1][0] == 'u') {
				FILE *f = fopen(argv[i], "wb");

				if (f == NULL || fputs(fresh, f) < 0 || fclose(f) != 0) {
					perror(argv[i]);
					rc = 1;
				}
			} else {
				fprintf(stderr, "%s: the configuration table differs from "
					"the schema (controlplane/config_schema.c); run: "
					"lw-config-doc update %s\n", argv[i], argv[i]);
				rc = 1;
			}
		}
		free(fresh);
		free(text);
	}
	return rc;
}
