/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstate.c - the thread and fd tables, kept from scap records in C.
 *
 * The same bookkeeping as the Python inspector (inspector.py and its handler
 * modules, the reference it is tested against): clone/fork/vfork/clone3 and
 * execve/execveat exits, procexit, the opens, socket/socketpair/connect/accept/
 * bind, dup*, pipe*, close, the simple fd creators, chdir/fchdir, setuid/setgid/
 * setres*, setsid and capset. Which parameter of which event type carries what
 * is not written here: Python fills cs_evt[] from the event table (slot ->
 * parameter index, parameter kinds), so both implementations read the same
 * layouts.
 *
 * Threads: open addressing keyed by tid. fds: one open-addressing table per
 * process, shared by reference (CLONE_FILES / threads) or copied (fork).
 * Strings are refcounted and shared on clone, dup and fork. Whatever an event
 * drops (a closed fd, an exited thread) stays alive until the next event, so
 * the current event's fd can still be read after its close.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <linux/types.h>
#define SENTRY_CDEF	/* types from linux/types.h; no static asserts (the drivers have them) */
#include "sentry_wire.h"	/* event header, block head and types: driver/gen_headers.py */

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

/* ---- strings ----------------------------------------------------------------- */

static inline uint32_t str_hash(const char *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t k;

	for (k = 0; k < len; k++)
		h = (h ^ (uint8_t)p[k]) * 16777619u;
	return h;
}

static void strs_grow(struct cs_state *cs)
{
	struct cs_str **old = cs->strs;
	uint32_t oldcap = cs->str_cap, k;

	cs->str_cap = oldcap ? oldcap * 2 : 4096;
	cs->strs = calloc(cs->str_cap, sizeof(*cs->strs));
	if (!cs->strs)
		abort();
	for (k = 0; k < oldcap; k++)
		if (old[k]) {
			uint32_t i = old[k]->hash & (cs->str_cap - 1);

			while (cs->strs[i])
				i = (i + 1) & (cs->str_cap - 1);
			cs->strs[i] = old[k];
		}
	free(old);
}

static struct cs_str *str_new(const char *p, size_t len)
{
	struct cs_state *cs = cs_cur;
	struct cs_str *s;
	uint32_t h, i = 0, mask;

	if (!len)
		return EMPTY;
	h = str_hash(p, len);
	if (cs) {
		if ((cs->str_count + 1) * 2 > cs->str_cap)
			strs_grow(cs);
		mask = cs->str_cap - 1;
		for (i = h & mask; cs->strs[i]; i = (i + 1) & mask) {
			s = cs->strs[i];
			if (s->hash == h && s->len == len && !memcmp(s->s, p, len)) {
				s->ref++;
				return s;
			}
		}
	}
	s = malloc(sizeof(*s) + len + 1);
	if (!s)
		abort();
	s->ref = 1;
	s->len = (uint32_t)len;
	s->hash = h;
	s->interned = cs != NULL;
	memcpy(s->s, p, len);
	s->s[len] = 0;
	if (cs) {
		cs->strs[i] = s;
		cs->str_count++;
	}
	return s;
}

/* Drop s from the intern set (backward-shift deletion). */
static void strs_remove(struct cs_state *cs, struct cs_str *s)
{
	uint32_t mask = cs->str_cap - 1, i = s->hash & mask, j;

	while (cs->strs[i] != s) {
		if (!cs->strs[i])
			return;
		i = (i + 1) & mask;
	}
	cs->strs[i] = NULL;
	cs->str_count--;
	for (j = (i + 1) & mask; cs->strs[j]; j = (j + 1) & mask) {
		uint32_t home = cs->strs[j]->hash & mask;

		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			cs->strs[i] = cs->strs[j];
			cs->strs[j] = NULL;
			i = j;
		}
	}
}

static inline struct cs_str *str_ref(struct cs_str *s)
{
	if (s != EMPTY && s != NA)
		s->ref++;
	return s;
}

static inline void str_unref(struct cs_str *s)
{
	if (s && s != EMPTY && s != NA && --s->ref == 0) {
		if (s->interned && cs_cur)
			strs_remove(cs_cur, s);
		free(s);
	}
}

static inline void str_set(struct cs_str **dst, struct cs_str *s)
{
	struct cs_str *old = *dst;

	*dst = s;		/* s already referenced for dst */
	str_unref(old);
}

/* ---- paths (posixpath.normpath and join_path of handler_base.py) ------------ */

static struct cs_str *normpath(const char *p, size_t len)
{
	/* components as (start, length) into p; ".." pops one unless there is none */
	size_t *cs_ = malloc(sizeof(size_t) * (len + 2)), n = 0, i = 0, o = 0, k;
	int abs_ = len && p[0] == '/';
	char *out = malloc(len + 2);
	struct cs_str *res;

	if (!cs_ || !out)
		abort();
	while (i < len) {
		size_t j = i;

		while (j < len && p[j] != '/')
			j++;
		if (j == i || (j - i == 1 && p[i] == '.')) {
			/* empty or "." */
		} else if (j - i == 2 && p[i] == '.' && p[i + 1] == '.' &&
			   !((!abs_ && !n) || (n && cs_[2 * n - 1] == 2 &&
					       p[cs_[2 * n - 2]] == '.' &&
					       p[cs_[2 * n - 2] + 1] == '.'))) {
			if (n)
				n--;
		} else {
			cs_[2 * n] = i;
			cs_[2 * n + 1] = j - i;
			n++;
		}
		i = j + 1;
	}
	if (abs_)
		out[o++] = '/';
	for (k = 0; k < n; k++) {
		if (k)
			out[o++] = '/';
		memcpy(out + o, p + cs_[2 * k], cs_[2 * k + 1]);
		o += cs_[2 * k + 1];
	}
	if (!o)
		out[o++] = '.';
	res = str_new(out, o);
	free(out);
	free(cs_);
	return res;
}

static int path_normal(const char *s, size_t len)
{
	size_t i;

	if (!len || s[len - 1] == '/')
		return 0;
	for (i = 0; i + 1 < len; i++)
		if (s[i] == '/' && (s[i + 1] == '/' || s[i + 1] == '.'))
			return 0;
	return 1;
}

static struct cs_str *join_path(struct cs_str *base, const char *name, size_t nlen)
{
	struct cs_str *res;
	char *buf;
	size_t blen = base->len;

	if (!nlen)
		return str_ref(base);
	if (name[0] == '/' && path_normal(name, nlen))
		return str_new(name, nlen);
	if (name[0] == '/' || !blen)
		return normpath(name, nlen);
	while (blen && base->s[blen - 1] == '/')
		blen--;
	buf = malloc(blen + 1 + nlen);
	if (!buf)
		abort();
	memcpy(buf, base->s, blen);
	buf[blen] = '/';
	memcpy(buf + blen + 1, name, nlen);
	res = normpath(buf, blen + 1 + nlen);
	free(buf);
	return res;
}

static struct cs_str *dir_path(struct cs_str *p)
{
	struct cs_str *d;
	char *buf;

	if (!p->len || p->s[p->len - 1] == '/')
		return p;
	buf = malloc(p->len + 1);
	if (!buf)
		abort();
	memcpy(buf, p->s, p->len);
	buf[p->len] = '/';
	d = str_new(buf, p->len + 1);
	free(buf);
	str_unref(p);
	return d;
}

/* ---- graveyard: freed at the next event -------------------------------------- */

static void bury(struct cs_state *cs, void *p, int kind)
{
	if (cs->ngrave == cs->grave_cap) {
		cs->grave_cap = cs->grave_cap ? cs->grave_cap * 2 : 64;
		cs->grave = realloc(cs->grave, sizeof(*cs->grave) * cs->grave_cap);
		if (!cs->grave)
			abort();
	}
	cs->grave[cs->ngrave].p = p;
	cs->grave[cs->ngrave].kind = kind;
	cs->ngrave++;
}

static void fd_free(struct cs_fd *f)
{
	str_unref(f->name);
	str_unref(f->name_raw);
	free(f);
}

/* ---- fd tables ----------------------------------------------------------------- */

static inline uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

