/*
 * dirsync: fsync a directory, find the directory that holds a path (see dirsync.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dirsync.h"

int store_dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0) {
		return -errno;
	}
	if (fsync(fd) != 0) {
		ret = -errno;
	}
	close(fd);
	return ret;
}

int store_dir_parent(const char *path, char *out, size_t outlen)
{
	size_t end = strlen(path);

	if (outlen == 0) {
		return -ENAMETOOLONG;
	}
	out[0] = '\0';
	while (end > 1 && path[end - 1] == '/') {	/* "a/b/" names b, as "a/b" */
		end--;
	}
	while (end > 0 && path[end - 1] != '/') {	/* the last name */
		end--;
	}
	if (end == 0) {
		path = ".";
		end = 1;
	} else {
		while (end > 1 && path[end - 1] == '/') {	/* "a//b" is in "a", "/b" in "/" */
			end--;
		}
	}
	if (end >= outlen) {
		return -ENAMETOOLONG;
	}
	memcpy(out, path, end);
	out[end] = '\0';
	return 0;
}
