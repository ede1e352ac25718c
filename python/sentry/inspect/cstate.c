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

/* The parts, in order (one translation unit): */
#include "cstate_types.h"
#include "cstate_tables.h"
#include "cstate_threads.h"
#include "cstate_proc.h"
#include "cstate_net.h"

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
 * them) while *num, the count of known events fed, is below `limit` (a
 * reader's event number: that event and all before it). Stops at the first
 * other block: 2 (left to Python at *off), 1 at the end of the buffer, 4 with
 * `limit` events fed, 3 for a malformed block.
 */
int cs_feed_blocks(struct cs_state *cs, const uint8_t *buf, uint64_t size, uint64_t *off,
		   uint64_t *num, uint64_t limit)
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
		if (*num >= limit) {
			*off = pos;
			return 4;
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

static void fd_out(const struct cs_state *cs, const struct cs_fd *f, struct cs_fd_out *o)
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
	o->renamed_now = f->renamed && f->renamed == cs->events;
}

int cs_thread_get(struct cs_state *cs, int64_t tid, struct cs_thread_out *out)
{
	struct cs_thread *t = thread_find(cs, tid);

	if (!t)
		return 0;
	thread_out(t, out);
	return 1;
}

/* The thread's last enter (type, ts), as C saw it: every enter of the capture, Python's
 * or not (an exit reads its enter only when it was the thread's last one); 0: unknown. */
int cs_thread_last(struct cs_state *cs, int64_t tid, int64_t *type, uint64_t *ts)
{
	struct cs_thread *t = thread_find(cs, tid);

	if (!t)
		return 0;
	*type = t->last_type;
	*ts = t->last_ts;
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
	fd_out(cs, f, out);
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
			fd_out(cs, f, out);
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
	fd_out(cs, cs->ev_fd, out);
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
