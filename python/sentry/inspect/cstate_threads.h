/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstate_threads.h - part of cstate.c: the thread table, parameter access and the stash of an enter's parameters.
 * cstate.c includes every part in order, as one translation unit (the functions stay
 * static and inline across parts); no part is compiled on its own.
 */
#ifndef SENTRY_CSTATE_THREADS_H
#define SENTRY_CSTATE_THREADS_H

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

#endif /* SENTRY_CSTATE_THREADS_H */
