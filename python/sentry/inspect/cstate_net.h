/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstate_net.h - part of cstate.c: handlers of socket, fd and identity events.
 * cstate.c includes every part in order, as one translation unit (the functions stay
 * static and inline across parts); no part is compiled on its own.
 */
#ifndef SENTRY_CSTATE_NET_H
#define SENTRY_CSTATE_NET_H

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

/* A rename (connect, accept, bind): remembered when the name changes, as FdInfo.set_name */
static void set_name(struct cs_fd *f, const char *s, size_t len)
{
	if (f->name->len != len || memcmp(f->name->s, s, len))
		f->renamed = cs_cur->events;
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

#endif /* SENTRY_CSTATE_NET_H */
