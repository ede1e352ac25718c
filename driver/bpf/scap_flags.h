/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * scap_flags.h - scap's portable encodings of flag parameters (facts from
 * falcosecurity/libs' ppm_events_public.h), for the values that differ from
 * the host's. Flags whose scap values equal Linux's (access modes, mount and
 * umount flags, lseek, shutdown, flock, splice, futex, rlimits, chmod modes,
 * socket families, *at flags) are passed through and need no entry here.
 */
#ifndef SCAP_FLAGS_H
#define SCAP_FLAGS_H

#define SCAP_O_NONE		0
#define SCAP_O_RDONLY		(1 << 0)
#define SCAP_O_WRONLY		(1 << 1)
#define SCAP_O_RDWR		(SCAP_O_RDONLY | SCAP_O_WRONLY)
#define SCAP_O_CREAT		(1 << 2)
#define SCAP_O_APPEND		(1 << 3)
#define SCAP_O_DSYNC		(1 << 4)
#define SCAP_O_EXCL		(1 << 5)
#define SCAP_O_NONBLOCK		(1 << 6)
#define SCAP_O_SYNC		(1 << 7)
#define SCAP_O_TRUNC		(1 << 8)
#define SCAP_O_DIRECT		(1 << 9)
#define SCAP_O_DIRECTORY	(1 << 10)
#define SCAP_O_LARGEFILE	(1 << 11)
#define SCAP_O_CLOEXEC		(1 << 12)
#define SCAP_O_TMPFILE		(1 << 13)

#define SCAP_CL_CLONE_FILES		(1 << 0)
#define SCAP_CL_CLONE_FS		(1 << 1)
#define SCAP_CL_CLONE_IO		(1 << 2)
#define SCAP_CL_CLONE_NEWIPC		(1 << 3)
#define SCAP_CL_CLONE_NEWNET		(1 << 4)
#define SCAP_CL_CLONE_NEWNS		(1 << 5)
#define SCAP_CL_CLONE_NEWPID		(1 << 6)
#define SCAP_CL_CLONE_NEWUTS		(1 << 7)
#define SCAP_CL_CLONE_PARENT		(1 << 8)
#define SCAP_CL_CLONE_PARENT_SETTID	(1 << 9)
#define SCAP_CL_CLONE_PTRACE		(1 << 10)
#define SCAP_CL_CLONE_SIGHAND		(1 << 11)
#define SCAP_CL_CLONE_SYSVSEM		(1 << 12)
#define SCAP_CL_CLONE_THREAD		(1 << 13)
#define SCAP_CL_CLONE_UNTRACED		(1 << 14)
#define SCAP_CL_CLONE_VM		(1 << 15)
#define SCAP_CL_CLONE_NEWUSER		(1 << 20)
#define SCAP_CL_CLONE_CHILD_CLEARTID	(1 << 23)
#define SCAP_CL_CLONE_CHILD_SETTID	(1 << 24)
#define SCAP_CL_CLONE_SETTLS		(1 << 25)
#define SCAP_CL_CLONE_VFORK		(1 << 27)
#define SCAP_CL_CLONE_NEWCGROUP		(1 << 28)

#define SCAP_PROT_NONE		0
#define SCAP_PROT_READ		(1 << 0)
#define SCAP_PROT_WRITE		(1 << 1)
#define SCAP_PROT_EXEC		(1 << 2)

#define SCAP_MAP_SHARED		(1 << 0)
#define SCAP_MAP_PRIVATE	(1 << 1)
#define SCAP_MAP_FIXED		(1 << 2)
#define SCAP_MAP_ANONYMOUS	(1 << 3)
#define SCAP_MAP_32BIT		(1 << 4)
#define SCAP_MAP_NORESERVE	(1 << 6)
#define SCAP_MAP_POPULATE	(1 << 7)
#define SCAP_MAP_NONBLOCK	(1 << 8)
#define SCAP_MAP_GROWSDOWN	(1 << 9)
#define SCAP_MAP_DENYWRITE	(1 << 10)
#define SCAP_MAP_EXECUTABLE	(1 << 11)
#define SCAP_MAP_LOCKED		(1 << 14)

/* openat2 resolve */
#define SCAP_RESOLVE_BENEATH		(1 << 0)
#define SCAP_RESOLVE_IN_ROOT		(1 << 1)
#define SCAP_RESOLVE_NO_MAGICLINKS	(1 << 2)
#define SCAP_RESOLVE_NO_SYMLINKS	(1 << 3)
#define SCAP_RESOLVE_NO_XDEV		(1 << 4)
#define SCAP_RESOLVE_CACHED		(1 << 5)

/* execveat flags */
#define SCAP_EXVAT_AT_EMPTY_PATH	(1 << 0)
#define SCAP_EXVAT_AT_SYMLINK_NOFOLLOW	(1 << 1)

/* execve flags */
#define SCAP_EXE_FROM_MEMFD	(1 << 2)

/* open flags, exit events only: the call created the file */
#define SCAP_O_F_CREATED	(1 << 14)

/* dynamic parameter indexes (PT_DYN) */
#define SCAP_BPF_IDX_FD		0
#define SCAP_BPF_IDX_RES	1
#define SCAP_PTRACE_IDX_UINT64	0

#endif /* SCAP_FLAGS_H */
