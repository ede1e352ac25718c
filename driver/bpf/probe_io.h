/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe_io.h - I/O vectors (readv/writev/sendmsg data) and poll fd lists.
 * Included once, by sentry.bpf.c, after probe_helpers.h.
 */
#ifndef SENTRY_PROBE_IO_H
#define SENTRY_PROBE_IO_H

#define IOV_MAX_SEGS	16

/* ---- the path an open exit names ------------------------------------------- */

/*
 * The path argument of an open exit: the user string at uptr, as the kernel read it at
 * the call's start. When it cannot be read any more (another thread unmapped or remapped
 * its page while the call ran, as while an open of a FIFO waits for the other end), the
 * path of the file the call opened (fd), as far as the task's root: the name the call
 * resolved. Empty (a failed read counted) only when neither is known.
 */
static __always_inline void ev_open_name(struct ev *e, const void *uptr, long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *f;
	long n = -1;

	if (uptr && ev_room(e) >= STR_MAX)
		n = bpf_probe_read_user_str(&e->s->evt[e->s->off & EVT_MASK], STR_MAX, uptr);
	if (n > 0) {
		ev_len(e, n);
		return;
	}
	f = fd >= 0 ? fd_file(e, fd) : NULL;
	if (f && ev_room(e) >= STR_MAX) {
		ev_tmp_str(e, build_path(e->s, BPF_CORE_READ(f, f_path.dentry),
					 BPF_CORE_READ(f, f_path.mnt),
					 BPF_CORE_READ(task, fs, root)));
		return;
	}
	if (uptr)
		e->s->pf = 1;
	ev_len(e, 0);
}

/* ---- I/O vectors ---------------------------------------------------------- */

struct iov_ctx {
	struct ev *e;
	__u64 uiov;
	__u64 cnt;
	__u64 limit;	/* bytes still wanted (copying) */
	__u64 total;	/* bytes counted or copied */
	__u32 start;
	__u32 copy;
};

static long iov_step(__u64 i, struct iov_ctx *c)
{
	struct iovec iov;
	__u64 len;

	if (i >= c->cnt || (c->copy && c->total >= c->limit))
		return 1;
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(c->uiov + i * sizeof(iov))))
		return 1;
	len = (__u64)iov.iov_len;
	if (!c->copy) {
		c->total += len;
		return 0;
	}
	if (len > c->limit - c->total)
		len = c->limit - c->total;
	len = BOUNDED(len, DATA_MAX);
	if (len && bpf_probe_read_user(&c->e->s->evt[(c->start + c->total) & EVT_MASK], len,
				       iov.iov_base)) {
		c->e->s->pf = 1;
		return 1;
	}
	c->total += len;
	return 0;
}

/* Total length of an iovec array. */
static __always_inline __u64 iov_total(__u64 uiov, __u64 cnt)
{
	struct iov_ctx c = { .uiov = uiov, .cnt = cnt };

	bpf_loop(IOV_MAX_SEGS, iov_step, &c, 0);
	return c.total;
}

/* Copies up to limit bytes gathered from an iovec array as one parameter. */
static __always_inline void ev_iov(struct ev *e, __u64 uiov, __u64 cnt, __u64 limit)
{
	struct iov_ctx c = { .e = e, .uiov = uiov, .cnt = cnt, .start = e->s->off, .copy = 1 };
	__u32 room = ev_room(e);

	if (limit > room)
		limit = room;
	if (limit > DATA_MAX)
		limit = DATA_MAX;
	c.limit = limit;
	bpf_loop(IOV_MAX_SEGS, iov_step, &c, 0);
	ev_len(e, c.total > limit ? limit : c.total);
}

/* ---- poll fd lists --------------------------------------------------------- */

#define POLL_MAX_FDS 16

struct fdlist_ctx {
	struct ev *e;
	__u64 ufds;
	__u64 cnt;
	__u32 start;	/* where the entries begin (after the u16 count) */
	__u32 n;	/* entries written */
	__u32 out;	/* returned events rather than requested ones */
};

static long fdlist_step(__u64 i, struct fdlist_ctx *c)
{
	struct pollfd pfd;
	__u32 at;

	if (i >= c->cnt)
		return 1;
	if (bpf_probe_read_user(&pfd, sizeof(pfd), (void *)(c->ufds + i * sizeof(pfd))))
		return 1;
	at = c->start + c->n * 10;
	*(__s64 *)&c->e->s->evt[at & EVT_MASK] = pfd.fd;
	*(__u16 *)&c->e->s->evt[(at + 8) & EVT_MASK] =
		scap_poll_events(c->out ? pfd.revents : pfd.events);
	c->n++;
	return 0;
}

/* scap's fd list: u16 count, then (s64 fd, u16 events) per entry. */
static __always_inline void ev_fdlist(struct ev *e, __u64 ufds, __u64 cnt, __u32 out)
{
	struct fdlist_ctx c = { .e = e, .ufds = ufds, .cnt = cnt, .out = out };

	if (ev_room(e) < 2 + POLL_MAX_FDS * 10 || !ufds) {
		ev_len(e, 0);
		return;
	}
	c.start = e->s->off + 2;
	bpf_loop(POLL_MAX_FDS, fdlist_step, &c, 0);
	*(__u16 *)&e->s->evt[e->s->off & EVT_MASK] = c.n;
	ev_len(e, 2 + c.n * 10);
}

static __always_inline __u64 timespec_ns(__u64 uptr)
{
	struct __kernel_timespec ts = {};

	if (!uptr || bpf_probe_read_user(&ts, sizeof(ts), (void *)uptr))
		return 0;
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#endif /* SENTRY_PROBE_IO_H */
