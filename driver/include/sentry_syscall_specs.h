/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sentry_syscall_specs.h - for each x86_64 syscall, the scap event pair it becomes
 * and where each parameter comes from: the one table both drivers follow. The eBPF
 * probe (bpf/sentry.bpf.c, emit_recipe()) and the kernel module (fill_recipe.c,
 * sentry_fill_spec()) interpret it, each with its own means of reading the kernel;
 * events whose parameters need more than a recipe (the clone family, execve) name a
 * handler instead, which each driver implements (bpf/probe_proc.h, fill_proc.c). A new
 * syscall is one entry here. Syscalls absent here become generic events. The choice of
 * event per syscall is python/sentry/events/syscalls.py's; tests check the two agree, and
 * that every parameter has the size sentry.events.table says (tests/ebpf/test_specs.py on
 * the probe's object; the module's events are checked live, tests/kmod/test_kmod_syscalls.py).
 *
 * Include it in one file per driver (the probe: sentry.bpf.c; the module: fill_recipe.c):
 * it defines the table. The includer may define
 * SENTRY_SPECS_ATTR (the probe puts the table in section .rodata.specs).
 */
#ifndef SENTRY_SYSCALL_SPECS_H
#define SENTRY_SYSCALL_SPECS_H

#include <asm/unistd_64.h>

#ifndef SENTRY_SPECS_ATTR
#define SENTRY_SPECS_ATTR
#endif

enum param_kind {
	PK_ARG = 1,	/* syscall argument a, size bytes */
	PK_ARG_S32,	/* int argument a sign-extended to 64 bits (fd, pid) */
	PK_RET,		/* return value, size bytes */
	PK_USTR,	/* NUL-terminated user string at argument a */
	PK_UBUF_RET,	/* user buffer at argument a, return value bytes */
	PK_UBUF_ARG,	/* user buffer at argument a, argument aux bytes */
	PK_IOV_RET,	/* iovec array at argument a (count aux), return value bytes */
	PK_IOV_ARG,	/* iovec array at argument a (count aux), all bytes */
	PK_IOV_LEN,	/* total length of the iovec array at argument a (count aux) */
	PK_MSG_RET,	/* msghdr at argument a: data, return value bytes */
	PK_MSG_ARG,	/* msghdr at argument a: data, all bytes */
	PK_MSG_LEN,	/* msghdr at argument a: total length */
	PK_OPEN_FLAGS,	/* open(2) flags at argument a, scap encoding */
	PK_CLONE_FLAGS,	/* clone flags at argument a, scap encoding */
	PK_PROT,	/* mmap protection at argument a */
	PK_MMAP_FLAGS,	/* mmap flags at argument a */
	PK_FCNTL_CMD,	/* fcntl command at argument a */
	PK_PTRACE_REQ,	/* ptrace request at argument a */
	PK_MOUNT_FLAGS,	/* mount flags at argument a, magic stripped */
	PK_EXECVEAT_FLAGS, /* execveat flags at argument a */
	PK_EVENTFD_FLAGS, /* eventfd2 flags at argument a, scap encoding */
	PK_HOW_FLAGS,	/* struct open_how at argument a: flags, scap encoding */
	PK_HOW_MODE,	/* ... mode */
	PK_HOW_RESOLVE,	/* ... resolve, scap encoding */
	PK_FD_DEV,	/* dev of the file behind the returned fd */
	PK_OPEN_FLAGS_X, /* open flags at argument a, plus "created" from the returned fd */
	PK_OPEN_MODE,	/* mode argument aux, kept only if flags argument a may create */
	PK_MODE_BITS,	/* mode argument a, permission bits only */
	PK_ACCEPT_QUEUE, /* listening socket at fd argument a: backlog % (aux 0), length, max */
	PK_SOCKADDR,	/* user sockaddr at argument a, length argument aux */
	PK_TUPLE_FD,	/* socket tuple of the socket at fd argument a */
	PK_TUPLE_RET,	/* socket tuple of the socket at the returned fd */
	PK_TUPLE_TO,	/* tuple of fd argument a, remote end from user sockaddr argument aux */
	PK_TUPLE_FROM,	/* ... received: remote end first */
	PK_TUPLE_MSG_TO, /* tuple of fd argument a, remote end from msghdr argument aux */
	PK_TUPLE_MSG_FROM, /* ... received: remote end first */
	PK_UPTR_U64,	/* u64 number aux of the user array at argument a */
	PK_UPTR_U32,	/* u32 at the user pointer argument a (+ 4 * aux) */
	PK_RLIM_RET,	/* rlimit word aux at user argument a, -1 when the call failed (as scap) */
	PK_PIPE_INO,	/* inode of the pipe whose fds are at user argument a */
	PK_VM,		/* vm_size (aux 0), vm_rss (1), vm_swap (2) in KiB */
	PK_DYN_U64,	/* PT_DYN index 0, then argument a as u64 */
	PK_DYN_NONE,	/* PT_DYN index 0 with no value */
	PK_DYN_BPF,	/* PT_DYN: fd (index 0) for map/program creation, else errno */
	PK_FDLIST_IN,	/* pollfd array at argument a (count aux): fds and requested events */
	PK_FDLIST_OUT,	/* ... fds and returned events */
	PK_TIMESPEC,	/* struct timespec at user argument a, in ns */
	PK_CAPS,	/* the task's capability set aux (0 inheritable, 1 permitted, 2 effective) */
	PK_ZERO,	/* zero, size bytes */
	PK_EMPTY,	/* zero-length parameter */
	PK_OPEN_NAME,	/* user string at argument a, else the path of the returned fd's file */
	PK_FD_PATH,	/* path of the returned fd's file (empty on failure) */
	PK_FD_INO,	/* inode number of the returned fd's file */
	PK_MKNOD_MODE,	/* mknod mode at argument a, scap encoding */
	PK_MKNOD_DEV,	/* mknod dev at argument a, scap encoding */
};

