/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstate_proc.h - part of cstate.c: handlers of process and file events: clone, execve, the opens.
 * cstate.c includes every part in order, as one translation unit (the functions stay
 * static and inline across parts); no part is compiled on its own.
 */
#ifndef SENTRY_CSTATE_PROC_H
#define SENTRY_CSTATE_PROC_H

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
	f->renamed = cs->events;
	f->flags = (uint32_t)flags;
	if (pint(cs, S_DEV, &dev))
		f->dev = (uint64_t)dev;
	f->name_raw = str_new(name, nlen);
	cs->ev_fd = fd_put(cs, th->fds, f);
	th->last_fd = fdn;
}

#endif /* SENTRY_CSTATE_PROC_H */
