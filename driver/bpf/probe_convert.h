/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe_convert.h - flags and codes in scap's encodings where they differ from the
 * kernel's, and small reads of user memory.
 * Included once, by sentry.bpf.c, after probe_helpers.h.
 */
#ifndef SENTRY_PROBE_CONVERT_H
#define SENTRY_PROBE_CONVERT_H

/* ---- flags in scap's encodings -------------------------------------------- */

#define K_O_WRONLY	01
#define K_O_RDWR	02
#define K_O_CREAT	0100
#define K_O_EXCL	0200
#define K_O_TRUNC	01000
#define K_O_APPEND	02000
#define K_O_NONBLOCK	04000
#define K_O_DSYNC	010000
#define K_O_DIRECT	040000
#define K_O_LARGEFILE	0100000
#define K_O_DIRECTORY	0200000
#define K_O_NOFOLLOW	0400000
#define K_O_CLOEXEC	02000000
#define K_O_SYNC	04000000
#define K_O_TMPFILE	020000000

static __always_inline __u32 open_flags_to_scap(__u64 f)
{
	__u32 r = 0;

	if ((f & 3) == 0)
		r |= SCAP_O_RDONLY;
	else if ((f & 3) == K_O_WRONLY)
		r |= SCAP_O_WRONLY;
	else if ((f & 3) == K_O_RDWR)
		r |= SCAP_O_RDWR;
	if (f & K_O_CREAT)
		r |= SCAP_O_CREAT;
	if (f & K_O_APPEND)
		r |= SCAP_O_APPEND;
	if (f & K_O_DSYNC)
		r |= SCAP_O_DSYNC;
	if (f & K_O_EXCL)
		r |= SCAP_O_EXCL;
	if (f & K_O_NONBLOCK)
		r |= SCAP_O_NONBLOCK;
	if (f & K_O_SYNC)
		r |= SCAP_O_SYNC;
	if (f & K_O_TRUNC)
		r |= SCAP_O_TRUNC;
	if (f & K_O_DIRECT)
		r |= SCAP_O_DIRECT;
	if (f & K_O_DIRECTORY)
		r |= SCAP_O_DIRECTORY;
	if (f & K_O_LARGEFILE)
		r |= SCAP_O_LARGEFILE;
	if (f & K_O_CLOEXEC)
		r |= SCAP_O_CLOEXEC;
	if ((f & K_O_TMPFILE) == K_O_TMPFILE)
		r |= SCAP_O_TMPFILE;
	return r;
}

/* The mode argument matters only when the call may create a file. */
static __always_inline __u32 open_mode_to_scap(__u64 flags, __u64 mode)
{
	return (flags & (K_O_CREAT | K_O_TMPFILE)) ? (mode & 07777) : 0;
}

#define K_CLONE_VM		0x00000100
#define K_CLONE_FS		0x00000200
#define K_CLONE_FILES		0x00000400
#define K_CLONE_SIGHAND		0x00000800
#define K_CLONE_PTRACE		0x00002000
#define K_CLONE_VFORK		0x00004000
#define K_CLONE_PARENT		0x00008000
#define K_CLONE_THREAD		0x00010000
#define K_CLONE_NEWNS		0x00020000
#define K_CLONE_SYSVSEM		0x00040000
#define K_CLONE_SETTLS		0x00080000
#define K_CLONE_PARENT_SETTID	0x00100000
#define K_CLONE_CHILD_CLEARTID	0x00200000
#define K_CLONE_UNTRACED	0x00800000
#define K_CLONE_CHILD_SETTID	0x01000000
#define K_CLONE_NEWCGROUP	0x02000000
#define K_CLONE_NEWUTS		0x04000000
#define K_CLONE_NEWIPC		0x08000000
#define K_CLONE_NEWUSER		0x10000000
#define K_CLONE_NEWPID		0x20000000
#define K_CLONE_NEWNET		0x40000000
#define K_CLONE_IO		0x80000000