enum event_handler {
	H_TABLE = 0,	/* parameters from the recipe */
	H_PROC_CLONE,	/* clone/fork/vfork/clone3 exit: the process record */
	H_PROC_EXEC,	/* execve/execveat exit: the process record */
};

#define SPEC_MAX_PARAMS 14

struct param_spec {
	__u8 kind;
	__u8 arg;
	__u8 size;
	__u8 aux;
};

struct event_spec {
	__u16 type;
	__u8 nparams;
	__u8 handler;
	struct param_spec p[SPEC_MAX_PARAMS];
};

struct syscall_spec {
	struct event_spec enter;
	struct event_spec exit;
	__u32 defined;
};

#define P(k, a, sz, x) { .kind = (k), .arg = (a), .size = (sz), .aux = (x) }
#define ARG(a)		P(PK_ARG, a, 8, 0)
#define ARG32(a)	P(PK_ARG, a, 4, 0)
#define ARG16(a)	P(PK_ARG, a, 2, 0)
#define ARG8(a)		P(PK_ARG, a, 1, 0)
#define FD(a)		P(PK_ARG_S32, a, 8, 0)
#define RET		P(PK_RET, 0, 8, 0)
#define RET32		P(PK_RET, 0, 4, 0)
#define STR(a)		P(PK_USTR, a, 0, 0)
#define OPEN_NAME(a)	P(PK_OPEN_NAME, a, 0, 0)
#define BUF_RET(a)	P(PK_UBUF_RET, a, 0, 0)
#define BUF_ARG(a, l)	P(PK_UBUF_ARG, a, 0, l)
#define IOV_RET(a, n)	P(PK_IOV_RET, a, 0, n)
#define IOV_ARG(a, n)	P(PK_IOV_ARG, a, 0, n)
#define IOV_LEN(a, n)	P(PK_IOV_LEN, a, 4, n)
#define MSG_RET(a)	P(PK_MSG_RET, a, 0, 0)
#define MSG_ARG(a)	P(PK_MSG_ARG, a, 0, 0)
#define MSG_LEN(a)	P(PK_MSG_LEN, a, 4, 0)
#define OFLAGS(a)	P(PK_OPEN_FLAGS, a, 4, 0)
#define CLFLAGS(a)	P(PK_CLONE_FLAGS, a, 4, 0)
#define PROT(a)		P(PK_PROT, a, 4, 0)
#define MMFLAGS(a)	P(PK_MMAP_FLAGS, a, 4, 0)
#define FCNTL(a)	P(PK_FCNTL_CMD, a, 1, 0)
#define PTREQ(a)	P(PK_PTRACE_REQ, a, 2, 0)
#define MNTFLAGS(a)	P(PK_MOUNT_FLAGS, a, 4, 0)
#define EXVATFLAGS(a)	P(PK_EXECVEAT_FLAGS, a, 4, 0)
#define EFDFLAGS(a)	P(PK_EVENTFD_FLAGS, a, 4, 0)
#define HOW_FLAGS(a)	P(PK_HOW_FLAGS, a, 4, 0)
#define HOW_MODE(a)	P(PK_HOW_MODE, a, 4, 0)
#define HOW_RESOLVE(a)	P(PK_HOW_RESOLVE, a, 4, 0)
#define DEV		P(PK_FD_DEV, 0, 4, 0)
#define FD_PATH		P(PK_FD_PATH, 0, 0, 0)
#define FD_INO		P(PK_FD_INO, 0, 8, 0)
#define NODE_MODE(a)	P(PK_MKNOD_MODE, a, 4, 0)
#define NODE_DEV(a)	P(PK_MKNOD_DEV, a, 4, 0)
#define OFLAGS_X(a)	P(PK_OPEN_FLAGS_X, a, 4, 0)
#define OMODE(f, m)	P(PK_OPEN_MODE, f, 4, m)
#define MODE(a)		P(PK_MODE_BITS, a, 4, 0)
#define QUEUE_PCT(a)	P(PK_ACCEPT_QUEUE, a, 1, 0)
#define QUEUE_LEN(a)	P(PK_ACCEPT_QUEUE, a, 4, 1)
#define QUEUE_MAX(a)	P(PK_ACCEPT_QUEUE, a, 4, 2)
#define SADDR(a, l)	P(PK_SOCKADDR, a, 0, l)
#define TUPLE(a)	P(PK_TUPLE_FD, a, 0, 0)
#define TUPLE_RET	P(PK_TUPLE_RET, 0, 0, 0)
#define TUPLE_TO(a, u)	P(PK_TUPLE_TO, a, 0, u)
#define TUPLE_FROM(a, u) P(PK_TUPLE_FROM, a, 0, u)
#define TUPLE_MSG_TO(a, m) P(PK_TUPLE_MSG_TO, a, 0, m)
#define TUPLE_MSG_FROM(a, m) P(PK_TUPLE_MSG_FROM, a, 0, m)
#define UPTR64(a, i)	P(PK_UPTR_U64, a, 8, i)
#define UPTR32(a, i)	P(PK_UPTR_U32, a, 4, i)
#define RLIM_RET(a, i)	P(PK_RLIM_RET, a, 8, i)
#define PIPE_FD(a, i)	P(PK_UPTR_U32, a, 8, i)	/* int fds[2] widened to PT_FD */
#define PIPE_INO(a)	P(PK_PIPE_INO, a, 8, 0)
#define VM(i)		P(PK_VM, 0, 4, i)
#define DYN_U64(a)	P(PK_DYN_U64, a, 9, 0)
#define DYN_NONE	P(PK_DYN_NONE, 0, 1, 0)
#define DYN_BPF		P(PK_DYN_BPF, 0, 9, 0)
#define FDLIST_IN(a, n)	P(PK_FDLIST_IN, a, 0, n)
#define FDLIST_OUT(a, n) P(PK_FDLIST_OUT, a, 0, n)
#define TIMESPEC(a)	P(PK_TIMESPEC, a, 8, 0)
#define CAPS(i)		P(PK_CAPS, 0, 8, i)
#define ZERO(sz)	P(PK_ZERO, 0, sz, 0)
#define EMPTY		P(PK_EMPTY, 0, 0, 0)