static struct cs_fdtab *fdtab_new(uint32_t cap)
{
	struct cs_fdtab *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->ref = 1;
	t->cap = cap;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots)
		abort();
	return t;
}

static struct cs_fd *fd_find(struct cs_fdtab *t, int64_t num)
{
	uint32_t mask = t->cap - 1, i = hash64((uint64_t)num) & mask;

	for (;;) {
		struct cs_fd *f = t->slots[i];

		if (!f)
			return NULL;
		if (f->num == num)
			return f;
		i = (i + 1) & mask;
	}
}

static void fd_insert_slot(struct cs_fdtab *t, struct cs_fd *f)
{
	uint32_t mask = t->cap - 1, i = hash64((uint64_t)f->num) & mask;

	while (t->slots[i])
		i = (i + 1) & mask;
	t->slots[i] = f;
}

/* Remove num; the fd goes to the graveyard (or is returned when keep). */
static struct cs_fd *fd_take(struct cs_fdtab *t, int64_t num)
{
	uint32_t mask = t->cap - 1, i = hash64((uint64_t)num) & mask, j;
	struct cs_fd *f;

	for (;;) {
		f = t->slots[i];
		if (!f)
			return NULL;
		if (f->num == num)
			break;
		i = (i + 1) & mask;
	}
	t->slots[i] = NULL;
	t->count--;
	/* backward-shift the cluster that follows */
	j = i;
	for (;;) {
		struct cs_fd *g;
		uint32_t home;

		j = (j + 1) & mask;
		g = t->slots[j];
		if (!g)
			break;
		home = hash64((uint64_t)g->num) & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->slots[i] = g;
			t->slots[j] = NULL;
			i = j;
		}
	}
	return f;
}

static void fd_remove(struct cs_state *cs, struct cs_fdtab *t, int64_t num)
{
	struct cs_fd *f = fd_take(t, num);

	if (f)
		bury(cs, f, 0);
}

/* Put f in t, replacing any fd of the same number. */
static struct cs_fd *fd_put(struct cs_state *cs, struct cs_fdtab *t, struct cs_fd *f)
{
	fd_remove(cs, t, f->num);
	if ((t->count + 1) * 2 > t->cap) {
		struct cs_fd **old = t->slots;
		uint32_t oldcap = t->cap, k;

		t->cap *= 2;
		t->slots = calloc(t->cap, sizeof(*t->slots));
		if (!t->slots)
			abort();
		for (k = 0; k < oldcap; k++)
			if (old[k])
				fd_insert_slot(t, old[k]);
		free(old);
	}
	fd_insert_slot(t, f);
	t->count++;
	return f;
}

static struct cs_fd *fd_new(int64_t num, int type)
{
	struct cs_fd *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->num = num;
	f->type = (uint8_t)type;
	f->name = EMPTY;
	f->name_raw = EMPTY;
	return f;
}

static struct cs_fd *fd_copy(const struct cs_fd *src, int64_t num)
{
	struct cs_fd *f = malloc(sizeof(*f));

	if (!f)
		abort();
	*f = *src;
	f->num = num;
	str_ref(f->name);
	str_ref(f->name_raw);
	return f;
}

static void fdtab_unref(struct cs_fdtab *t)
{
	uint32_t k;

	if (!t || --t->ref)
		return;
	for (k = 0; k < t->cap; k++)
		if (t->slots[k])
			fd_free(t->slots[k]);
	free(t->slots);
	free(t);
}

static struct cs_fdtab *fdtab_copy(const struct cs_fdtab *src)
{
	struct cs_fdtab *t = fdtab_new(src->cap);
	uint32_t k;

	for (k = 0; k < src->cap; k++)
		if (src->slots[k]) {
			fd_insert_slot(t, fd_copy(src->slots[k], src->slots[k]->num));
			t->count++;
		}
	return t;
}

/* ---- threads --------------------------------------------------------------------- */

static void stash_clear(struct cs_stash *st)
{
	str_unref(st->name);
	str_unref(st->filename);
	str_unref(st->pathname);
	st->name = st->filename = st->pathname = NULL;
	st->present = st->null = 0;
	st->tuple_len = 0;
}

static void thread_free(struct cs_thread *t)
{
	str_unref(t->comm);
	str_unref(t->exe);
	str_unref(t->exepath);
	str_unref(t->cwd);
	str_unref(t->args);
	str_unref(t->env);
	fdtab_unref(t->fds);
	if (t->stash) {
		stash_clear(t->stash);
		free(t->stash);
	}
	free(t);
}

/* A thread out of the table: freed, unless a caller entry still names it. */
static void thread_release(struct cs_thread *t)
{
	if (t->held)
		t->buried = 1;
	else
		thread_free(t);
}

static void caller_unhold(struct cs_thread *t)
{
	if (--t->held == 0 && t->buried)
		thread_free(t);
}

static void caller_drop(struct cs_state *cs, uint32_t k)
{
	struct cs_thread *t = cs->callers[k].t;

	memmove(&cs->callers[k], &cs->callers[k + 1],
		(cs->ncallers - k - 1) * sizeof(*cs->callers));
	cs->ncallers--;
	caller_unhold(t);
}

/* callers[child] = t, as the inspector's dict: the oldest entry dropped first when
 * full; an entry already there keeps its place. */
static void caller_put(struct cs_state *cs, int64_t child, struct cs_thread *t)
{
	uint32_t k;

	if (!cs->callers) {
		cs->callers = calloc(CS_MAX_CALLERS, sizeof(*cs->callers));
		if (!cs->callers)
			abort();
	}
	if (cs->ncallers >= CS_MAX_CALLERS)
		caller_drop(cs, 0);
	t->held++;
	for (k = 0; k < cs->ncallers; k++)
		if (cs->callers[k].child == child) {
			caller_unhold(cs->callers[k].t);
			cs->callers[k].t = t;
			return;
		}
	cs->callers[cs->ncallers].child = child;
	cs->callers[cs->ncallers].t = t;
	cs->ncallers++;
}

/* The caller kept for child, taken out of the list; the caller of this unholds it. */
static struct cs_thread *caller_pop(struct cs_state *cs, int64_t child)
{
	struct cs_thread *t;
	uint32_t k;

	for (k = 0; k < cs->ncallers; k++)
		if (cs->callers[k].child == child) {
			t = cs->callers[k].t;
			memmove(&cs->callers[k], &cs->callers[k + 1],
				(cs->ncallers - k - 1) * sizeof(*cs->callers));
			cs->ncallers--;
			return t;
		}
	return NULL;
}

static struct cs_thread *thread_find(struct cs_state *cs, int64_t tid)
{
	uint32_t mask = cs->th_cap - 1, i = hash64((uint64_t)tid) & mask;

	for (;;) {
		struct cs_thread *t = cs->th[i];

		if (!t)
			return NULL;
		if (t->tid == tid)
			return t;
		i = (i + 1) & mask;
	}
}

static void thread_slot(struct cs_state *cs, struct cs_thread *t)
{
	uint32_t mask = cs->th_cap - 1, i = hash64((uint64_t)t->tid) & mask;

	while (cs->th[i])
		i = (i + 1) & mask;
	cs->th[i] = t;
}

static void thread_remove(struct cs_state *cs, int64_t tid)
{
	uint32_t mask = cs->th_cap - 1, i = hash64((uint64_t)tid) & mask, j;
	struct cs_thread *t;

	for (;;) {
		t = cs->th[i];
		if (!t)
			return;
		if (t->tid == tid)
			break;
		i = (i + 1) & mask;
	}
	cs->th[i] = NULL;
	cs->th_count--;
	j = i;
	for (;;) {
		struct cs_thread *g;
		uint32_t home;

		j = (j + 1) & mask;
		g = cs->th[j];
		if (!g)
			break;
		home = hash64((uint64_t)g->tid) & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			cs->th[i] = g;
			cs->th[j] = NULL;
			i = j;
		}
	}
	bury(cs, t, 1);
}

