/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstate_types.h - part of cstate.c: the tracker's state: parameter slots, handler and fd-type numbers, the structs.
 * cstate.c includes every part in order, as one translation unit (the functions stay
 * static and inline across parts); no part is compiled on its own.
 */
#ifndef SENTRY_CSTATE_TYPES_H
#define SENTRY_CSTATE_TYPES_H


#define CS_HDR SENTRY_EVT_HDR_LEN
#define CS_MAXP 32

/* named parameters (slots) */
enum {
	S_RES, S_FD, S_NAME, S_PATH, S_FLAGS, S_DIRFD, S_DEV, S_EXE, S_ARGS, S_PID,
	S_PTID, S_CWD, S_FDLIMIT, S_COMM, S_ENV, S_UID, S_GID, S_VTID, S_VPID, S_TTY,
	S_PGID, S_LOGINUID, S_TUPLE, S_FD1, S_FD2, S_INO, S_OLDFD, S_DOMAIN, S_TYPE,
	S_EUID, S_EGID, S_FILENAME, S_PATHNAME, S_CAPI, S_CAPP, S_CAPE, S_ADDR,
	S_TRUSTED, CS_NSLOTS
};

/* parameter kinds */
enum { K_OTHER, K_SIGNED, K_UNSIGNED, K_STR, K_BYTES, K_TUPLE, K_SOCKADDR };

/* plan bits, as inspector.py's */
#define P_NO_RESET 1
#define P_ENTER_FD 2
#define P_STASH 4
#define P_EXIT_FD 8

enum {
	OP_NONE, OP_PROCEXIT, OP_CLONE_X, OP_EXECVE_X, OP_OPEN_X, OP_SOCKET_X,
	OP_SOCKETPAIR_X, OP_CONNECT_E, OP_CONNECT_X, OP_ACCEPT_X, OP_BIND_X, OP_DUP_X,
	OP_PIPE_X, OP_CLOSE_X, OP_SIMPLE_X, OP_CHDIR_X, OP_FCHDIR_X, OP_SETUID_X,
	OP_SETGID_X, OP_SETSID_X, OP_CAPSET_X, OP_SEND_E, OP_DGRAM_X, OP_MEMFD_X,
};

/* fd types, in FdType's order */
enum {
	T_FILE, T_DIRECTORY, T_IPV4, T_IPV6, T_UNIX, T_PIPE, T_EVENT, T_SIGNALFD,
	T_EVENTPOLL, T_INOTIFY, T_TIMERFD, T_NETLINK, T_BPF, T_USERFAULTFD, T_IO_URING,
	T_MEMFD, T_UNKNOWN,
};
enum { R_NONE, R_CLIENT, R_SERVER };
enum { L4_NONE, L4_TCP, L4_UDP, L4_RAW, L4_ICMP };

#define CL_CLONE_FILES (1u << 0)
#define CL_CLONE_PARENT (1u << 8)
#define CL_CLONE_THREAD (1u << 13)
#define CL_CHILD_IN_PIDNS (1u << 29)
#define O_CREAT_ (1u << 2)
#define O_WRONLY_ (1u << 1)
#define O_TRUNC_ (1u << 8)
#define O_DIRECTORY_ (1u << 10)
#define AT_FDCWD_ (-100)
#define EXVAT_EMPTY (1u << 0)
#define EINPROGRESS_ 115
#define NO_ID 0xFFFFFFFFll

struct cs_evt {
	uint8_t op;
	uint8_t plan;
	uint8_t wide;
	uint8_t arg;		/* OP_SIMPLE_X: fd type; OP_OPEN_X: 1 for creat; OP_DGRAM_X: 1 send */
	int8_t slot[CS_NSLOTS];
	uint8_t kind[CS_MAXP];
};

/* Strings are interned per tracker: one copy of each path, name or argument list. */
struct cs_str {
	uint32_t ref;
	uint32_t len;
	uint32_t hash;
	uint32_t interned;
	char s[];
};