#define NPARAMS(...) (sizeof((struct param_spec[]){ __VA_ARGS__ }) / sizeof(struct param_spec))
#define EV(t, ...) { .type = (t), .nparams = NPARAMS(__VA_ARGS__), .p = { __VA_ARGS__ } }
#define EV0(t) { .type = (t), .nparams = 0 }
#define EVH(t, h) { .type = (t), .handler = (h) }
#define SC(nr, e, x) [nr] = { .enter = e, .exit = x, .defined = 1 }

const struct syscall_spec syscall_specs[SENTRY_SYSCALL_NR_MAX] SENTRY_SPECS_ATTR = {
	/* files */
	SC(__NR_open, EV(SE_SYSCALL_OPEN_E, STR(0), OFLAGS(1), OMODE(1, 2)),
	   EV(SE_SYSCALL_OPEN_X, RET, OPEN_NAME(0), OFLAGS_X(1), OMODE(1, 2), DEV)),
	SC(__NR_openat, EV(SE_SYSCALL_OPENAT_2_E, FD(0), STR(1), OFLAGS(2), OMODE(2, 3)),
	   EV(SE_SYSCALL_OPENAT_2_X, RET, FD(0), OPEN_NAME(1), OFLAGS_X(2), OMODE(2, 3), DEV)),
	SC(__NR_openat2, EV(SE_SYSCALL_OPENAT2_E, FD(0), STR(1), HOW_FLAGS(2), HOW_MODE(2),
			    HOW_RESOLVE(2)),
	   EV(SE_SYSCALL_OPENAT2_X, RET, FD(0), OPEN_NAME(1), HOW_FLAGS(2), HOW_MODE(2),
	      HOW_RESOLVE(2))),
	SC(__NR_creat, EV(SE_SYSCALL_CREAT_E, STR(0), MODE(1)),
	   EV(SE_SYSCALL_CREAT_X, RET, OPEN_NAME(0), MODE(1), DEV)),
	SC(__NR_close, EV(SE_SYSCALL_CLOSE_E, FD(0)), EV(SE_SYSCALL_CLOSE_X, RET)),
	SC(__NR_read, EV(SE_SYSCALL_READ_E, FD(0), ARG32(2)),
	   EV(SE_SYSCALL_READ_X, RET, BUF_RET(1))),
	SC(__NR_write, EV(SE_SYSCALL_WRITE_E, FD(0), ARG32(2)),
	   EV(SE_SYSCALL_WRITE_X, RET, BUF_ARG(1, 2))),
	SC(__NR_pread64, EV(SE_SYSCALL_PREAD_E, FD(0), ARG32(2), ARG(3)),
	   EV(SE_SYSCALL_PREAD_X, RET, BUF_RET(1))),
	SC(__NR_pwrite64, EV(SE_SYSCALL_PWRITE_E, FD(0), ARG32(2), ARG(3)),
	   EV(SE_SYSCALL_PWRITE_X, RET, BUF_ARG(1, 2))),
	SC(__NR_readv, EV(SE_SYSCALL_READV_E, FD(0)),
	   EV(SE_SYSCALL_READV_X, RET, IOV_LEN(1, 2), IOV_RET(1, 2))),
	SC(__NR_writev, EV(SE_SYSCALL_WRITEV_E, FD(0), IOV_LEN(1, 2)),
	   EV(SE_SYSCALL_WRITEV_X, RET, IOV_ARG(1, 2))),
	SC(__NR_preadv, EV(SE_SYSCALL_PREADV_E, FD(0), ARG(3)),
	   EV(SE_SYSCALL_PREADV_X, RET, IOV_LEN(1, 2), IOV_RET(1, 2))),
	SC(__NR_pwritev, EV(SE_SYSCALL_PWRITEV_E, FD(0), IOV_LEN(1, 2), ARG(3)),
	   EV(SE_SYSCALL_PWRITEV_X, RET, IOV_ARG(1, 2))),
	SC(__NR_sendfile, EV(SE_SYSCALL_SENDFILE_E, FD(0), FD(1), UPTR64(2, 0), ARG(3)),
	   EV(SE_SYSCALL_SENDFILE_X, RET, UPTR64(2, 0))),
	SC(__NR_copy_file_range, EV(SE_SYSCALL_COPY_FILE_RANGE_E, FD(0), UPTR64(1, 0), ARG(4)),
	   EV(SE_SYSCALL_COPY_FILE_RANGE_X, RET, FD(2), UPTR64(3, 0))),
	SC(__NR_splice, EV(SE_SYSCALL_SPLICE_E, FD(0), FD(2), ARG(4), ARG32(5)),
	   EV(SE_SYSCALL_SPLICE_X, RET)),
	SC(__NR_lseek, EV(SE_SYSCALL_LSEEK_E, FD(0), ARG(1), ARG8(2)),
	   EV(SE_SYSCALL_LSEEK_X, RET)),
	SC(__NR_ioctl, EV(SE_SYSCALL_IOCTL_3_E, FD(0), ARG(1), ARG(2)),
	   EV(SE_SYSCALL_IOCTL_3_X, RET)),
	SC(__NR_stat, EV0(SE_SYSCALL_STAT_E), EV(SE_SYSCALL_STAT_X, RET, STR(0))),
	SC(__NR_lstat, EV0(SE_SYSCALL_LSTAT_E), EV(SE_SYSCALL_LSTAT_X, RET, STR(0))),
	SC(__NR_fstat, EV(SE_SYSCALL_FSTAT_E, FD(0)), EV(SE_SYSCALL_FSTAT_X, RET)),
	SC(__NR_access, EV(SE_SYSCALL_ACCESS_E, ARG32(1)), EV(SE_SYSCALL_ACCESS_X, RET, STR(0))),
	SC(__NR_getdents, EV(SE_SYSCALL_GETDENTS_E, FD(0)), EV(SE_SYSCALL_GETDENTS_X, RET)),
	SC(__NR_getdents64, EV(SE_SYSCALL_GETDENTS64_E, FD(0)),
	   EV(SE_SYSCALL_GETDENTS64_X, RET)),
	SC(__NR_flock, EV(SE_SYSCALL_FLOCK_E, FD(0), ARG32(1)), EV(SE_SYSCALL_FLOCK_X, RET)),
	SC(__NR_getcwd, EV0(SE_SYSCALL_GETCWD_E), EV(SE_SYSCALL_GETCWD_X, RET, STR(0))),
	SC(__NR_chdir, EV0(SE_SYSCALL_CHDIR_E), EV(SE_SYSCALL_CHDIR_X, RET, STR(0))),
	SC(__NR_fchdir, EV(SE_SYSCALL_FCHDIR_E, FD(0)), EV(SE_SYSCALL_FCHDIR_X, RET)),
	SC(__NR_chroot, EV0(SE_SYSCALL_CHROOT_E), EV(SE_SYSCALL_CHROOT_X, RET, STR(0))),
	SC(__NR_mkdir, EV(SE_SYSCALL_MKDIR_2_E, ARG32(1)), EV(SE_SYSCALL_MKDIR_2_X, RET, STR(0))),
	SC(__NR_mkdirat, EV0(SE_SYSCALL_MKDIRAT_E),
	   EV(SE_SYSCALL_MKDIRAT_X, RET, FD(0), STR(1), ARG32(2))),
	SC(__NR_rmdir, EV0(SE_SYSCALL_RMDIR_2_E), EV(SE_SYSCALL_RMDIR_2_X, RET, STR(0))),
	SC(__NR_unlink, EV0(SE_SYSCALL_UNLINK_2_E), EV(SE_SYSCALL_UNLINK_2_X, RET, STR(0))),
	SC(__NR_unlinkat, EV0(SE_SYSCALL_UNLINKAT_2_E),
	   EV(SE_SYSCALL_UNLINKAT_2_X, RET, FD(0), STR(1), ARG32(2))),
	SC(__NR_rename, EV0(SE_SYSCALL_RENAME_E), EV(SE_SYSCALL_RENAME_X, RET, STR(0), STR(1))),
	SC(__NR_renameat, EV0(SE_SYSCALL_RENAMEAT_E),
	   EV(SE_SYSCALL_RENAMEAT_X, RET, FD(0), STR(1), FD(2), STR(3))),
	SC(__NR_renameat2, EV0(SE_SYSCALL_RENAMEAT2_E),
	   EV(SE_SYSCALL_RENAMEAT2_X, RET, FD(0), STR(1), FD(2), STR(3), ARG32(4))),
	SC(__NR_link, EV0(SE_SYSCALL_LINK_2_E), EV(SE_SYSCALL_LINK_2_X, RET, STR(0), STR(1))),
	SC(__NR_linkat, EV0(SE_SYSCALL_LINKAT_2_E),
	   EV(SE_SYSCALL_LINKAT_2_X, RET, FD(0), STR(1), FD(2), STR(3), ARG32(4))),
	SC(__NR_symlink, EV0(SE_SYSCALL_SYMLINK_E),
	   EV(SE_SYSCALL_SYMLINK_X, RET, STR(0), STR(1))),
	SC(__NR_symlinkat, EV0(SE_SYSCALL_SYMLINKAT_E),
	   EV(SE_SYSCALL_SYMLINKAT_X, RET, STR(0), FD(1), STR(2))),
	SC(__NR_chmod, EV0(SE_SYSCALL_CHMOD_E), EV(SE_SYSCALL_CHMOD_X, RET, STR(0), ARG32(1))),
	SC(__NR_fchmod, EV0(SE_SYSCALL_FCHMOD_E), EV(SE_SYSCALL_FCHMOD_X, RET, FD(0), ARG32(1))),
	SC(__NR_fchmodat, EV0(SE_SYSCALL_FCHMODAT_E),
	   EV(SE_SYSCALL_FCHMODAT_X, RET, FD(0), STR(1), ARG32(2))),
	/* libs' later events (sysdig 0.29 skips them) */
	SC(__NR_mknod, EV0(SE_SYSCALL_MKNOD_E),
	   EV(SE_SYSCALL_MKNOD_X, RET, STR(0), NODE_MODE(1), NODE_DEV(2))),
	SC(__NR_mknodat, EV0(SE_SYSCALL_MKNODAT_E),
	   EV(SE_SYSCALL_MKNODAT_X, RET, FD(0), STR(1), NODE_MODE(2), NODE_DEV(3))),
	SC(__NR_open_by_handle_at, EV0(SE_SYSCALL_OPEN_BY_HANDLE_AT_E),
	   EV(SE_SYSCALL_OPEN_BY_HANDLE_AT_X, RET, FD(0), OFLAGS(2), FD_PATH, DEV, FD_INO)),
	SC(__NR_mount, EV(SE_SYSCALL_MOUNT_E, MNTFLAGS(3)),
	   EV(SE_SYSCALL_MOUNT_X, RET, STR(0), STR(1), STR(2))),
	SC(__NR_umount2, EV(SE_SYSCALL_UMOUNT_E, ARG32(1)), EV(SE_SYSCALL_UMOUNT_X, RET, STR(0))),
	SC(__NR_quotactl, EV(SE_SYSCALL_QUOTACTL_E, ZERO(2), ZERO(1), ARG32(2), ZERO(1)),
	   EV(SE_SYSCALL_QUOTACTL_X, RET, STR(1), EMPTY, ZERO(8), ZERO(8), ZERO(8), ZERO(8),
	      ZERO(8), ZERO(8), ZERO(8), ZERO(8), ZERO(8), ZERO(1), ZERO(1))),

	/* descriptors */
	SC(__NR_dup, EV(SE_SYSCALL_DUP_E, FD(0)), EV(SE_SYSCALL_DUP_X, RET)),
	SC(__NR_dup2, EV(SE_SYSCALL_DUP_E, FD(0)), EV(SE_SYSCALL_DUP_X, RET)),
	SC(__NR_dup3, EV(SE_SYSCALL_DUP_E, FD(0)), EV(SE_SYSCALL_DUP_X, RET)),
	SC(__NR_fcntl, EV(SE_SYSCALL_FCNTL_E, FD(0), FCNTL(1)), EV(SE_SYSCALL_FCNTL_X, RET)),
	SC(__NR_pipe, EV0(SE_SYSCALL_PIPE_E),
	   EV(SE_SYSCALL_PIPE_X, RET, PIPE_FD(0, 0), PIPE_FD(0, 1), PIPE_INO(0))),
	SC(__NR_pipe2, EV0(SE_SYSCALL_PIPE_E),
	   EV(SE_SYSCALL_PIPE_X, RET, PIPE_FD(0, 0), PIPE_FD(0, 1), PIPE_INO(0))),
	SC(__NR_eventfd, EV(SE_SYSCALL_EVENTFD_E, ARG(0), ZERO(4)), EV(SE_SYSCALL_EVENTFD_X, RET)),
	SC(__NR_eventfd2, EV(SE_SYSCALL_EVENTFD_E, ARG(0), EFDFLAGS(1)),
	   EV(SE_SYSCALL_EVENTFD_X, RET)),
	SC(__NR_signalfd, EV(SE_SYSCALL_SIGNALFD_E, FD(0), ZERO(4), ZERO(1)),
	   EV(SE_SYSCALL_SIGNALFD_X, RET)),
	SC(__NR_signalfd4, EV(SE_SYSCALL_SIGNALFD_E, FD(0), ZERO(4), ARG8(3)),
	   EV(SE_SYSCALL_SIGNALFD_X, RET)),
	SC(__NR_timerfd_create, EV(SE_SYSCALL_TIMERFD_CREATE_E, ARG8(0), ARG8(1)),
	   EV(SE_SYSCALL_TIMERFD_CREATE_X, RET)),
	SC(__NR_inotify_init, EV(SE_SYSCALL_INOTIFY_INIT_E, ZERO(1)),
	   EV(SE_SYSCALL_INOTIFY_INIT_X, RET)),
	SC(__NR_inotify_init1, EV(SE_SYSCALL_INOTIFY_INIT_E, ARG8(0)),
	   EV(SE_SYSCALL_INOTIFY_INIT_X, RET)),
	SC(__NR_userfaultfd, EV0(SE_SYSCALL_USERFAULTFD_E),
	   EV(SE_SYSCALL_USERFAULTFD_X, RET, OFLAGS(0))),
	SC(__NR_epoll_wait, EV(SE_SYSCALL_EPOLLWAIT_E, ARG(2)), EV(SE_SYSCALL_EPOLLWAIT_X, RET)),
	SC(__NR_select, EV0(SE_SYSCALL_SELECT_E), EV(SE_SYSCALL_SELECT_X, RET)),
	SC(__NR_poll, EV(SE_SYSCALL_POLL_E, FDLIST_IN(0, 1), FD(2)),
	   EV(SE_SYSCALL_POLL_X, RET, FDLIST_OUT(0, 1))),
	SC(__NR_ppoll, EV(SE_SYSCALL_PPOLL_E, FDLIST_IN(0, 1), TIMESPEC(2), UPTR32(3, 0)),
	   EV(SE_SYSCALL_PPOLL_X, RET, FDLIST_OUT(0, 1))),

	/* network */
	SC(__NR_socket, EV(SE_SOCKET_SOCKET_E, ARG32(0), ARG32(1), ARG32(2)),
	   EV(SE_SOCKET_SOCKET_X, RET)),
	SC(__NR_socketpair, EV(SE_SOCKET_SOCKETPAIR_E, ARG32(0), ARG32(1), ARG32(2)),
	   EV(SE_SOCKET_SOCKETPAIR_X, RET, PIPE_FD(3, 0), PIPE_FD(3, 1), ZERO(8), ZERO(8))),
	SC(__NR_bind, EV(SE_SOCKET_BIND_E, FD(0)), EV(SE_SOCKET_BIND_X, RET, SADDR(1, 2))),
	SC(__NR_connect, EV(SE_SOCKET_CONNECT_E, FD(0), SADDR(1, 2)),
	   EV(SE_SOCKET_CONNECT_X, RET, TUPLE(0))),
	SC(__NR_listen, EV(SE_SOCKET_LISTEN_E, FD(0), ARG32(1)), EV(SE_SOCKET_LISTEN_X, RET)),
	SC(__NR_accept, EV0(SE_SOCKET_ACCEPT_5_E),
	   EV(SE_SOCKET_ACCEPT_5_X, RET, TUPLE_RET, QUEUE_PCT(0), QUEUE_LEN(0), QUEUE_MAX(0))),
	SC(__NR_accept4, EV(SE_SOCKET_ACCEPT4_5_E, ARG32(3)),
	   EV(SE_SOCKET_ACCEPT4_5_X, RET, TUPLE_RET, QUEUE_PCT(0), QUEUE_LEN(0), QUEUE_MAX(0))),
	SC(__NR_sendto, EV(SE_SOCKET_SENDTO_E, FD(0), ARG32(2), TUPLE_TO(0, 4)),
	   EV(SE_SOCKET_SENDTO_X, RET, BUF_ARG(1, 2))),
	SC(__NR_recvfrom, EV(SE_SOCKET_RECVFROM_E, FD(0), ARG32(2)),
	   EV(SE_SOCKET_RECVFROM_X, RET, BUF_RET(1), TUPLE_FROM(0, 4))),
	SC(__NR_sendmsg, EV(SE_SOCKET_SENDMSG_E, FD(0), MSG_LEN(1), TUPLE_MSG_TO(0, 1)),
	   EV(SE_SOCKET_SENDMSG_X, RET, MSG_ARG(1))),
	SC(__NR_recvmsg, EV(SE_SOCKET_RECVMSG_E, FD(0)),
	   EV(SE_SOCKET_RECVMSG_X, RET, RET32, MSG_RET(1), TUPLE_MSG_FROM(0, 1))),
	SC(__NR_sendmmsg, EV0(SE_SOCKET_SENDMMSG_E), EV0(SE_SOCKET_SENDMMSG_X)),
	SC(__NR_recvmmsg, EV0(SE_SOCKET_RECVMMSG_E), EV0(SE_SOCKET_RECVMMSG_X)),
	SC(__NR_shutdown, EV(SE_SOCKET_SHUTDOWN_E, FD(0), ARG8(1)), EV(SE_SOCKET_SHUTDOWN_X, RET)),
	SC(__NR_getsockname, EV0(SE_SOCKET_GETSOCKNAME_E), EV0(SE_SOCKET_GETSOCKNAME_X)),
	SC(__NR_getpeername, EV0(SE_SOCKET_GETPEERNAME_E), EV0(SE_SOCKET_GETPEERNAME_X)),
	SC(__NR_setsockopt, EV0(SE_SOCKET_SETSOCKOPT_E),
	   EV(SE_SOCKET_SETSOCKOPT_X, RET, FD(0), ZERO(1), ZERO(1), DYN_NONE, ARG32(4))),
	SC(__NR_getsockopt, EV0(SE_SOCKET_GETSOCKOPT_E),
	   EV(SE_SOCKET_GETSOCKOPT_X, RET, FD(0), ZERO(1), ZERO(1), DYN_NONE, UPTR32(4, 0))),

	/* processes */
	SC(__NR_clone, EV0(SE_SYSCALL_CLONE_20_E), EVH(SE_SYSCALL_CLONE_20_X, H_PROC_CLONE)),
	SC(__NR_clone3, EV0(SE_SYSCALL_CLONE3_E), EVH(SE_SYSCALL_CLONE3_X, H_PROC_CLONE)),
	SC(__NR_fork, EV0(SE_SYSCALL_FORK_20_E), EVH(SE_SYSCALL_FORK_20_X, H_PROC_CLONE)),
	SC(__NR_vfork, EV0(SE_SYSCALL_VFORK_20_E), EVH(SE_SYSCALL_VFORK_20_X, H_PROC_CLONE)),
	SC(__NR_execve, EV(SE_SYSCALL_EXECVE_19_E, STR(0)),
	   EVH(SE_SYSCALL_EXECVE_19_X, H_PROC_EXEC)),
	SC(__NR_execveat, EV(SE_SYSCALL_EXECVEAT_E, FD(0), STR(1), EXVATFLAGS(4)),
	   EVH(SE_SYSCALL_EXECVEAT_X, H_PROC_EXEC)),
	SC(__NR_kill, EV(SE_SYSCALL_KILL_E, FD(0), ARG8(1)), EV(SE_SYSCALL_KILL_X, RET)),
	SC(__NR_tkill, EV(SE_SYSCALL_TKILL_E, FD(0), ARG8(1)), EV(SE_SYSCALL_TKILL_X, RET)),
	SC(__NR_tgkill, EV(SE_SYSCALL_TGKILL_E, FD(0), FD(1), ARG8(2)),
	   EV(SE_SYSCALL_TGKILL_X, RET)),
	SC(__NR_ptrace, EV(SE_SYSCALL_PTRACE_E, PTREQ(0), FD(1)),
	   EV(SE_SYSCALL_PTRACE_X, RET, DYN_U64(2), DYN_U64(3))),
	SC(__NR_setns, EV(SE_SYSCALL_SETNS_E, FD(0), CLFLAGS(1)), EV(SE_SYSCALL_SETNS_X, RET)),
	SC(__NR_unshare, EV(SE_SYSCALL_UNSHARE_E, CLFLAGS(0)), EV(SE_SYSCALL_UNSHARE_X, RET)),
	SC(__NR_setsid, EV0(SE_SYSCALL_SETSID_E), EV(SE_SYSCALL_SETSID_X, RET)),
	SC(__NR_setpgid, EV(SE_SYSCALL_SETPGID_E, FD(0), FD(1)), EV(SE_SYSCALL_SETPGID_X, RET)),
	SC(__NR_setuid, EV(SE_SYSCALL_SETUID_E, ARG32(0)), EV(SE_SYSCALL_SETUID_X, RET)),
	SC(__NR_setgid, EV(SE_SYSCALL_SETGID_E, ARG32(0)), EV(SE_SYSCALL_SETGID_X, RET)),
	SC(__NR_setresuid, EV(SE_SYSCALL_SETRESUID_E, ARG32(0), ARG32(1), ARG32(2)),
	   EV(SE_SYSCALL_SETRESUID_X, RET)),
	SC(__NR_setresgid, EV(SE_SYSCALL_SETRESGID_E, ARG32(0), ARG32(1), ARG32(2)),
	   EV(SE_SYSCALL_SETRESGID_X, RET)),
	SC(__NR_getuid, EV0(SE_SYSCALL_GETUID_E), EV(SE_SYSCALL_GETUID_X, RET32)),
	SC(__NR_geteuid, EV0(SE_SYSCALL_GETEUID_E), EV(SE_SYSCALL_GETEUID_X, RET32)),
	SC(__NR_getgid, EV0(SE_SYSCALL_GETGID_E), EV(SE_SYSCALL_GETGID_X, RET32)),
	SC(__NR_getegid, EV0(SE_SYSCALL_GETEGID_E), EV(SE_SYSCALL_GETEGID_X, RET32)),
	SC(__NR_getresuid, EV0(SE_SYSCALL_GETRESUID_E),
	   EV(SE_SYSCALL_GETRESUID_X, RET, UPTR32(0, 0), UPTR32(1, 0), UPTR32(2, 0))),
	SC(__NR_getresgid, EV0(SE_SYSCALL_GETRESGID_E),
	   EV(SE_SYSCALL_GETRESGID_X, RET, UPTR32(0, 0), UPTR32(1, 0), UPTR32(2, 0))),
	SC(__NR_getrlimit, EV(SE_SYSCALL_GETRLIMIT_E, ARG8(0)),
	   EV(SE_SYSCALL_GETRLIMIT_X, RET, RLIM_RET(1, 0), RLIM_RET(1, 1))),
	SC(__NR_setrlimit, EV(SE_SYSCALL_SETRLIMIT_E, ARG8(0)),
	   EV(SE_SYSCALL_SETRLIMIT_X, RET, UPTR64(1, 0), UPTR64(1, 1))),
	SC(__NR_prlimit64, EV(SE_SYSCALL_PRLIMIT_E, FD(0), ARG8(1)),
	   EV(SE_SYSCALL_PRLIMIT_X, RET, UPTR64(2, 0), UPTR64(2, 1), UPTR64(3, 0),
	      UPTR64(3, 1))),
	SC(__NR_seccomp, EV(SE_SYSCALL_SECCOMP_E, ARG(0)), EV(SE_SYSCALL_SECCOMP_X, RET)),
	SC(__NR_bpf, EV(SE_SYSCALL_BPF_E, ARG(0)), EV(SE_SYSCALL_BPF_X, DYN_BPF)),
	/* libs' later events (sysdig 0.29 skips them) */
	SC(__NR_init_module, EV0(SE_SYSCALL_INIT_MODULE_E),
	   EV(SE_SYSCALL_INIT_MODULE_X, RET, BUF_ARG(0, 1), ARG(1), STR(2))),
	SC(__NR_finit_module, EV0(SE_SYSCALL_FINIT_MODULE_E),
	   EV(SE_SYSCALL_FINIT_MODULE_X, RET, FD(0), STR(1), ARG32(2))),
	SC(__NR_capset, EV0(SE_SYSCALL_CAPSET_E),
	   EV(SE_SYSCALL_CAPSET_X, RET, CAPS(0), CAPS(1), CAPS(2))),
	SC(__NR_memfd_create, EV0(SE_SYSCALL_MEMFD_CREATE_E),
	   EV(SE_SYSCALL_MEMFD_CREATE_X, RET, STR(0), ARG32(1))),
	SC(__NR_futex, EV(SE_SYSCALL_FUTEX_E, ARG(0), ARG16(1), ARG(2)),
	   EV(SE_SYSCALL_FUTEX_X, RET)),
	SC(__NR_nanosleep, EV(SE_SYSCALL_NANOSLEEP_E, TIMESPEC(0)), EV(SE_SYSCALL_NANOSLEEP_X, RET)),
	SC(__NR_semop, EV(SE_SYSCALL_SEMOP_E, ARG32(0)),
	   EV(SE_SYSCALL_SEMOP_X, RET, ARG32(2), ZERO(2), ZERO(2), ZERO(2), ZERO(2), ZERO(2),
	      ZERO(2))),
	SC(__NR_semget, EV(SE_SYSCALL_SEMGET_E, ARG32(0), ARG32(1), ARG32(2)),
	   EV(SE_SYSCALL_SEMGET_X, RET)),
	SC(__NR_semctl, EV(SE_SYSCALL_SEMCTL_E, ARG32(0), ARG32(1), ZERO(2), ARG32(3)),
	   EV(SE_SYSCALL_SEMCTL_X, RET)),

	/* memory */
	SC(__NR_mmap, EV(SE_SYSCALL_MMAP_E, ARG(0), ARG(1), PROT(2), MMFLAGS(3), FD(4), ARG(5)),
	   EV(SE_SYSCALL_MMAP_X, RET, VM(0), VM(1), VM(2))),
	SC(__NR_munmap, EV(SE_SYSCALL_MUNMAP_E, ARG(0), ARG(1)),
	   EV(SE_SYSCALL_MUNMAP_X, RET, VM(0), VM(1), VM(2))),
	SC(__NR_brk, EV(SE_SYSCALL_BRK_4_E, ARG(0)),
	   EV(SE_SYSCALL_BRK_4_X, RET, VM(0), VM(1), VM(2))),
	SC(__NR_mprotect, EV(SE_SYSCALL_MPROTECT_E, ARG(0), ARG(1), PROT(2)),
	   EV(SE_SYSCALL_MPROTECT_X, RET)),
};

