/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scap_flags.h - native flag values -> scap's PPM_* encodings.
 *
 * scap events carry some flags in their own bit layout (open flags, clone
 * flags, mmap prot/flags, fcntl and ptrace commands; mount flags and signal
 * numbers are the same as Linux's and pass through); readers
 * (sysdig, our inspector, Falco rules) interpret them that way.
 */
#ifndef SENTRY_SCAP_FLAGS_H
#define SENTRY_SCAP_FLAGS_H

#include <linux/fcntl.h>
#include <linux/sched.h>
#include <linux/mman.h>
#include <linux/ptrace.h>

#define PPM_O_RDONLY		(1 << 0)
#define PPM_O_WRONLY		(1 << 1)
#define PPM_O_RDWR		(PPM_O_RDONLY | PPM_O_WRONLY)
#define PPM_O_CREAT		(1 << 2)
#define PPM_O_APPEND		(1 << 3)
#define PPM_O_DSYNC		(1 << 4)
#define PPM_O_EXCL		(1 << 5)
#define PPM_O_NONBLOCK		(1 << 6)
#define PPM_O_SYNC		(1 << 7)
#define PPM_O_TRUNC		(1 << 8)
#define PPM_O_DIRECT		(1 << 9)
#define PPM_O_DIRECTORY		(1 << 10)
#define PPM_O_LARGEFILE		(1 << 11)
#define PPM_O_CLOEXEC		(1 << 12)
#define PPM_O_TMPFILE		(1 << 13)
#define PPM_O_F_CREATED		(1 << 14)

#define PPM_EXE_FROM_MEMFD	(1 << 2)

static inline u32 scap_open_flags(u32 f)
{
	u32 r;

	switch (f & O_ACCMODE) {
	case O_WRONLY:
		r = PPM_O_WRONLY;
		break;
	case O_RDWR:
		r = PPM_O_RDWR;
		break;
	default:
		r = PPM_O_RDONLY;
		break;
	}
	if (f & O_CREAT)
		r |= PPM_O_CREAT;
	if (f & O_APPEND)
		r |= PPM_O_APPEND;
	if (f & O_DSYNC)
		r |= PPM_O_DSYNC;
	if (f & O_EXCL)
		r |= PPM_O_EXCL;
	if (f & O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	if (f & __O_SYNC)
		r |= PPM_O_SYNC;
	if (f & O_TRUNC)
		r |= PPM_O_TRUNC;
	if (f & O_DIRECT)
		r |= PPM_O_DIRECT;
	if (f & O_DIRECTORY)
		r |= PPM_O_DIRECTORY;
	if (f & O_LARGEFILE)
		r |= PPM_O_LARGEFILE;
	if (f & O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	if (f & __O_TMPFILE)
		r |= PPM_O_TMPFILE;
	return r;
}

/* The mode argument matters only when a file may be created. */
static inline u32 scap_open_mode(u32 flags, u32 mode)
{
	return (flags & (O_CREAT | __O_TMPFILE)) ? (mode & 07777) : 0;
}

static inline u32 scap_clone_flags(u64 f)
{
	static const struct { u64 native; u32 ppm; } map[] = {
		{ CLONE_FILES, 1 << 0 }, { CLONE_FS, 1 << 1 }, { CLONE_IO, 1 << 2 },
		{ CLONE_NEWIPC, 1 << 3 }, { CLONE_NEWNET, 1 << 4 },
		{ CLONE_NEWNS, 1 << 5 }, { CLONE_NEWPID, 1 << 6 },
		{ CLONE_NEWUTS, 1 << 7 }, { CLONE_PARENT, 1 << 8 },
		{ CLONE_PARENT_SETTID, 1 << 9 }, { CLONE_PTRACE, 1 << 10 },
		{ CLONE_SIGHAND, 1 << 11 }, { CLONE_SYSVSEM, 1 << 12 },
		{ CLONE_THREAD, 1 << 13 }, { CLONE_UNTRACED, 1 << 14 },
		{ CLONE_VM, 1 << 15 }, { CLONE_NEWUSER, 1 << 20 },
		{ CLONE_CHILD_CLEARTID, 1 << 23 }, { CLONE_CHILD_SETTID, 1 << 24 },
		{ CLONE_SETTLS, 1 << 25 }, { CLONE_VFORK, 1 << 27 },
		{ CLONE_NEWCGROUP, 1 << 28 },
	};
	u32 r = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (f & map[i].native)
			r |= map[i].ppm;
	return r;
}

static inline u32 scap_prot_flags(u32 p)
{
	return (p & PROT_READ ? 1 << 0 : 0) | (p & PROT_WRITE ? 1 << 1 : 0) |
	       (p & PROT_EXEC ? 1 << 2 : 0) | (p & PROT_SEM ? 1 << 3 : 0) |
	       (p & PROT_GROWSDOWN ? 1 << 4 : 0) | (p & PROT_GROWSUP ? 1 << 5 : 0);
}

static inline u32 scap_mmap_flags(u32 f)
{
	return (f & MAP_SHARED ? 1 << 0 : 0) | (f & MAP_PRIVATE ? 1 << 1 : 0) |
	       (f & MAP_FIXED ? 1 << 2 : 0) | (f & MAP_ANONYMOUS ? 1 << 3 : 0) |
	       (f & MAP_32BIT ? 1 << 4 : 0) | (f & MAP_POPULATE ? 1 << 7 : 0) |
	       (f & MAP_NONBLOCK ? 1 << 8 : 0) | (f & MAP_LOCKED ? 1 << 14 : 0);
}

static inline u8 scap_fcntl_cmd(u32 cmd)
{
	switch (cmd) {
	case F_DUPFD: return 1;
	case F_GETFD: return 2;
	case F_SETFD: return 3;
	case F_GETFL: return 4;
	case F_SETFL: return 5;
	case F_GETLK: return 6;
	case F_SETLK: return 8;
	case F_SETLKW: return 9;
	case F_SETOWN: return 10;
	case F_GETOWN: return 12;
	case F_SETSIG: return 13;
	case F_GETSIG: return 15;
	case F_SETOWN_EX: return 21;
	case F_GETOWN_EX: return 22;
	case F_SETLEASE: return 23;
	case F_GETLEASE: return 24;
	case F_CANCELLK: return 25;
	case F_DUPFD_CLOEXEC: return 26;
	case F_NOTIFY: return 27;
	case F_SETPIPE_SZ: return 28;
	case F_GETPIPE_SZ: return 29;
	case F_OFD_GETLK: return 30;
	case F_OFD_SETLK: return 31;
	case F_OFD_SETLKW: return 32;
	default: return 0;
	}
}

static inline u16 scap_ptrace_request(long req)
{
	switch (req) {
	case PTRACE_TRACEME: return 1;
	case PTRACE_PEEKTEXT: return 2;
	case PTRACE_PEEKDATA: return 3;
	case PTRACE_PEEKUSR: return 4;
	case PTRACE_POKETEXT: return 5;
	case PTRACE_POKEDATA: return 6;
	case PTRACE_POKEUSR: return 7;
	case PTRACE_CONT: return 8;
	case PTRACE_KILL: return 9;
	case PTRACE_SINGLESTEP: return 10;
	case PTRACE_ATTACH: return 11;
	case PTRACE_DETACH: return 12;
	case PTRACE_SYSCALL: return 13;
	case PTRACE_SETOPTIONS: return 14;
	case PTRACE_GETEVENTMSG: return 15;
	case PTRACE_GETSIGINFO: return 16;
	case PTRACE_SETSIGINFO: return 17;
	case PTRACE_GETREGSET: return 18;
	case PTRACE_SETREGSET: return 19;
	case PTRACE_SEIZE: return 20;
	case PTRACE_INTERRUPT: return 21;
	case PTRACE_LISTEN: return 22;
	case PTRACE_PEEKSIGINFO: return 23;
	case PTRACE_GETSIGMASK: return 24;
	case PTRACE_SETSIGMASK: return 25;
	case PTRACE_GETREGS: return 26;
	case PTRACE_SETREGS: return 27;
	case PTRACE_GETFPREGS: return 28;
	case PTRACE_SETFPREGS: return 29;
	default: return 0;
	}
}

#endif /* SENTRY_SCAP_FLAGS_H */