struct cs_fd {
	int64_t num;
	uint8_t type, role, l4proto, listening, connected;
	uint8_t cfam, sfam;	/* 0: no address, 4, 6 */
	uint8_t cport_set, sport_set;
	uint32_t flags;
	uint64_t ino;
	uint64_t dev;
	uint8_t cip[16], sip[16];
	int64_t cport, sport;
	int64_t socktype;
	uint64_t renamed;	/* the event count (cs->events) of the last rename, 0: none */
	struct cs_str *name, *name_raw;
};

struct cs_fdtab {
	uint32_t ref;
	uint32_t count, cap;	/* cap: power of two */
	struct cs_fd **slots;
};

#define ST_STR 3
struct cs_stash {
	uint64_t present, null;
	int64_t v[CS_NSLOTS];
	struct cs_str *name, *filename, *pathname;
	uint32_t tuple_len;
	uint8_t tuple[40];
};

struct cs_thread {
	int64_t tid, pid, ptid, sid, vpgid, vtid, vpid;
	struct cs_str *comm, *exe, *exepath, *cwd, *args, *env;
	int64_t uid, gid, loginuid, tty, fdlimit, flags;
	uint64_t clone_ts;
	int64_t exe_writable, exe_flags;
	uint64_t cap_inh, cap_perm, cap_eff;
	int64_t last_type, last_fd;
	uint64_t last_ts;
	struct cs_fdtab *fds;
	struct cs_stash *stash;
	int stash_valid;
	uint32_t held;		/* entries of cs_state.callers naming it */
	int buried;		/* out of the table, kept for those entries only */
};

/* what a query returns (pointers valid until the next event) */
struct cs_thread_out {
	int64_t tid, pid, ptid, sid, vpgid, vtid, vpid;
	const char *comm, *exe, *exepath, *cwd, *args, *env;
	uint32_t comm_len, exe_len, exepath_len, cwd_len, args_len, env_len;
	int64_t uid, gid, loginuid, tty, fdlimit, flags;
	uint64_t clone_ts;
	int64_t exe_writable, exe_flags;
	uint64_t cap_inh, cap_perm, cap_eff;
	int64_t last_type, last_fd;
	uint64_t fds_id;	/* the fd table's identity: equal when shared */
	uint32_t nfds;
};

struct cs_fd_out {
	int64_t num;
	int32_t type, role, l4proto, listening, connected, cfam, sfam, cport_set, sport_set;
	uint32_t flags;
	uint64_t ino, dev;
	uint8_t cip[16], sip[16];
	int64_t cport, sport, socktype;
	const char *name, *name_raw;
	uint32_t name_len, name_raw_len;
	int32_t renamed_now;	/* the last event fed named it (fd.name_changed) */
};

struct cs_grave {
	void *p;
	int kind;		/* 0 fd, 1 thread */
};

/* A clone's caller, kept by child tid until the child's half of the clone */
struct cs_caller {
	int64_t child;
	struct cs_thread *t;
};

#define CS_MAX_CALLERS 4096	/* as process_events.py's _MAX_CALLERS: the oldest dropped */

struct cs_state {
	struct cs_evt *evt;
	uint32_t ntypes;
	struct cs_thread **th;
	uint32_t th_count, th_cap;
	int64_t dead_tid;
	int has_dead;
	struct cs_thread *created;
	struct cs_fd *ev_fd;
	int64_t ev_tid;
	struct cs_grave *grave;
	uint32_t ngrave, grave_cap;
	struct cs_caller *callers;	/* in the order seen, as the inspector's dict */
	uint32_t ncallers;
	uint64_t events, bad, unknown;
	/* the record being handled */
	const uint8_t *rec;
	uint32_t rec_len, nparams;
	uint32_t poff[CS_MAXP], plen[CS_MAXP];
	const struct cs_evt *ce;
	struct cs_str **strs;	/* the intern set: open addressing by hash */
	uint32_t str_count, str_cap;
};

static struct cs_str cs_empty_s = { 0x40000000u, 0, 0, 0, "" };
static struct {
	uint32_t ref, len, hash, interned;
	char s[5];
} cs_na_s = { 0x40000000u, 4, 0, 0, "<NA>" };
#define EMPTY (&cs_empty_s)
#define NA ((struct cs_str *)&cs_na_s)

/* the tracker whose call is running in this thread (its intern set) */
static __thread struct cs_state *cs_cur;

#endif /* SENTRY_CSTATE_TYPES_H */