static __always_inline __u32 clone_flags_to_scap(__u64 f)
{
	__u32 r = 0;

	if (f & K_CLONE_FILES)
		r |= SCAP_CL_CLONE_FILES;
	if (f & K_CLONE_FS)
		r |= SCAP_CL_CLONE_FS;
	if (f & K_CLONE_IO)
		r |= SCAP_CL_CLONE_IO;
	if (f & K_CLONE_NEWIPC)
		r |= SCAP_CL_CLONE_NEWIPC;
	if (f & K_CLONE_NEWNET)
		r |= SCAP_CL_CLONE_NEWNET;
	if (f & K_CLONE_NEWNS)
		r |= SCAP_CL_CLONE_NEWNS;
	if (f & K_CLONE_NEWPID)
		r |= SCAP_CL_CLONE_NEWPID;
	if (f & K_CLONE_NEWUTS)
		r |= SCAP_CL_CLONE_NEWUTS;
	if (f & K_CLONE_PARENT)
		r |= SCAP_CL_CLONE_PARENT;
	if (f & K_CLONE_PARENT_SETTID)
		r |= SCAP_CL_CLONE_PARENT_SETTID;
	if (f & K_CLONE_PTRACE)
		r |= SCAP_CL_CLONE_PTRACE;
	if (f & K_CLONE_SIGHAND)
		r |= SCAP_CL_CLONE_SIGHAND;
	if (f & K_CLONE_SYSVSEM)
		r |= SCAP_CL_CLONE_SYSVSEM;
	if (f & K_CLONE_THREAD)
		r |= SCAP_CL_CLONE_THREAD;
	if (f & K_CLONE_UNTRACED)
		r |= SCAP_CL_CLONE_UNTRACED;
	if (f & K_CLONE_VM)
		r |= SCAP_CL_CLONE_VM;
	if (f & K_CLONE_NEWUSER)
		r |= SCAP_CL_CLONE_NEWUSER;
	if (f & K_CLONE_CHILD_CLEARTID)
		r |= SCAP_CL_CLONE_CHILD_CLEARTID;
	if (f & K_CLONE_CHILD_SETTID)
		r |= SCAP_CL_CLONE_CHILD_SETTID;
	if (f & K_CLONE_SETTLS)
		r |= SCAP_CL_CLONE_SETTLS;
	if (f & K_CLONE_VFORK)
		r |= SCAP_CL_CLONE_VFORK;
	if (f & K_CLONE_NEWCGROUP)
		r |= SCAP_CL_CLONE_NEWCGROUP;
	return r;
}

#define K_PROT_READ	0x1
#define K_PROT_WRITE	0x2
#define K_PROT_EXEC	0x4

static __always_inline __u32 prot_to_scap(__u64 p)
{
	__u32 r = 0;

	if (p & K_PROT_READ)
		r |= SCAP_PROT_READ;
	if (p & K_PROT_WRITE)
		r |= SCAP_PROT_WRITE;
	if (p & K_PROT_EXEC)
		r |= SCAP_PROT_EXEC;
	if (!p)
		r = SCAP_PROT_NONE;
	return r;
}

#define K_MAP_SHARED	0x01
#define K_MAP_PRIVATE	0x02
#define K_MAP_FIXED	0x10
#define K_MAP_ANONYMOUS	0x20
#define K_MAP_32BIT	0x40
#define K_MAP_GROWSDOWN	0x0100
#define K_MAP_DENYWRITE	0x0800
#define K_MAP_EXECUTABLE 0x1000
#define K_MAP_LOCKED	0x2000
#define K_MAP_NORESERVE	0x4000
#define K_MAP_POPULATE	0x8000
#define K_MAP_NONBLOCK	0x10000

static __always_inline __u32 mmap_flags_to_scap(__u64 f)
{
	__u32 r = 0;

	if (f & K_MAP_SHARED)
		r |= SCAP_MAP_SHARED;
	if (f & K_MAP_PRIVATE)
		r |= SCAP_MAP_PRIVATE;
	if (f & K_MAP_FIXED)
		r |= SCAP_MAP_FIXED;
	if (f & K_MAP_ANONYMOUS)
		r |= SCAP_MAP_ANONYMOUS;
	if (f & K_MAP_32BIT)
		r |= SCAP_MAP_32BIT;
	if (f & K_MAP_GROWSDOWN)
		r |= SCAP_MAP_GROWSDOWN;
	if (f & K_MAP_DENYWRITE)
		r |= SCAP_MAP_DENYWRITE;
	if (f & K_MAP_EXECUTABLE)
		r |= SCAP_MAP_EXECUTABLE;
	if (f & K_MAP_LOCKED)
		r |= SCAP_MAP_LOCKED;
	if (f & K_MAP_NORESERVE)
		r |= SCAP_MAP_NORESERVE;
	if (f & K_MAP_POPULATE)
		r |= SCAP_MAP_POPULATE;
	if (f & K_MAP_NONBLOCK)
		r |= SCAP_MAP_NONBLOCK;
	return r;
}

/* ---- small converters --------------------------------------------------- */