/* A fresh placeholder for tid, replacing any entry (as ThreadTable.new). */
static struct cs_thread *thread_new(struct cs_state *cs, int64_t tid)
{
	struct cs_thread *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	thread_remove(cs, tid);
	t->tid = t->pid = tid;
	t->ptid = t->sid = t->vpgid = t->vtid = t->vpid = -1;
	t->comm = NA;
	t->exe = NA;
	t->exepath = t->cwd = t->args = t->env = EMPTY;
	t->uid = t->gid = t->loginuid = NO_ID;
	t->last_type = -1;
	t->last_fd = -1;
	t->fds = fdtab_new(8);
	if ((cs->th_count + 1) * 2 > cs->th_cap) {
		struct cs_thread **old = cs->th;
		uint32_t oldcap = cs->th_cap, k;

		cs->th_cap *= 2;
		cs->th = calloc(cs->th_cap, sizeof(*cs->th));
		if (!cs->th)
			abort();
		for (k = 0; k < oldcap; k++)
			if (old[k])
				thread_slot(cs, old[k]);
		free(old);
	}
	thread_slot(cs, t);
	cs->th_count++;
	return t;
}

static struct cs_thread *main_thread(struct cs_state *cs, struct cs_thread *t)
{
	struct cs_thread *m;

	if (t->tid == t->pid)
		return t;
	m = thread_find(cs, t->pid);
	return m ? m : t;
}

/* ---- parameters -------------------------------------------------------------- */