/* The recipe shorthands stay in this file (short names that kernel headers may use). */
#undef P
#undef ARG
#undef ARG32
#undef ARG16
#undef ARG8
#undef FD
#undef RET
#undef RET32
#undef STR
#undef OPEN_NAME
#undef BUF_RET
#undef BUF_ARG
#undef IOV_RET
#undef IOV_ARG
#undef IOV_LEN
#undef MSG_RET
#undef MSG_ARG
#undef MSG_LEN
#undef OFLAGS
#undef CLFLAGS
#undef PROT
#undef MMFLAGS
#undef FCNTL
#undef PTREQ
#undef MNTFLAGS
#undef EXVATFLAGS
#undef EFDFLAGS
#undef HOW_FLAGS
#undef HOW_MODE
#undef HOW_RESOLVE
#undef DEV
#undef FD_PATH
#undef FD_INO
#undef NODE_MODE
#undef NODE_DEV
#undef OFLAGS_X
#undef OMODE
#undef MODE
#undef QUEUE_PCT
#undef QUEUE_LEN
#undef QUEUE_MAX
#undef SADDR
#undef TUPLE
#undef TUPLE_RET
#undef TUPLE_TO
#undef TUPLE_FROM
#undef TUPLE_MSG_TO
#undef TUPLE_MSG_FROM
#undef UPTR64
#undef UPTR32
#undef RLIM_RET
#undef PIPE_FD
#undef PIPE_INO
#undef VM
#undef DYN_U64
#undef DYN_NONE
#undef DYN_BPF
#undef FDLIST_IN
#undef FDLIST_OUT
#undef TIMESPEC
#undef CAPS
#undef ZERO
#undef EMPTY
#undef NPARAMS
#undef EV
#undef EV0
#undef EVH
#undef SC

#endif /* SENTRY_SYSCALL_SPECS_H */
