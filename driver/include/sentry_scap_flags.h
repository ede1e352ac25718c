/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sentry_scap_flags.h - native flag values -> scap's encodings, the one
 * definition shared by the kernel module and the eBPF probe.
 *
 * scap events carry some flags in their own bit layout (facts from
 * falcosecurity/libs' ppm_events_public.h): open, clone, mmap prot and flags,
 * fcntl and ptrace commands, openat2 resolve, execveat and eventfd flags,
 * poll events.
 * Values scap shares with Linux (mount and umount flags, signals, *at flags,
 * lseek, shutdown, socket families, ...) pass through; readers (sysdig, our
 * inspector, Falco rules) interpret them that way.
 *
 * The probe sees no kernel macros (vmlinux.h holds types only), so the native
 * values are spelled here as numbers (x86-64 Linux, K_*); the module checks
 * them against the kernel's own headers at build time (end of this file).
 *
 * Include after the basic types (__u8 .. __u64 and __always_inline):
 * linux/types.h in the module, vmlinux.h and bpf_helpers.h in the probe.
 */
#ifndef SENTRY_SCAP_FLAGS_H
#define SENTRY_SCAP_FLAGS_H

/* ---- scap's encodings: generated (driver/gen_headers.py) ----------------- */

#include "sentry_scap_values.h"

/* ---- native values (x86-64 Linux) ---------------------------------------- */

#define K_OVERLAYFS_SUPER_MAGIC	0x794c7630

#define K_O_ACCMODE	03
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
#define K_O_CLOEXEC	02000000
#define K_O_SYNC	04000000	/* __O_SYNC: O_SYNC without O_DSYNC */
#define K_O_TMPFILE	020000000	/* __O_TMPFILE: O_TMPFILE without O_DIRECTORY */

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
#define K_CLONE_IO		0x80000000ULL

#define K_PROT_READ		0x1
#define K_PROT_WRITE		0x2
#define K_PROT_EXEC		0x4
#define K_PROT_SEM		0x8
#define K_PROT_GROWSDOWN	0x01000000
#define K_PROT_GROWSUP		0x02000000

#define K_MAP_SHARED		0x01
#define K_MAP_PRIVATE		0x02
#define K_MAP_FIXED		0x10
#define K_MAP_ANONYMOUS		0x20
#define K_MAP_32BIT		0x40
#define K_MAP_GROWSDOWN		0x0100
#define K_MAP_DENYWRITE		0x0800
#define K_MAP_EXECUTABLE	0x1000
#define K_MAP_LOCKED		0x2000
#define K_MAP_NORESERVE		0x4000
#define K_MAP_POPULATE		0x8000
#define K_MAP_NONBLOCK		0x10000

#define K_RESOLVE_NO_XDEV		0x01
#define K_RESOLVE_NO_MAGICLINKS		0x02
#define K_RESOLVE_NO_SYMLINKS		0x04
#define K_RESOLVE_BENEATH		0x08
#define K_RESOLVE_IN_ROOT		0x10
#define K_RESOLVE_CACHED		0x20

#define K_AT_SYMLINK_NOFOLLOW	0x100
#define K_AT_EMPTY_PATH		0x1000

#define K_EFD_SEMAPHORE		1

#define K_POLLIN		0x001
#define K_POLLPRI		0x002
#define K_POLLOUT		0x004
#define K_POLLERR		0x008
#define K_POLLHUP		0x010
#define K_POLLNVAL		0x020
#define K_POLLRDNORM		0x040
#define K_POLLRDBAND		0x080
#define K_POLLWRNORM		0x100
#define K_POLLWRBAND		0x200
#define K_POLLRDHUP		0x2000

#define K_S_IFMT		0170000
#define K_S_IFSOCK		0140000
#define K_S_IFREG		0100000
#define K_S_IFBLK		0060000
#define K_S_IFCHR		0020000
#define K_S_IFIFO		0010000

#define K_MS_MGC_MSK		0xffff0000
#define K_MS_MGC_VAL		0xc0ed0000

/* ---- converters ---------------------------------------------------------- */

static __always_inline __u32 scap_open_flags(__u64 f)
{
	__u32 r;

	if ((f & K_O_ACCMODE) == K_O_WRONLY)
		r = SCAP_O_WRONLY;
	else if ((f & K_O_ACCMODE) == K_O_RDWR)
		r = SCAP_O_RDWR;
	else
		r = SCAP_O_RDONLY;
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
	if (f & K_O_TMPFILE)
		r |= SCAP_O_TMPFILE;
	return r;
}

/* The mode argument matters only when the call may create a file. */
static __always_inline __u32 scap_open_mode(__u64 flags, __u64 mode)
{
	return (flags & (K_O_CREAT | K_O_TMPFILE)) ? (mode & 07777) : 0;
}

static __always_inline __u32 scap_clone_flags(__u64 f)
{
	return (f & K_CLONE_FILES ? SCAP_CL_CLONE_FILES : 0) |
	       (f & K_CLONE_FS ? SCAP_CL_CLONE_FS : 0) |
	       (f & K_CLONE_IO ? SCAP_CL_CLONE_IO : 0) |
	       (f & K_CLONE_NEWIPC ? SCAP_CL_CLONE_NEWIPC : 0) |
	       (f & K_CLONE_NEWNET ? SCAP_CL_CLONE_NEWNET : 0) |
	       (f & K_CLONE_NEWNS ? SCAP_CL_CLONE_NEWNS : 0) |
	       (f & K_CLONE_NEWPID ? SCAP_CL_CLONE_NEWPID : 0) |
	       (f & K_CLONE_NEWUTS ? SCAP_CL_CLONE_NEWUTS : 0) |
	       (f & K_CLONE_PARENT ? SCAP_CL_CLONE_PARENT : 0) |
	       (f & K_CLONE_PARENT_SETTID ? SCAP_CL_CLONE_PARENT_SETTID : 0) |
	       (f & K_CLONE_PTRACE ? SCAP_CL_CLONE_PTRACE : 0) |
	       (f & K_CLONE_SIGHAND ? SCAP_CL_CLONE_SIGHAND : 0) |
	       (f & K_CLONE_SYSVSEM ? SCAP_CL_CLONE_SYSVSEM : 0) |
	       (f & K_CLONE_THREAD ? SCAP_CL_CLONE_THREAD : 0) |
	       (f & K_CLONE_UNTRACED ? SCAP_CL_CLONE_UNTRACED : 0) |
	       (f & K_CLONE_VM ? SCAP_CL_CLONE_VM : 0) |
	       (f & K_CLONE_NEWUSER ? SCAP_CL_CLONE_NEWUSER : 0) |
	       (f & K_CLONE_CHILD_CLEARTID ? SCAP_CL_CLONE_CHILD_CLEARTID : 0) |
	       (f & K_CLONE_CHILD_SETTID ? SCAP_CL_CLONE_CHILD_SETTID : 0) |
	       (f & K_CLONE_SETTLS ? SCAP_CL_CLONE_SETTLS : 0) |
	       (f & K_CLONE_VFORK ? SCAP_CL_CLONE_VFORK : 0) |
	       (f & K_CLONE_NEWCGROUP ? SCAP_CL_CLONE_NEWCGROUP : 0);
}

static __always_inline __u32 scap_prot_flags(__u64 p)
{
	return (p & K_PROT_READ ? SCAP_PROT_READ : 0) |
	       (p & K_PROT_WRITE ? SCAP_PROT_WRITE : 0) |
	       (p & K_PROT_EXEC ? SCAP_PROT_EXEC : 0) |
	       (p & K_PROT_SEM ? SCAP_PROT_SEM : 0) |
	       (p & K_PROT_GROWSDOWN ? SCAP_PROT_GROWSDOWN : 0) |
	       (p & K_PROT_GROWSUP ? SCAP_PROT_GROWSUP : 0);
}

static __always_inline __u32 scap_mmap_flags(__u64 f)
{
	return (f & K_MAP_SHARED ? SCAP_MAP_SHARED : 0) |
	       (f & K_MAP_PRIVATE ? SCAP_MAP_PRIVATE : 0) |
	       (f & K_MAP_FIXED ? SCAP_MAP_FIXED : 0) |
	       (f & K_MAP_ANONYMOUS ? SCAP_MAP_ANONYMOUS : 0) |
	       (f & K_MAP_32BIT ? SCAP_MAP_32BIT : 0) |
	       (f & K_MAP_GROWSDOWN ? SCAP_MAP_GROWSDOWN : 0) |
	       (f & K_MAP_DENYWRITE ? SCAP_MAP_DENYWRITE : 0) |
	       (f & K_MAP_EXECUTABLE ? SCAP_MAP_EXECUTABLE : 0) |
	       (f & K_MAP_LOCKED ? SCAP_MAP_LOCKED : 0) |
	       (f & K_MAP_NORESERVE ? SCAP_MAP_NORESERVE : 0) |
	       (f & K_MAP_POPULATE ? SCAP_MAP_POPULATE : 0) |
	       (f & K_MAP_NONBLOCK ? SCAP_MAP_NONBLOCK : 0);
}

/* fcntl commands: native number -> scap's PPM_FCNTL_* (0: unknown). */
static __always_inline __u8 scap_fcntl_cmd(__u64 cmd)
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

/* ptrace requests: native number -> scap's PPM_PTRACE_* (0: unknown). */
static __always_inline __u16 scap_ptrace_request(__u64 req)
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

static __always_inline __u32 scap_eventfd_flags(__u64 f)
{
	return (f & K_EFD_SEMAPHORE ? SCAP_EFD_SEMAPHORE : 0) |
	       (f & K_O_NONBLOCK ? SCAP_EFD_NONBLOCK : 0) |
	       (f & K_O_CLOEXEC ? SCAP_EFD_CLOEXEC : 0);
}

/* openat2: the kernel's RESOLVE_* in scap's order. */
static __always_inline __u32 scap_resolve_flags(__u64 r)
{
	return (r & K_RESOLVE_BENEATH ? SCAP_RESOLVE_BENEATH : 0) |
	       (r & K_RESOLVE_IN_ROOT ? SCAP_RESOLVE_IN_ROOT : 0) |
	       (r & K_RESOLVE_NO_MAGICLINKS ? SCAP_RESOLVE_NO_MAGICLINKS : 0) |
	       (r & K_RESOLVE_NO_SYMLINKS ? SCAP_RESOLVE_NO_SYMLINKS : 0) |
	       (r & K_RESOLVE_NO_XDEV ? SCAP_RESOLVE_NO_XDEV : 0) |
	       (r & K_RESOLVE_CACHED ? SCAP_RESOLVE_CACHED : 0);
}

static __always_inline __u32 scap_execveat_flags(__u64 f)
{
	return (f & K_AT_EMPTY_PATH ? SCAP_EXVAT_AT_EMPTY_PATH : 0) |
	       (f & K_AT_SYMLINK_NOFOLLOW ? SCAP_EXVAT_AT_SYMLINK_NOFOLLOW : 0);
}

/* mount flags are Linux's, less the MS_MGC_VAL magic of old callers. */
static __always_inline __u32 scap_mount_flags(__u64 f)
{
	if ((f & K_MS_MGC_MSK) == K_MS_MGC_VAL)
		f &= ~(__u64)K_MS_MGC_MSK;
	return (__u32)f;
}

/* poll events: the kernel's POLL* in scap's order (PPM_POLL*). */
static __always_inline __u16 scap_poll_events(__u16 ev)
{
	return (ev & K_POLLIN ? SCAP_POLLIN : 0) |
	       (ev & K_POLLPRI ? SCAP_POLLPRI : 0) |
	       (ev & K_POLLOUT ? SCAP_POLLOUT : 0) |
	       (ev & K_POLLRDHUP ? SCAP_POLLRDHUP : 0) |
	       (ev & K_POLLERR ? SCAP_POLLERR : 0) |
	       (ev & K_POLLHUP ? SCAP_POLLHUP : 0) |
	       (ev & K_POLLNVAL ? SCAP_POLLNVAL : 0) |
	       (ev & K_POLLRDNORM ? SCAP_POLLRDNORM : 0) |
	       (ev & K_POLLRDBAND ? SCAP_POLLRDBAND : 0) |
	       (ev & K_POLLWRNORM ? SCAP_POLLWRNORM : 0) |
	       (ev & K_POLLWRBAND ? SCAP_POLLWRBAND : 0);
}

/*
 * mknod mode (PPM_S_*): the permission bits, and the node type when it is one mknod
 * makes (regular, char, block, FIFO, socket); scap's values are Linux's.
 */
static __always_inline __u32 scap_mknod_mode(__u64 mode)
{
	__u32 type = mode & K_S_IFMT;
	__u32 out = mode & 07777;

	switch (type) {
	case K_S_IFREG:
		return out | SCAP_S_IFREG;
	case K_S_IFCHR:
		return out | SCAP_S_IFCHR;
	case K_S_IFBLK:
		return out | SCAP_S_IFBLK;
	case K_S_IFIFO:
		return out | SCAP_S_IFIFO;
	case K_S_IFSOCK:
		return out | SCAP_S_IFSOCK;
	}
	return out;
}

/*
 * mknod dev: the user's dev_t (major << 8 | minor, the minor's high bits above the
 * major), re-encoded as libs' drivers do it (their encode_dev() of the argument).
 */
static __always_inline __u32 scap_mknod_dev(__u64 dev)
{
	__u32 d = (__u32)dev, major = d >> 20, minor = d & ((1U << 20) - 1);

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/* ---- the module checks the native numbers against the kernel's headers --- */

#if defined(__KERNEL__) && !defined(__bpf__)
#include <linux/fcntl.h>
#include <linux/sched.h>
#include <linux/mman.h>
#include <linux/ptrace.h>
#include <linux/openat2.h>
#include <linux/eventfd.h>
#include <uapi/linux/mount.h>
#include <linux/poll.h>
#include <linux/stat.h>

#define SCAP_NATIVE_IS(k, v) _Static_assert((k) == (v), #k " is not the kernel's " #v)
SCAP_NATIVE_IS(K_O_ACCMODE, O_ACCMODE);
SCAP_NATIVE_IS(K_O_WRONLY, O_WRONLY);
SCAP_NATIVE_IS(K_O_RDWR, O_RDWR);
SCAP_NATIVE_IS(K_O_CREAT, O_CREAT);
SCAP_NATIVE_IS(K_O_EXCL, O_EXCL);
SCAP_NATIVE_IS(K_O_TRUNC, O_TRUNC);
SCAP_NATIVE_IS(K_O_APPEND, O_APPEND);
SCAP_NATIVE_IS(K_O_NONBLOCK, O_NONBLOCK);
SCAP_NATIVE_IS(K_O_DSYNC, O_DSYNC);
SCAP_NATIVE_IS(K_O_DIRECT, O_DIRECT);
SCAP_NATIVE_IS(K_O_LARGEFILE, O_LARGEFILE);
SCAP_NATIVE_IS(K_O_DIRECTORY, O_DIRECTORY);
SCAP_NATIVE_IS(K_O_CLOEXEC, O_CLOEXEC);
SCAP_NATIVE_IS(K_O_SYNC, __O_SYNC);
SCAP_NATIVE_IS(K_O_TMPFILE, __O_TMPFILE);
SCAP_NATIVE_IS(K_CLONE_VM, CLONE_VM);
SCAP_NATIVE_IS(K_CLONE_FS, CLONE_FS);
SCAP_NATIVE_IS(K_CLONE_FILES, CLONE_FILES);
SCAP_NATIVE_IS(K_CLONE_SIGHAND, CLONE_SIGHAND);
SCAP_NATIVE_IS(K_CLONE_PTRACE, CLONE_PTRACE);
SCAP_NATIVE_IS(K_CLONE_VFORK, CLONE_VFORK);
SCAP_NATIVE_IS(K_CLONE_PARENT, CLONE_PARENT);
SCAP_NATIVE_IS(K_CLONE_THREAD, CLONE_THREAD);
SCAP_NATIVE_IS(K_CLONE_NEWNS, CLONE_NEWNS);
SCAP_NATIVE_IS(K_CLONE_SYSVSEM, CLONE_SYSVSEM);
SCAP_NATIVE_IS(K_CLONE_SETTLS, CLONE_SETTLS);
SCAP_NATIVE_IS(K_CLONE_PARENT_SETTID, CLONE_PARENT_SETTID);
SCAP_NATIVE_IS(K_CLONE_CHILD_CLEARTID, CLONE_CHILD_CLEARTID);
SCAP_NATIVE_IS(K_CLONE_UNTRACED, CLONE_UNTRACED);
SCAP_NATIVE_IS(K_CLONE_CHILD_SETTID, CLONE_CHILD_SETTID);
SCAP_NATIVE_IS(K_CLONE_NEWCGROUP, CLONE_NEWCGROUP);
SCAP_NATIVE_IS(K_CLONE_NEWUTS, CLONE_NEWUTS);
SCAP_NATIVE_IS(K_CLONE_NEWIPC, CLONE_NEWIPC);
SCAP_NATIVE_IS(K_CLONE_NEWUSER, CLONE_NEWUSER);
SCAP_NATIVE_IS(K_CLONE_NEWPID, CLONE_NEWPID);
SCAP_NATIVE_IS(K_CLONE_NEWNET, CLONE_NEWNET);
SCAP_NATIVE_IS(K_CLONE_IO, CLONE_IO);
SCAP_NATIVE_IS(K_PROT_READ, PROT_READ);
SCAP_NATIVE_IS(K_PROT_WRITE, PROT_WRITE);
SCAP_NATIVE_IS(K_PROT_EXEC, PROT_EXEC);
SCAP_NATIVE_IS(K_PROT_SEM, PROT_SEM);
SCAP_NATIVE_IS(K_PROT_GROWSDOWN, PROT_GROWSDOWN);
SCAP_NATIVE_IS(K_PROT_GROWSUP, PROT_GROWSUP);
SCAP_NATIVE_IS(K_MAP_SHARED, MAP_SHARED);
SCAP_NATIVE_IS(K_MAP_PRIVATE, MAP_PRIVATE);
SCAP_NATIVE_IS(K_MAP_FIXED, MAP_FIXED);
SCAP_NATIVE_IS(K_MAP_ANONYMOUS, MAP_ANONYMOUS);
SCAP_NATIVE_IS(K_MAP_32BIT, MAP_32BIT);
SCAP_NATIVE_IS(K_MAP_GROWSDOWN, MAP_GROWSDOWN);
SCAP_NATIVE_IS(K_MAP_DENYWRITE, MAP_DENYWRITE);
SCAP_NATIVE_IS(K_MAP_EXECUTABLE, MAP_EXECUTABLE);
SCAP_NATIVE_IS(K_MAP_LOCKED, MAP_LOCKED);
SCAP_NATIVE_IS(K_MAP_NORESERVE, MAP_NORESERVE);
SCAP_NATIVE_IS(K_MAP_POPULATE, MAP_POPULATE);
SCAP_NATIVE_IS(K_MAP_NONBLOCK, MAP_NONBLOCK);
SCAP_NATIVE_IS(K_RESOLVE_NO_XDEV, RESOLVE_NO_XDEV);
SCAP_NATIVE_IS(K_RESOLVE_NO_MAGICLINKS, RESOLVE_NO_MAGICLINKS);
SCAP_NATIVE_IS(K_RESOLVE_NO_SYMLINKS, RESOLVE_NO_SYMLINKS);
SCAP_NATIVE_IS(K_RESOLVE_BENEATH, RESOLVE_BENEATH);
SCAP_NATIVE_IS(K_RESOLVE_IN_ROOT, RESOLVE_IN_ROOT);
SCAP_NATIVE_IS(K_RESOLVE_CACHED, RESOLVE_CACHED);
SCAP_NATIVE_IS(K_AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW);
SCAP_NATIVE_IS(K_S_IFMT, S_IFMT);
SCAP_NATIVE_IS(K_S_IFSOCK, S_IFSOCK);
SCAP_NATIVE_IS(K_S_IFREG, S_IFREG);
SCAP_NATIVE_IS(K_S_IFBLK, S_IFBLK);
SCAP_NATIVE_IS(K_S_IFCHR, S_IFCHR);
SCAP_NATIVE_IS(K_S_IFIFO, S_IFIFO);
SCAP_NATIVE_IS(K_AT_EMPTY_PATH, AT_EMPTY_PATH);
SCAP_NATIVE_IS(K_EFD_SEMAPHORE, EFD_SEMAPHORE);
SCAP_NATIVE_IS(K_MS_MGC_MSK, MS_MGC_MSK);
SCAP_NATIVE_IS(K_MS_MGC_VAL, MS_MGC_VAL);
SCAP_NATIVE_IS(K_POLLIN, POLLIN);
SCAP_NATIVE_IS(K_POLLPRI, POLLPRI);
SCAP_NATIVE_IS(K_POLLOUT, POLLOUT);
SCAP_NATIVE_IS(K_POLLERR, POLLERR);
SCAP_NATIVE_IS(K_POLLHUP, POLLHUP);
SCAP_NATIVE_IS(K_POLLNVAL, POLLNVAL);
SCAP_NATIVE_IS(K_POLLRDNORM, POLLRDNORM);
SCAP_NATIVE_IS(K_POLLRDBAND, POLLRDBAND);
SCAP_NATIVE_IS(K_POLLWRNORM, POLLWRNORM);
SCAP_NATIVE_IS(K_POLLWRBAND, POLLWRBAND);
SCAP_NATIVE_IS(K_POLLRDHUP, POLLRDHUP);
SCAP_NATIVE_IS(F_DUPFD_CLOEXEC, 1030);
SCAP_NATIVE_IS(F_OFD_SETLKW, 38);
SCAP_NATIVE_IS(F_GETPIPE_SZ, 1032);
SCAP_NATIVE_IS(PTRACE_SYSCALL, 24);
SCAP_NATIVE_IS(PTRACE_SETSIGMASK, 0x420b);
#undef SCAP_NATIVE_IS
#endif /* __KERNEL__ */

#endif /* SENTRY_SCAP_FLAGS_H */