static __always_inline __u8 fcntl_cmd_to_scap(__u64 cmd)
{
	switch (cmd) {
	case 0: return 1;	/* F_DUPFD */
	case 1: return 2;	/* F_GETFD */
	case 2: return 3;	/* F_SETFD */
	case 3: return 4;	/* F_GETFL */
	case 4: return 5;	/* F_SETFL */
	case 5: return 6;	/* F_GETLK */
	case 6: return 8;	/* F_SETLK */
	case 7: return 9;	/* F_SETLKW */
	case 8: return 10;	/* F_SETOWN */
	case 9: return 12;	/* F_GETOWN */
	case 10: return 13;	/* F_SETSIG */
	case 11: return 15;	/* F_GETSIG */
	case 15: return 21;	/* F_SETOWN_EX */
	case 16: return 22;	/* F_GETOWN_EX */
	case 36: return 30;	/* F_OFD_GETLK */
	case 37: return 31;	/* F_OFD_SETLK */
	case 38: return 32;	/* F_OFD_SETLKW */
	case 1024: return 23;	/* F_SETLEASE */
	case 1025: return 24;	/* F_GETLEASE */
	case 1026: return 27;	/* F_NOTIFY */
	case 1029: return 25;	/* F_CANCELLK */
	case 1030: return 26;	/* F_DUPFD_CLOEXEC */
	case 1031: return 28;	/* F_SETPIPE_SZ */
	case 1032: return 29;	/* F_GETPIPE_SZ */
	default: return 0;
	}
}

static __always_inline __u16 ptrace_req_to_scap(__u64 req)
{
	if (req <= 9)
		return req + 1;		/* TRACEME .. SINGLESTEP */
	switch (req) {
	case 12: return 26;	/* GETREGS */
	case 13: return 27;	/* SETREGS */
	case 14: return 28;	/* GETFPREGS */
	case 15: return 29;	/* SETFPREGS */
	case 16: return 11;	/* ATTACH */
	case 17: return 12;	/* DETACH */
	case 18: return 30;	/* GETFPXREGS */
	case 19: return 31;	/* SETFPXREGS */
	case 24: return 13;	/* SYSCALL */
	case 0x4200: return 14;	/* SETOPTIONS */
	case 0x4201: return 15;	/* GETEVENTMSG */
	case 0x4202: return 16;	/* GETSIGINFO */
	case 0x4203: return 17;	/* SETSIGINFO */
	case 0x4204: return 18;	/* GETREGSET */
	case 0x4205: return 19;	/* SETREGSET */
	case 0x4206: return 20;	/* SEIZE */
	case 0x4207: return 21;	/* INTERRUPT */
	case 0x4208: return 22;	/* LISTEN */
	case 0x4209: return 23;	/* PEEKSIGINFO */
	case 0x420a: return 24;	/* GETSIGMASK */
	case 0x420b: return 25;	/* SETSIGMASK */
	default: return 0;
	}
}

/* scap's eventfd flags: semaphore, nonblock, cloexec as bits 0..2. */
static __always_inline __u32 eventfd_flags_to_scap(__u64 f)
{
	return (f & 1 ? 1 << 0 : 0) | (f & K_O_NONBLOCK ? 1 << 1 : 0) |
	       (f & K_O_CLOEXEC ? 1 << 2 : 0);
}

static __always_inline __u32 resolve_to_scap(__u64 r)
{
	__u32 out = 0;

	if (r & 0x08)
		out |= SCAP_RESOLVE_BENEATH;
	if (r & 0x10)
		out |= SCAP_RESOLVE_IN_ROOT;
	if (r & 0x02)
		out |= SCAP_RESOLVE_NO_MAGICLINKS;
	if (r & 0x04)
		out |= SCAP_RESOLVE_NO_SYMLINKS;
	if (r & 0x01)
		out |= SCAP_RESOLVE_NO_XDEV;
	if (r & 0x20)
		out |= SCAP_RESOLVE_CACHED;
	return out;
}

static __always_inline __u32 execveat_flags_to_scap(__u64 f)
{
	__u32 out = 0;

	if (f & 0x1000)
		out |= SCAP_EXVAT_AT_EMPTY_PATH;
	if (f & 0x100)
		out |= SCAP_EXVAT_AT_SYMLINK_NOFOLLOW;
	return out;
}

static __always_inline __u64 mount_flags_to_scap(__u64 f)
{
	if ((f & 0xffff0000) == 0xc0ed0000)	/* MS_MGC_VAL magic of old callers */
		f &= ~0xffff0000ULL;
	return f & 0xffffffff;
}

static __always_inline __u64 uptr_u64(__u64 uptr, __u32 idx)
{
	__u64 v = 0;

	if (uptr)
		bpf_probe_read_user(&v, sizeof(v), (void *)(uptr + 8 * (idx & 7)));
	return v;
}

static __always_inline __u32 uptr_u32(__u64 uptr, __u32 idx)
{
	__u32 v = 0;

	if (uptr)
		bpf_probe_read_user(&v, sizeof(v), (void *)(uptr + 4 * (idx & 7)));
	return v;
}

#endif /* SENTRY_PROBE_CONVERT_H */
