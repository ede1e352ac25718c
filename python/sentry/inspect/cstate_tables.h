/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstate_tables.h - part of cstate.c: refcounted strings, paths, the graveyard and the per-process fd tables.
 * cstate.c includes every part in order, as one translation unit (the functions stay
 * static and inline across parts); no part is compiled on its own.
 */
#ifndef SENTRY_CSTATE_TABLES_H
#define SENTRY_CSTATE_TABLES_H

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
	f->renamed = 0;
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

#endif /* SENTRY_CSTATE_TABLES_H */
