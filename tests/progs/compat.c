// SPDX-License-Identifier: GPL-2.0
/*
 * compat.c - built static as an i386 (-m32) and an x32 (-mx32) program: what a 32-bit
 * binary would do to escape a driver that ignores 32-bit system calls.
 *
 * usage: compat FILE1 FILE2 PORT EXE
 *   opens FILE1 for writing through libc (openat), FILE2 through the raw open syscall,
 *   connects to 127.0.0.1:PORT (i386 libc: socketcall), makes one call that has no
 *   x86_64 counterpart (dropped and counted by the drivers), then execs EXE "from-compat".
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, s;

	if (argc != 5) {
		fprintf(stderr, "usage: %s FILE1 FILE2 PORT EXE\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "compat\n", 7) != 7 || close(fd))
		return perror(argv[1]), 1;
	fd = syscall(SYS_open, argv[2], O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || close(fd))
		return perror(argv[2]), 1;
	s = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons(atoi(argv[3]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		return perror("connect"), 1;
	close(s);
#ifdef __i386__
	syscall(34, 0);			/* nice(2): no x86_64 counterpart */
#else
	syscall(__X32_SYSCALL_BIT + 600);	/* past the x32 table: ENOSYS */
#endif
	execl(argv[4], argv[4], "from-compat", (char *)NULL);
	perror(argv[4]);
	return 1;
}
