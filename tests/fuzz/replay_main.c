/*
 * Replay driver for the fuzz harnesses when they are not built with libFuzzer: runs
 * LLVMFuzzerTestOneInput on every regular file of a corpus directory, in name order, so that
 * `meson test` exercises the corpus (under the sanitizers of the build, if any).
 *
 * Each input is read into a buffer of exactly its size, so that ASan sees a read past the end.
 * An empty or missing directory is a failure: a corpus that silently vanished must not pass.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read @p path and run the harness on it. Returns 0, or -1 with a message printed. */
static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;
	int ret = -1;

	if (!fp) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: cannot size\n", path);
		goto out;
	}
	/* Exactly the input's size (malloc(0) may return NULL, so at least 1). */
	buf = malloc(size ? (size_t)size : 1);
	if (!buf) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	ret = 0;
out:
	fclose(fp);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	char path[4096];
	struct stat st;
	int ret = 1;
	DIR *dir;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 1;
	}
	dir = opendir(argv[1]);
	if (!dir) {
		fprintf(stderr, "replay: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((de = readdir(dir)) != NULL) {
		int plen = snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);

		if (plen < 0 || (size_t)plen >= sizeof(path) || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode)) {
			continue;
		}
		if (n == cap) {
			char **grown;

			cap = cap ? 2 * cap : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				goto out;
			}
			names = grown;
		}
		names[n] = malloc(strlen(de->d_name) + 1);
		if (!names[n]) {
			goto out;
		}
		strcpy(names[n], de->d_name);
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "replay: %s: no inputs\n", argv[1]);
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		if (replay_file(path) != 0) {
			goto out;
		}
	}
	printf("replayed %zu inputs\n", n);
	ret = 0;
out:
	closedir(dir);
	for (i = 0; i < n; i++) {
		free(names[i]);
	}
	free(names);
	return ret;
}