static inline uint64_t rdn(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;
	uint32_t k;

	if (n > 8)
		n = 8;
	for (k = 0; k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

/* Parameter lengths and offsets of the record; 0 if they overrun it. */
static int layout(struct cs_state *cs)
{
	const uint8_t *e = cs->rec;
	uint32_t n, w = cs->ce->wide ? 4 : 2, k;
	uint64_t off;

	memcpy(&n, e + SENTRY_EVT_OFF_NPARAMS, 4);
	if ((uint64_t)n * w > cs->rec_len - CS_HDR)
		return 0;
	off = CS_HDR + (uint64_t)n * w;
	for (k = 0; k < n; k++) {
		uint32_t len = w == 4 ? (uint32_t)rdn(e + CS_HDR + 4 * k, 4) :
					(uint32_t)rdn(e + CS_HDR + 2 * k, 2);

		if (k < CS_MAXP) {
			cs->poff[k] = (uint32_t)off;
			cs->plen[k] = len;
		}
		off += len;
	}
	if (off > cs->rec_len)
		return 0;
	cs->nparams = n < CS_MAXP ? n : CS_MAXP;
	return 1;
}

/* the index of a slot in this record, or -1 (absent or empty: Python's None) */
static inline int pidx(struct cs_state *cs, int slot)
{
	int i = cs->ce->slot[slot];

	if (i < 0 || (uint32_t)i >= cs->nparams || !cs->plen[i])
		return -1;
	return i;
}

/* parameter i as an integer: 1 and *v if present (Python: not None) */
static int pint_at(struct cs_state *cs, int i, int64_t *v)
{
	uint32_t n;
	uint64_t raw;

	if (i < 0 || (uint32_t)i >= cs->nparams || !cs->plen[i])
		return 0;
	n = cs->plen[i];
	raw = rdn(cs->rec + cs->poff[i], n);
	if (cs->ce->kind[i] == K_SIGNED && n < 8 && (raw >> (8 * n - 1)) & 1)
		raw |= ~0ull << (8 * n);
	else if (cs->ce->kind[i] != K_SIGNED && cs->ce->kind[i] != K_UNSIGNED)
		return 0;
	*v = (int64_t)raw;
	return 1;
}

static inline int pint(struct cs_state *cs, int slot, int64_t *v)
{
	return pint_at(cs, cs->ce->slot[slot], v);
}

/* a string slot, cut at its first NUL: 1 if it is a string (Python: isinstance str) */
static int pstr(struct cs_state *cs, int slot, const char **s, size_t *len)
{
	int i = pidx(cs, slot);
	const char *p;

	if (i < 0 || cs->ce->kind[i] != K_STR)
		return 0;
	p = (const char *)cs->rec + cs->poff[i];
	*s = p;
	*len = strnlen(p, cs->plen[i]);
	return 1;
}

static int praw(struct cs_state *cs, int slot, const uint8_t **p, uint32_t *len)
{
	int i = pidx(cs, slot);

	if (i < 0)
		return 0;
	*p = cs->rec + cs->poff[i];
	*len = cs->plen[i];
	return 1;
}

/* BYTEBUF list (a\0b\0) kept as is; Python's split_nul splits it when read */
static struct cs_str *pblob(struct cs_state *cs, int slot, int *found)
{
	const uint8_t *p;
	uint32_t len;

	*found = praw(cs, slot, &p, &len);
	return *found ? str_new((const char *)p, len) : EMPTY;
}

/* ---- the stash of an enter's parameters ------------------------------------------- */

static const int stash_int_slots[] = { S_FLAGS, S_DIRFD, S_DOMAIN, S_TYPE, S_UID, S_EUID,
				       S_GID, S_EGID, S_FD };

static void stash_enter(struct cs_state *cs, struct cs_thread *t)
{
	struct cs_stash *st = t->stash;
	size_t k;
	const char *s;
	size_t len;

	if (!st) {
		st = t->stash = calloc(1, sizeof(*st));
		if (!st)
			abort();
	}
	stash_clear(st);
	t->stash_valid = 1;
	for (k = 0; k < CS_NSLOTS; k++) {
		int i = cs->ce->slot[k];

		if (i >= 0 && (uint32_t)i < cs->nparams) {
			st->present |= 1ull << k;
			if (!cs->plen[i])
				st->null |= 1ull << k;
		}
	}
	for (k = 0; k < sizeof(stash_int_slots) / sizeof(int); k++) {
		int slot = stash_int_slots[k];
		int64_t v;

		if (pint(cs, slot, &v))
			st->v[slot] = v;
		else if (st->present & (1ull << slot))
			st->null |= 1ull << slot;	/* not an int: as good as None here */
	}
	if (pstr(cs, S_NAME, &s, &len))
		st->name = str_new(s, len);
	if (pstr(cs, S_FILENAME, &s, &len))
		st->filename = str_new(s, len);
	if (pstr(cs, S_PATHNAME, &s, &len))
		st->pathname = str_new(s, len);
}

/* What this exit's enter said (NULL: Python's empty dict). */
static struct cs_stash *entered(struct cs_state *cs, struct cs_thread *t, uint16_t type)
{
	if (t->last_type == (int64_t)type - 1 && t->stash_valid)
		return t->stash;
	return NULL;
}

#define HAS(st, slot) ((st) && ((st)->present >> (slot) & 1))
#define VAL(st, slot) (HAS(st, slot) && !((st)->null >> (slot) & 1))

/* ---- handlers ----------------------------------------------------------------------- */

static void on_clone_exit(struct cs_state *cs, struct cs_thread *th, uint64_t ts)
{
	int64_t res, flags = 0, child_pid, child_ptid, v;
	struct cs_thread *child, *source, *caller = NULL;
	const char *s;
	size_t len;
	int found;

	if (!pint(cs, S_RES, &res) || res < 0)
		return;
	pint(cs, S_FLAGS, &flags);
	if (res == 0) {
		/* the child's half: its caller's half, when seen first, named the creator
		 * (which may have exited since, and the child been reparented) */
		caller = caller_pop(cs, th->tid);
		if (cs->created != th) {
			if (caller)
				caller_unhold(caller);
			return;
		}
		child = th;
		if (!pint(cs, S_PID, &child_pid))
			child_pid = th->tid;
		if (!pint(cs, S_PTID, &child_ptid))
			child_ptid = -1;
		source = thread_find(cs, flags & CL_CLONE_THREAD ? child_pid : child_ptid);
		if (caller && (!source || !(flags & CL_CLONE_THREAD)))
			source = caller;
		if (flags & CL_CLONE_THREAD)
			child_ptid = child_pid;
	} else {
		if (thread_find(cs, res))
			return;	/* the child's half came first */
		if (!(flags & CL_CHILD_IN_PIDNS)) {
			caller_put(cs, res, th);
			return;
		}
		source = th;
		child_pid = flags & CL_CLONE_THREAD ? th->pid : res;
		child_ptid = flags & (CL_CLONE_THREAD | CL_CLONE_PARENT) ? th->ptid : th->tid;
		child = thread_new(cs, res);
	}
	child->pid = child_pid;
	child->ptid = child_ptid;
	child->flags = flags;
	child->clone_ts = ts;
	if (pstr(cs, S_EXE, &s, &len))
		str_set(&child->exe, str_new(s, len));
	else
		str_set(&child->exe, str_ref(source ? source->exe : NA));
	{
		struct cs_str *args = pblob(cs, S_ARGS, &found);

		if (found)
			str_set(&child->args, args);
		else
			str_set(&child->args, str_ref(source ? source->args : EMPTY));
	}
	if (pstr(cs, S_COMM, &s, &len))
		str_set(&child->comm, str_new(s, len));
	else
		str_set(&child->comm, str_ref(source ? source->comm : child->exe));
	if (pstr(cs, S_CWD, &s, &len))
		str_set(&child->cwd, dir_path(str_new(s, len)));
	else
		str_set(&child->cwd, str_ref(source ? source->cwd : EMPTY));
	child->fdlimit = pint(cs, S_FDLIMIT, &v) ? v : 0;
	if (source) {
		struct cs_fdtab *fds;

		child->uid = source->uid;
		child->gid = source->gid;
		child->loginuid = source->loginuid;
		child->tty = source->tty;
		child->sid = source->sid;
		child->vpgid = source->vpgid;
		str_set(&child->env, str_ref(source->env));
		str_set(&child->exepath, str_ref(source->exepath));
		child->exe_writable = source->exe_writable;
		child->exe_flags = source->exe_flags;
		child->cap_inh = source->cap_inh;
		child->cap_perm = source->cap_perm;
		child->cap_eff = source->cap_eff;
		if (flags & (CL_CLONE_FILES | CL_CLONE_THREAD)) {
			fds = source->fds;
			fds->ref++;
		} else {
			fds = fdtab_copy(source->fds);
		}
		fdtab_unref(child->fds);
		child->fds = fds;
	} else {
		fdtab_unref(child->fds);
		child->fds = fdtab_new(8);
	}
	if (pint(cs, S_UID, &v))
		child->uid = v;
	if (pint(cs, S_GID, &v))
		child->gid = v;
	if (pint(cs, S_VTID, &v))
		child->vtid = v;
	if (pint(cs, S_VPID, &v))
		child->vpid = v;
	if (caller)
		caller_unhold(caller);
}

static struct cs_str *dir_of(struct cs_state *cs, struct cs_thread *t, int has, int64_t dirfd)
{
	struct cs_fd *f;

	if (!has || dirfd == AT_FDCWD_)
		return main_thread(cs, t)->cwd;
	f = fd_find(t->fds, dirfd);
	return f ? f->name : EMPTY;
}

static void on_execve_exit(struct cs_state *cs, struct cs_thread *th, uint16_t type)
{
	int64_t res, v;
	struct cs_stash *en = entered(cs, th, type);
	const char *s;
	size_t len;
	int found;

	if (!pint(cs, S_RES, &res) || res < 0)
		return;
	if (!en && th->last_type == 330 && th->stash_valid)
		en = th->stash;	/* an execve exit after an execveat enter, as libs */
	if (pint(cs, S_PID, &v))
		th->pid = v;
	if (pint(cs, S_PTID, &v))
		th->ptid = v;
	if (pstr(cs, S_EXE, &s, &len))
		str_set(&th->exe, str_new(s, len));
	str_set(&th->args, pblob(cs, S_ARGS, &found));
	if (pstr(cs, S_COMM, &s, &len))
		str_set(&th->comm, str_new(s, len));
	else
		str_set(&th->comm, str_ref(th->exe));
	if (en && en->filename) {
		str_set(&th->exepath, str_ref(en->filename));
	} else if (HAS(en, S_PATHNAME)) {
		int has_dirfd = VAL(en, S_DIRFD);
		int64_t dirfd = HAS(en, S_DIRFD) ? (has_dirfd ? en->v[S_DIRFD] : 0) : AT_FDCWD_;
		int has = HAS(en, S_DIRFD) ? has_dirfd : 1;
		int64_t fl = VAL(en, S_FLAGS) ? en->v[S_FLAGS] : 0;

		if (fl & EXVAT_EMPTY) {
			struct cs_fd *f = has ? fd_find(th->fds, dirfd) : NULL;

			str_set(&th->exepath, str_ref(f ? f->name : NA));
		} else {
			const char *nm = en->pathname ? en->pathname->s : "";
			size_t nl = en->pathname ? en->pathname->len : 0;
			struct cs_str *base = nl && nm[0] == '/' ? EMPTY : dir_of(cs, th, has, dirfd);

			str_set(&th->exepath, join_path(base, nm, nl));
		}
	} else {
		str_set(&th->exepath, EMPTY);
	}
	{
		/* a relative program path is the cwd's (not <NA>, not a memfd's name) */
		struct cs_str *x = th->exepath;

		if (x->len && x->s[0] != '/' && strcmp(x->s, "<NA>") &&
		    strncmp(x->s, "memfd:", 6))
			str_set(&th->exepath, join_path(main_thread(cs, th)->cwd, x->s, x->len));
	}
	if (!th->exepath->len || !strcmp(th->exepath->s, "<NA>")) {
		/* the enter or the fd it ran was not seen: the path the driver read from the
		 * program's file (a memfd's as memfd_create's event names it) */
		if (pstr(cs, S_TRUSTED, &s, &len) && len) {
			static const char del[] = " (deleted)";

			if (len >= sizeof(del) - 1 && !memcmp(s + len - (sizeof(del) - 1), del,
							     sizeof(del) - 1))
				len -= sizeof(del) - 1;
			if (len >= 7 && !memcmp(s, "/memfd:", 7)) {
				s++;
				len--;
			}
			str_set(&th->exepath, str_new(s, len));
		}
	}
	{
		struct cs_str *env = pblob(cs, S_ENV, &found);

		if (found)
			str_set(&th->env, env);
	}
	if (pint(cs, S_FDLIMIT, &v))
		th->fdlimit = v;
	if (pint(cs, S_TTY, &v))
		th->tty = v;
	if (pint(cs, S_PGID, &v))
		th->vpgid = v;
	if (pint(cs, S_LOGINUID, &v))
		th->loginuid = v & 0xFFFFFFFFll;
	if (pint(cs, S_FLAGS, &v)) {
		th->exe_writable = v & 1;
		th->exe_flags = v;
	}
	{
		int64_t a, b, c;

		if (pint(cs, S_CAPI, &a) && pint(cs, S_CAPP, &b) && pint(cs, S_CAPE, &c)) {
			th->cap_inh = (uint64_t)a;
			th->cap_perm = (uint64_t)b;
			th->cap_eff = (uint64_t)c;
		}
	}
	if (pint(cs, S_UID, &v))
		th->uid = v;
}

static void on_open_exit(struct cs_state *cs, struct cs_thread *th, uint16_t type)
{
	int64_t fdn, flags = 0, dev = 0, dirfd = 0;
	const char *name = "";
	size_t nlen = 0;
	int has_name, is_str, has_flags, has_dirfd;
	struct cs_stash *en = NULL;
	struct cs_str *path;
	struct cs_fd *f;

	if (!pint(cs, S_FD, &fdn) || fdn < 0)
		return;
	/* name: "name", else "path"; not None when the parameter is there at all */
	has_name = pidx(cs, S_NAME) >= 0;
	is_str = has_name ? pstr(cs, S_NAME, &name, &nlen) : 0;
	if (!has_name) {
		has_name = pidx(cs, S_PATH) >= 0;
		is_str = has_name ? pstr(cs, S_PATH, &name, &nlen) : 0;
	}
	has_flags = pidx(cs, S_FLAGS) >= 0;
	if (has_flags && !pint(cs, S_FLAGS, &flags))
		flags = 0;
	if (!has_name || !has_flags) {
		en = entered(cs, th, type);
		if (!has_name && en && en->name) {
			name = en->name->s;
			nlen = en->name->len;
			is_str = 1;
		}
		if (!has_flags && VAL(en, S_FLAGS))
			flags = en->v[S_FLAGS];
	}
	if (!is_str) {
		name = "";
		nlen = 0;
	}
	if (cs->ce->arg)
		flags = O_CREAT_ | O_WRONLY_ | O_TRUNC_;
	if (!nlen) {
		path = NA;	/* the driver could not read the path: unknown, not the cwd */
	} else if (name[0] == '/') {
		path = path_normal(name, nlen) ? str_new(name, nlen) : join_path(EMPTY, name, nlen);
	} else {
		has_dirfd = pint(cs, S_DIRFD, &dirfd);
		if (!has_dirfd) {
			struct cs_stash *e2 = entered(cs, th, type);

			if (HAS(e2, S_DIRFD)) {
				has_dirfd = VAL(e2, S_DIRFD);
				dirfd = e2->v[S_DIRFD];
			} else {
				has_dirfd = 1;
				dirfd = AT_FDCWD_;
			}
		}
		path = join_path(dir_of(cs, th, has_dirfd, dirfd), name, nlen);
	}
	f = fd_new(fdn, flags & O_DIRECTORY_ ? T_DIRECTORY : T_FILE);
	f->name = path;
	f->flags = (uint32_t)flags;
	if (pint(cs, S_DEV, &dev))
		f->dev = (uint64_t)dev;
	f->name_raw = str_new(name, nlen);
	cs->ev_fd = fd_put(cs, th->fds, f);
	th->last_fd = fdn;
}

static int family_type(int has, int64_t domain)
{
	if (!has)
		return T_UNKNOWN;
	switch (domain) {
	case SENTRY_AF_UNIX: return T_UNIX;
	case SENTRY_AF_INET: return T_IPV4;
	case SENTRY_AF_INET6: return T_IPV6;
	case 16: return T_NETLINK;	/* PPM_AF_NETLINK */
	}
	return T_UNKNOWN;
}

static void on_socket_exit(struct cs_state *cs, struct cs_thread *th, uint16_t type)
{
	int64_t fdn;
	struct cs_stash *en;
	struct cs_fd *f;

	if (!pint(cs, S_FD, &fdn) || fdn < 0)
		return;
	en = entered(cs, th, type);
	f = fd_new(fdn, family_type(VAL(en, S_DOMAIN), VAL(en, S_DOMAIN) ? en->v[S_DOMAIN] : 0));
	f->socktype = (VAL(en, S_TYPE) ? en->v[S_TYPE] : 0) & 0xF;
	cs->ev_fd = fd_put(cs, th->fds, f);
	th->last_fd = fdn;
}

static void on_socketpair_exit(struct cs_state *cs, struct cs_thread *th, uint16_t type)
{
	int64_t res, fdn, st;
	struct cs_stash *en;
	static const int slots[2] = { S_FD1, S_FD2 };
	int k;

	if (!pint(cs, S_RES, &res) || res < 0)
		return;
	en = entered(cs, th, type);
	st = (VAL(en, S_TYPE) ? en->v[S_TYPE] : 0) & 0xF;
	for (k = 0; k < 2; k++)
		if (pint(cs, slots[k], &fdn) && fdn >= 0) {
			struct cs_fd *f = fd_new(fdn, T_UNIX);

			f->socktype = st;
			cs->ev_fd = fd_put(cs, th->fds, f);
		}
}

static void fmt_ip(char *out, size_t n, int fam, const uint8_t *ip)
{
	if (!fam)
		out[0] = 0;
	else if (!inet_ntop(fam == 4 ? AF_INET : AF_INET6, ip, out, (socklen_t)n))
		out[0] = 0;
}

static void set_name(struct cs_fd *f, const char *s, size_t len)
{
	str_set(&f->name, str_new(s, len));
}

static void fmt_port(char *out, size_t n, int set, int64_t port)
{
	if (set)
		snprintf(out, n, "%lld", (long long)port);
	else
		snprintf(out, n, "None");
}

static int sock_l4(int64_t socktype)
{
	switch (socktype) {
	case 1: return L4_TCP;
	case 2: return L4_UDP;
	case 3: return L4_RAW;
	}
	return L4_NONE;
}

/* Fill an fd from a socktuple (_apply_tuple of fd_events.py). */
static void apply_tuple(struct cs_fd *f, const uint8_t *p, uint32_t len, int role)
{
	int fam;

	if (!p || !len)
		return;
	f->role = (uint8_t)role;
	fam = p[SENTRY_SOCK_OFF_FAMILY];
	if (fam == SENTRY_AF_INET || fam == SENTRY_AF_INET6) {
		char a[64], b[64], pa[24], pb[24], buf[200];
		int n;

		f->cfam = f->sfam = 0;
		f->cport_set = f->sport_set = 0;
		if (fam == SENTRY_AF_INET && len >= SENTRY_SOCKTUPLE_INET_LEN) {
			f->cfam = f->sfam = 4;
			memcpy(f->cip, p + SENTRY_SOCKTUPLE_INET_OFF_SIP, 4);
			memcpy(f->sip, p + SENTRY_SOCKTUPLE_INET_OFF_DIP, 4);
			f->cport = (int64_t)rdn(p + SENTRY_SOCKTUPLE_INET_OFF_SPORT, 2);
			f->sport = (int64_t)rdn(p + SENTRY_SOCKTUPLE_INET_OFF_DPORT, 2);
			f->cport_set = f->sport_set = 1;
		} else if (fam == SENTRY_AF_INET6 && len >= SENTRY_SOCKTUPLE_INET6_LEN) {
			f->cfam = f->sfam = 6;
			memcpy(f->cip, p + SENTRY_SOCKTUPLE_INET6_OFF_SIP, 16);
			memcpy(f->sip, p + SENTRY_SOCKTUPLE_INET6_OFF_DIP, 16);
			f->cport = (int64_t)rdn(p + SENTRY_SOCKTUPLE_INET6_OFF_SPORT, 2);
			f->sport = (int64_t)rdn(p + SENTRY_SOCKTUPLE_INET6_OFF_DPORT, 2);
			f->cport_set = f->sport_set = 1;
		}
		if (f->type != T_IPV4 && f->type != T_IPV6)
			f->type = fam == SENTRY_AF_INET ? T_IPV4 : T_IPV6;
		if (f->l4proto == L4_NONE) {
			int l4 = sock_l4(f->socktype);

			f->l4proto = (uint8_t)(l4 != L4_NONE ? l4 : role == R_SERVER ? L4_TCP : L4_NONE);
		}
		fmt_ip(a, sizeof(a), f->cfam, f->cip);
		fmt_ip(b, sizeof(b), f->sfam, f->sip);
		fmt_port(pa, sizeof(pa), f->cport_set, f->cport);
		fmt_port(pb, sizeof(pb), f->sport_set, f->sport);
		n = snprintf(buf, sizeof(buf), "%s:%s->%s:%s", a, pa, b, pb);
		set_name(f, buf, (size_t)n);
	} else if (fam == SENTRY_AF_UNIX) {
		const char *path = (const char *)p + SENTRY_SOCKTUPLE_UNIX_OFF_PATH;

		f->type = T_UNIX;
		if (len >= SENTRY_SOCKTUPLE_UNIX_LEN)
			set_name(f, path, strnlen(path, len - SENTRY_SOCKTUPLE_UNIX_OFF_PATH));
		else
			set_name(f, "", 0);
	}
}

static void on_connect_exit(struct cs_state *cs, struct cs_thread *th)
{
	int64_t res, fdn;
	struct cs_fd *f;
	const uint8_t *p = NULL;
	uint32_t len = 0;

	if (!pint(cs, S_RES, &res) || (res < 0 && res != -EINPROGRESS_))
		return;
	f = pint(cs, S_FD, &fdn) ? fd_find(th->fds, fdn) : cs->ev_fd;
	if (!f)
		return;
	cs->ev_fd = f;
	if (praw(cs, S_TUPLE, &p, &len))
		apply_tuple(f, p, len, R_CLIENT);
	f->connected = 1;
}

static void on_accept_exit(struct cs_state *cs, struct cs_thread *th)
{
	int64_t fdn;
	const uint8_t *p = NULL;
	uint32_t len = 0;
	struct cs_fd *f;
	int has;

	if (!pint(cs, S_FD, &fdn) || fdn < 0)
		return;
	has = praw(cs, S_TUPLE, &p, &len);
	f = fd_new(fdn, family_type(has, has ? p[SENTRY_SOCK_OFF_FAMILY] : 0));
	f->socktype = 1;
	f->connected = 1;
	if (has)
		apply_tuple(f, p, len, R_SERVER);
	cs->ev_fd = fd_put(cs, th->fds, f);
	th->last_fd = fdn;
}

static void on_bind_exit(struct cs_state *cs, struct cs_thread *th)
{
	int64_t res;
	struct cs_fd *f = cs->ev_fd;
	const uint8_t *p;
	uint32_t len;
	int i = pidx(cs, S_ADDR);
	int fam;

	if (!pint(cs, S_RES, &res) || res < 0 || !f)
		return;
	if (i < 0 || cs->ce->kind[i] != K_SOCKADDR || !praw(cs, S_ADDR, &p, &len))
		return;
	fam = p[SENTRY_SOCK_OFF_FAMILY];
	if (fam == SENTRY_AF_INET || fam == SENTRY_AF_INET6) {
		char a[64], pa[24], buf[100];
		int n;

		f->sfam = 0;
		f->sport_set = 0;
		if (fam == SENTRY_AF_INET && len >= SENTRY_SOCKADDR_INET_LEN) {
			f->sfam = 4;
			memcpy(f->sip, p + SENTRY_SOCKADDR_INET_OFF_ADDR, 4);
			f->sport = (int64_t)rdn(p + SENTRY_SOCKADDR_INET_OFF_PORT, 2);
			f->sport_set = 1;
		} else if (fam == SENTRY_AF_INET6 && len >= SENTRY_SOCKADDR_INET6_LEN) {
			f->sfam = 6;
			memcpy(f->sip, p + SENTRY_SOCKADDR_INET6_OFF_ADDR, 16);
			f->sport = (int64_t)rdn(p + SENTRY_SOCKADDR_INET6_OFF_PORT, 2);
			f->sport_set = 1;
		}
		f->role = R_SERVER;
		f->cfam = 0;
		f->cport = 0;
		f->cport_set = 1;
		f->listening = 1;
		if (f->l4proto == L4_NONE)
			f->l4proto = (uint8_t)sock_l4(f->socktype);
		fmt_ip(a, sizeof(a), f->sfam, f->sip);
		fmt_port(pa, sizeof(pa), f->sport_set, f->sport);
		n = snprintf(buf, sizeof(buf), "%s:%s", a, pa);
		set_name(f, buf, (size_t)n);
	} else if (fam == SENTRY_AF_UNIX) {
		const char *path = (const char *)p + SENTRY_SOCKADDR_UNIX_OFF_PATH;

		set_name(f, path, strnlen(path, len - SENTRY_SOCKADDR_UNIX_OFF_PATH));
	}
}

static void on_dup_exit(struct cs_state *cs, struct cs_thread *th, uint16_t type)
{
	int64_t res, old;
	int has_old;
	struct cs_fd *src;

	if (!pint(cs, S_RES, &res) || res < 0)
		return;
	has_old = pint(cs, S_OLDFD, &old);
	if (!has_old && th->last_type == (int64_t)type - 1 && th->last_fd != INT64_MIN) {
		old = th->last_fd;
		has_old = 1;
	}
	if (!has_old || old == res)
		return;
	src = fd_find(th->fds, old);
	if (!src) {
		fd_remove(cs, th->fds, res);
		return;
	}
	cs->ev_fd = fd_put(cs, th->fds, fd_copy(src, res));
}

static void on_pipe_exit(struct cs_state *cs, struct cs_thread *th)
{
	int64_t res, ino = 0, fdn;
	static const int slots[2] = { S_FD1, S_FD2 };
	int k;

	if (!pint(cs, S_RES, &res) || res < 0)
		return;
	pint(cs, S_INO, &ino);
	for (k = 0; k < 2; k++)
		if (pint(cs, slots[k], &fdn) && fdn >= 0) {
			struct cs_fd *f = fd_new(fdn, T_PIPE);

			f->ino = (uint64_t)ino;
			cs->ev_fd = fd_put(cs, th->fds, f);
		}
}

static void on_simple(struct cs_state *cs, struct cs_thread *th)
{
	int64_t fdn;

	if (!pint(cs, S_RES, &fdn) && !pint(cs, S_FD, &fdn))
		return;
	if (fdn >= 0)
		cs->ev_fd = fd_put(cs, th->fds, fd_new(fdn, cs->ce->arg));
}

static void on_memfd_exit(struct cs_state *cs, struct cs_thread *th)
{
	int64_t fdn, flags = 0;
	const char *s;
	size_t len;
	struct cs_fd *f;

	if (!pint(cs, S_FD, &fdn) && !pint(cs, S_RES, &fdn))
		return;
	if (fdn < 0)
		return;
	f = fd_new(fdn, T_MEMFD);
	if (pstr(cs, S_NAME, &s, &len)) {
		char *buf = malloc(len + 6);

		if (!buf)
			abort();
		memcpy(buf, "memfd:", 6);
		memcpy(buf + 6, s, len);
		f->name = str_new(buf, len + 6);
		free(buf);
	}
	if (pint(cs, S_FLAGS, &flags))
		f->flags = (uint32_t)flags;
	cs->ev_fd = fd_put(cs, th->fds, f);
}

static void set_cwd(struct cs_state *cs, struct cs_thread *th, struct cs_str *dir)
{
	struct cs_thread *m = main_thread(cs, th);

	str_set(&m->cwd, str_ref(dir));
	str_set(&th->cwd, dir);
}

static void on_chdir_exit(struct cs_state *cs, struct cs_thread *th)
{
	int64_t res;
	const char *s;
	size_t len;

	if (!pint(cs, S_RES, &res) || res < 0 || !pstr(cs, S_PATH, &s, &len))
		return;
	set_cwd(cs, th, dir_path(join_path(main_thread(cs, th)->cwd, s, len)));
}

static void on_fchdir_exit(struct cs_state *cs, struct cs_thread *th)
{
	int64_t res;

	if (!pint(cs, S_RES, &res) || res < 0 || !cs->ev_fd)
		return;
	set_cwd(cs, th, dir_path(str_ref(cs->ev_fd->name)));
}

static void on_setid_exit(struct cs_state *cs, struct cs_thread *th, uint16_t type, int gid)
{
	int64_t res, id;
	struct cs_stash *en = entered(cs, th, type);
	int a = gid ? S_GID : S_UID, b = gid ? S_EGID : S_EUID, has;

	if (!pint(cs, S_RES, &res) || res != 0)
		return;
	if (HAS(en, a)) {
		has = VAL(en, a);
		id = en->v[a];
	} else {
		has = VAL(en, b);
		id = has ? en->v[b] : 0;
	}
	if (!has || id == 0xFFFFFFFFll || id == -1)
		return;
	if (gid)
		th->gid = id & 0xFFFFFFFFll;
	else
		th->uid = id & 0xFFFFFFFFll;
}

static void on_send_enter(struct cs_state *cs, struct cs_thread *th)
{
	struct cs_fd *f = cs->ev_fd;
	const uint8_t *p;
	uint32_t len;

	if (f && (f->type == T_IPV4 || f->type == T_IPV6) && !f->sfam) {
		if (!th->stash) {
			th->stash = calloc(1, sizeof(*th->stash));
			if (!th->stash)
				abort();
		}
		stash_clear(th->stash);
		th->stash_valid = 1;
		th->stash->present = 1ull << S_TUPLE;
		if (praw(cs, S_TUPLE, &p, &len)) {
			if (len > sizeof(th->stash->tuple))
				len = sizeof(th->stash->tuple);
			memcpy(th->stash->tuple, p, len);
			th->stash->tuple_len = len;
		}
	} else {
		th->stash_valid = 0;
	}
}

static void on_dgram_exit(struct cs_state *cs, struct cs_thread *th, uint16_t type)
{
	struct cs_fd *f = cs->ev_fd;
	int64_t res;
	const uint8_t *p = NULL;
	uint32_t len = 0;
	int role;

	if (!f || (f->type != T_IPV4 && f->type != T_IPV6) || f->sfam)
		return;
	if (!pint(cs, S_RES, &res) || res < 0)
		return;
	if (cs->ce->arg) {
		struct cs_stash *en = entered(cs, th, type);

		if (en && en->tuple_len) {
			p = en->tuple;
			len = en->tuple_len;
		}
		role = R_CLIENT;
	} else {
		praw(cs, S_TUPLE, &p, &len);
		role = R_SERVER;
	}
	if (!p || !len ||
	    (p[SENTRY_SOCK_OFF_FAMILY] != SENTRY_AF_INET && p[SENTRY_SOCK_OFF_FAMILY] != SENTRY_AF_INET6))
		return;
	if (f->l4proto == L4_NONE) {
		int l4 = sock_l4(f->socktype);

		f->l4proto = (uint8_t)(l4 != L4_NONE ? l4 : L4_UDP);
	}
	apply_tuple(f, p, len, role);
	f->connected = 1;
}

/* ---- per event ------------------------------------------------------------------- */

static void bury_all(struct cs_state *cs)
{
	uint32_t k;

	for (k = 0; k < cs->ngrave; k++) {
		if (cs->grave[k].kind)
			thread_release(cs->grave[k].p);
		else
			fd_free(cs->grave[k].p);
	}
	cs->ngrave = 0;
}

/* One scap record (header, lengths, parameters). Returns 0, or -1 if malformed. */
int cs_feed(struct cs_state *cs, const uint8_t *rec, uint32_t len)
{
	uint16_t type;
	uint64_t ts;
	int64_t tid;
	struct cs_thread *th;
	const struct cs_evt *ce;
	uint8_t plan;

	cs_cur = cs;
	bury_all(cs);
	cs->ev_fd = NULL;
	if (cs->has_dead) {
		thread_remove(cs, cs->dead_tid);
		cs->has_dead = 0;
	}
	if (len < CS_HDR) {
		cs->bad++;
		return -1;
	}
	memcpy(&type, rec + SENTRY_EVT_OFF_TYPE, 2);
	if (type >= cs->ntypes) {
		cs->unknown++;
		return 0;
	}
	memcpy(&ts, rec + SENTRY_EVT_OFF_TS, 8);
	memcpy(&tid, rec + SENTRY_EVT_OFF_TID, 8);
	cs->events++;
	cs->ev_tid = tid;
	cs->created = NULL;
	ce = cs->ce = &cs->evt[type];
	cs->rec = rec;
	cs->rec_len = len;
	cs->nparams = 0;
	plan = ce->plan;
	if (plan & P_NO_RESET)
		return 0;	/* internal events: no placeholder, no fd (containers: Python) */
	th = thread_find(cs, tid);
	if (!th)
		th = cs->created = thread_new(cs, tid);
	if ((plan & (P_ENTER_FD | P_STASH)) || ce->op != OP_NONE) {
		if (!layout(cs)) {
			cs->bad++;
			if (!(type & 1)) {
				th->last_type = type;
				th->last_ts = ts;
			}
			return -1;
		}
	}
	if (!(type & 1)) {
		th->last_type = type;
		th->last_ts = ts;
		if (plan & P_ENTER_FD) {
			int64_t fdn;

			/* Python: last_fd = param(0), None when empty */
			if (pint_at(cs, 0, &fdn)) {
				th->last_fd = fdn;
				cs->ev_fd = fd_find(th->fds, fdn);
			} else {
				th->last_fd = INT64_MIN;	/* None */
			}
		}
		if (plan & P_STASH)
			stash_enter(cs, th);
	} else if (plan & P_EXIT_FD) {
		cs->ev_fd = fd_find(th->fds, th->last_fd);
	}
	switch (ce->op) {
	case OP_PROCEXIT:
		cs->dead_tid = th->tid;
		cs->has_dead = 1;
		break;
	case OP_CLONE_X: on_clone_exit(cs, th, ts); break;
	case OP_EXECVE_X: on_execve_exit(cs, th, type); break;
	case OP_OPEN_X: on_open_exit(cs, th, type); break;
	case OP_SOCKET_X: on_socket_exit(cs, th, type); break;
	case OP_SOCKETPAIR_X: on_socketpair_exit(cs, th, type); break;
	case OP_CONNECT_E:
		if (cs->ev_fd && cs->ev_fd->role == R_NONE)
			cs->ev_fd->role = R_CLIENT;
		break;
	case OP_CONNECT_X: on_connect_exit(cs, th); break;
	case OP_ACCEPT_X: on_accept_exit(cs, th); break;
	case OP_BIND_X: on_bind_exit(cs, th); break;
	case OP_DUP_X: on_dup_exit(cs, th, type); break;
	case OP_PIPE_X: on_pipe_exit(cs, th); break;
	case OP_CLOSE_X: {
		int64_t res;

		if (pint(cs, S_RES, &res) && res >= 0 && th->last_type == (int64_t)type - 1)
			fd_remove(cs, th->fds, th->last_fd);
		break;
	}
	case OP_SIMPLE_X: on_simple(cs, th); break;
	case OP_CHDIR_X: on_chdir_exit(cs, th); break;
	case OP_FCHDIR_X: on_fchdir_exit(cs, th); break;
	case OP_SETUID_X: on_setid_exit(cs, th, type, 0); break;
	case OP_SETGID_X: on_setid_exit(cs, th, type, 1); break;
	case OP_SETSID_X: {
		int64_t res;

		if (pint(cs, S_RES, &res) && res >= 0)
			th->sid = res;
		break;
	}
	case OP_CAPSET_X: {
		int64_t res, a, b, c;

		if (pint(cs, S_RES, &res) && res == 0 && pint(cs, S_CAPI, &a) &&
		    pint(cs, S_CAPP, &b) && pint(cs, S_CAPE, &c)) {
			th->cap_inh = (uint64_t)a;
			th->cap_perm = (uint64_t)b;
			th->cap_eff = (uint64_t)c;
		}
		break;
	}
	case OP_SEND_E: on_send_enter(cs, th); break;
	case OP_DGRAM_X: on_dgram_exit(cs, th, type); break;
	case OP_MEMFD_X: on_memfd_exit(cs, th); break;
	}
	return 0;
}

/*
 * Feed the plain V2 event blocks of a capture from *off (as scapscan.c walks
 * them). Stops at the first other block: 2 (left to Python at *off), 1 at the
 * end of the buffer, 3 for a malformed block. *num counts the known events.
 */
int cs_feed_blocks(struct cs_state *cs, const uint8_t *buf, uint64_t size, uint64_t *off,
		   uint64_t *num)
{
	uint64_t pos = *off;

	for (;;) {
		const uint8_t *b = buf + pos;
		uint32_t btype, blen, elen;
		uint16_t etype;

		if (pos >= size) {
			*off = pos;
			return 1;
		}
		/* the smallest block: its type and length, the trailer */
		if (size - pos < SENTRY_BLOCK_MIN_LEN) {
			*off = pos;
			return 3;
		}
		memcpy(&btype, b + SENTRY_EVB_OFF_TYPE, 4);
		memcpy(&blen, b + SENTRY_EVB_OFF_LEN, 4);
		if (btype != SENTRY_BT_EV_V2 && btype != SENTRY_BT_EV_V2_LARGE) {
			*off = pos;
			return 2;
		}
		if (blen < SENTRY_EVB_HDR_LEN + CS_HDR + SENTRY_BLOCK_TRAILER_LEN ||
		    blen > size - pos) {
			*off = pos;
			return 3;
		}
		memcpy(&elen, b + SENTRY_EVB_HDR_LEN + SENTRY_EVT_OFF_LEN, 4);
		if (elen < CS_HDR ||
		    elen > blen - SENTRY_EVB_HDR_LEN - SENTRY_BLOCK_TRAILER_LEN) {
			*off = pos;
			return 3;
		}
		memcpy(&etype, b + SENTRY_EVB_HDR_LEN + SENTRY_EVT_OFF_TYPE, 2);
		if (etype < cs->ntypes)
			(*num)++;
		cs_feed(cs, b + SENTRY_EVB_HDR_LEN, elen);
		pos += blen;
	}
}

/* ---- set up, load, query --------------------------------------------------------------- */

struct cs_state *cs_new(const struct cs_evt *evt, uint32_t ntypes)
{
	struct cs_state *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->evt = malloc(sizeof(*evt) * ntypes);
	if (!cs->evt)
		abort();
	memcpy(cs->evt, evt, sizeof(*evt) * ntypes);
	cs->ntypes = ntypes;
	cs->th_cap = 1024;
	cs->th = calloc(cs->th_cap, sizeof(*cs->th));
	if (!cs->th)
		abort();
	return cs;
}

void cs_free(struct cs_state *cs)
{
	uint32_t k;

	if (!cs)
		return;
	cs_cur = cs;
	bury_all(cs);
	while (cs->ncallers)	/* frees the buried threads they held */
		caller_drop(cs, cs->ncallers - 1);
	free(cs->callers);
	for (k = 0; k < cs->th_cap; k++)
		if (cs->th[k])
			thread_free(cs->th[k]);
	cs_cur = NULL;
	free(cs->strs);
	free(cs->th);
	free(cs->grave);
	free(cs->evt);
	free(cs);
}

static void thread_out(const struct cs_thread *t, struct cs_thread_out *o)
{
	o->tid = t->tid; o->pid = t->pid; o->ptid = t->ptid; o->sid = t->sid;
	o->vpgid = t->vpgid; o->vtid = t->vtid; o->vpid = t->vpid;
	o->comm = t->comm->s; o->comm_len = t->comm->len;
	o->exe = t->exe->s; o->exe_len = t->exe->len;
	o->exepath = t->exepath->s; o->exepath_len = t->exepath->len;
	o->cwd = t->cwd->s; o->cwd_len = t->cwd->len;
	o->args = t->args->s; o->args_len = t->args->len;
	o->env = t->env->s; o->env_len = t->env->len;
	o->uid = t->uid; o->gid = t->gid; o->loginuid = t->loginuid; o->tty = t->tty;
	o->fdlimit = t->fdlimit; o->flags = t->flags; o->clone_ts = t->clone_ts;
	o->exe_writable = t->exe_writable; o->exe_flags = t->exe_flags;
	o->cap_inh = t->cap_inh; o->cap_perm = t->cap_perm; o->cap_eff = t->cap_eff;
	o->last_type = t->last_type; o->last_fd = t->last_fd;
	o->fds_id = (uint64_t)(uintptr_t)t->fds;
	o->nfds = t->fds->count;
}

static void fd_out(const struct cs_fd *f, struct cs_fd_out *o)
{
	o->num = f->num; o->type = f->type; o->role = f->role; o->l4proto = f->l4proto;
	o->listening = f->listening; o->connected = f->connected;
	o->cfam = f->cfam; o->sfam = f->sfam;
	o->cport_set = f->cport_set; o->sport_set = f->sport_set;
	o->flags = f->flags; o->ino = f->ino; o->dev = f->dev;
	memcpy(o->cip, f->cip, 16);
	memcpy(o->sip, f->sip, 16);
	o->cport = f->cport; o->sport = f->sport; o->socktype = f->socktype;
	o->name = f->name->s; o->name_len = f->name->len;
	o->name_raw = f->name_raw->s; o->name_raw_len = f->name_raw->len;
}

int cs_thread_get(struct cs_state *cs, int64_t tid, struct cs_thread_out *out)
{
	struct cs_thread *t = thread_find(cs, tid);

	if (!t)
		return 0;
	thread_out(t, out);
	return 1;
}

/* Threads in table order: *pos starts at 0; 0 at the end. */
int cs_thread_next(struct cs_state *cs, uint32_t *pos, struct cs_thread_out *out)
{
	while (*pos < cs->th_cap) {
		struct cs_thread *t = cs->th[(*pos)++];

		if (t) {
			thread_out(t, out);
			return 1;
		}
	}
	return 0;
}

int cs_fd_get(struct cs_state *cs, int64_t tid, int64_t num, struct cs_fd_out *out)
{
	struct cs_thread *t = thread_find(cs, tid);
	struct cs_fd *f = t ? fd_find(t->fds, num) : NULL;

	if (!f)
		return 0;
	fd_out(f, out);
	return 1;
}

int cs_fd_next(struct cs_state *cs, int64_t tid, uint32_t *pos, struct cs_fd_out *out)
{
	struct cs_thread *t = thread_find(cs, tid);

	if (!t)
		return 0;
	while (*pos < t->fds->cap) {
		struct cs_fd *f = t->fds->slots[(*pos)++];

		if (f) {
			fd_out(f, out);
			return 1;
		}
	}
	return 0;
}

/* The fd the last event is about (event.fdinfo), if any. */
int cs_event_fd(struct cs_state *cs, struct cs_fd_out *out)
{
	if (!cs->ev_fd)
		return 0;
	fd_out(cs->ev_fd, out);
	return 1;
}

void cs_counts(struct cs_state *cs, uint64_t *out)
{
	out[0] = cs->events;
	out[1] = cs->bad;
	out[2] = cs->unknown;
	out[3] = cs->th_count;
	out[4] = cs->str_count;
}

/* Starting state (a capture's process list, /proc): a thread with its fields. */
int cs_thread_put(struct cs_state *cs, const struct cs_thread_out *in)
{
	struct cs_thread *t;

	cs_cur = cs;
	bury_all(cs);
	t = thread_new(cs, in->tid);
	t->pid = in->pid; t->ptid = in->ptid; t->sid = in->sid; t->vpgid = in->vpgid;
	t->vtid = in->vtid; t->vpid = in->vpid;
	str_set(&t->comm, str_new(in->comm, in->comm_len));
	str_set(&t->exe, str_new(in->exe, in->exe_len));
	str_set(&t->exepath, str_new(in->exepath, in->exepath_len));
	str_set(&t->cwd, str_new(in->cwd, in->cwd_len));
	str_set(&t->args, str_new(in->args, in->args_len));
	str_set(&t->env, str_new(in->env, in->env_len));
	t->uid = in->uid; t->gid = in->gid; t->loginuid = in->loginuid; t->tty = in->tty;
	t->fdlimit = in->fdlimit; t->flags = in->flags; t->clone_ts = in->clone_ts;
	t->exe_writable = in->exe_writable; t->exe_flags = in->exe_flags;
	t->cap_inh = in->cap_inh; t->cap_perm = in->cap_perm; t->cap_eff = in->cap_eff;
	t->last_type = in->last_type; t->last_fd = in->last_fd;
	return 1;
}

/* Make tid use other's fd table (threads of one process). */
int cs_share_fds(struct cs_state *cs, int64_t tid, int64_t other)
{
	struct cs_thread *t, *o;

	cs_cur = cs;
	t = thread_find(cs, tid);
	o = thread_find(cs, other);
	if (!t || !o || t == o)
		return 0;
	o->fds->ref++;
	fdtab_unref(t->fds);
	t->fds = o->fds;
	return 1;
}

int cs_fd_put(struct cs_state *cs, int64_t tid, const struct cs_fd_out *in)
{
	struct cs_thread *t;
	struct cs_fd *f;

	cs_cur = cs;
	t = thread_find(cs, tid);
	if (!t)
		t = thread_new(cs, tid);
	f = fd_new(in->num, in->type);
	f->role = (uint8_t)in->role; f->l4proto = (uint8_t)in->l4proto;
	f->listening = (uint8_t)in->listening; f->connected = (uint8_t)in->connected;
	f->cfam = (uint8_t)in->cfam; f->sfam = (uint8_t)in->sfam;
	f->cport_set = (uint8_t)in->cport_set; f->sport_set = (uint8_t)in->sport_set;
	f->flags = in->flags; f->ino = in->ino; f->dev = in->dev;
	memcpy(f->cip, in->cip, 16);
	memcpy(f->sip, in->sip, 16);
	f->cport = in->cport; f->sport = in->sport; f->socktype = in->socktype;
	f->name = str_new(in->name, in->name_len);
	f->name_raw = str_new(in->name_raw, in->name_raw_len);
	fd_put(cs, t->fds, f);
	bury_all(cs);
	return 1;
}
