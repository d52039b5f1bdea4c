/*
 * blocking_copy.c - the copy you would write without io_uring: read() a
 * block, write() it, again. Correct, and two system calls per block, with
 * one block in flight at a time. Compare with the ring in ring_read.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* read-family and write-family system calls so far (/proc/self/io) */
static void io_calls(long *r, long *w)
{
	char buf[1024];
	int fd = open("/proc/self/io", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	*r = *w = -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strstr(buf, "syscr: "))
		*r = atol(strstr(buf, "syscr: ") + 7);
	if (strstr(buf, "syscw: "))
		*w = atol(strstr(buf, "syscw: ") + 7);
}

/* ANCHOR: loop */
static long copy_loop(int in, int out, char *buf, size_t block)
{
	long copied = 0;
	ssize_t got;

	while ((got = read(in, buf, block)) > 0) {   /* wait for the disk... */
		if (write(out, buf, (size_t)got) != got)  /* ...then wait again */
			return -1;
		copied += got;
	}
	return got < 0 ? -1 : copied;
}
/* ANCHOR_END: loop */

int main(void)
{
	char in_path[] = "/tmp/demo-copy-in-XXXXXX", out_path[] = "/tmp/demo-copy-out-XXXXXX";
	int in = mkstemp(in_path), out = mkstemp(out_path);
	static char buf[4096], data[1 << 20];
	long r0, w0, r1, w1, copied;

	if (in < 0 || out < 0)
		return perror("mkstemp"), 1;
	unlink(in_path);
	unlink(out_path);
	memset(data, 'x', sizeof(data));
	if (write(in, data, sizeof(data)) != (ssize_t)sizeof(data))
		return perror("write"), 1;
	lseek(in, 0, SEEK_SET);
	io_calls(&r0, &w0);
	copied = copy_loop(in, out, buf, sizeof(buf));
	io_calls(&r1, &w1);
	printf("copied %ld bytes in blocks of %zu: %ld read() and %ld write() system calls\n",
	       copied, sizeof(buf), r1 - r0 - 1, w1 - w0);
	return copied == (long)sizeof(data) ? 0 : 1;
}
