/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * sentry_sampling.h - the syscalls that sampling ("dropping mode", SET_SAMPLING n > 1)
 * treats apart, shared by the kernel module and the eBPF probe so that both drop alike.
 *
 * As in scap's drivers: an event is kept when its timestamp falls in the first 1/n of
 * its second, except that the syscalls below marked never-drop (scap's UF_NEVER_DROP:
 * those that create or replace processes, file descriptors, working directory and
 * limits, the state a reader rebuilds) are always kept, and those marked always-drop
 * (UF_ALWAYS_DROP: frequent, stateless) are never kept while sampling. procexit is
 * never dropped either. Every event not written is counted in n_suppressed.
 *
 * X-macro lists of x86_64 syscall names; the includer needs the __NR_ constants
 * (asm/unistd_64.h) and defines X. Not for cffi.
 */
#ifndef SENTRY_SAMPLING_H
#define SENTRY_SAMPLING_H

#define SENTRY_NEVER_DROP_SYSCALLS(X) \
	X(open) X(creat) X(openat) X(close) \
	X(execve) X(execveat) X(clone) X(clone3) X(fork) X(vfork) \
	X(pipe) X(pipe2) X(eventfd) X(eventfd2) X(signalfd) X(signalfd4) \
	X(timerfd_create) X(inotify_init) X(inotify_init1) X(userfaultfd) \
	X(dup) X(dup2) X(dup3) X(socket) X(socketpair) X(bind) \
	X(chdir) X(fchdir) X(chroot) X(getrlimit) X(setrlimit) X(prlimit64)

#define SENTRY_ALWAYS_DROP_SYSCALLS(X) \
	X(brk) X(mmap) X(munmap) X(futex) X(nanosleep) X(alarm) X(pause) \
	X(stat) X(lstat) X(fstat) X(access) X(getcwd) X(lseek) X(ioctl) X(flock) \
	X(getdents) X(getdents64) X(utime) X(uselib) X(syslog) \
	X(poll) X(ppoll) X(select) X(pselect6) X(epoll_create) X(epoll_ctl) X(epoll_wait) \
	X(getsockname) X(getpeername) X(setsockopt) X(semop) X(semget) X(semctl) \
	X(sched_setparam) X(sched_getparam) X(setsid) X(setpgid) X(unshare)

#endif /* SENTRY_SAMPLING_H */
