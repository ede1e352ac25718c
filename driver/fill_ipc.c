// SPDX-License-Identifier: GPL-2.0
/*
 * fill_ipc.c - fillers of pipes, event/signal/timer/inotify fds, futex and polling.
 *
 * A filler pushes the parameters its event type declares, in scap's layout; it may push
 * more than an older event generation declares (extra ones are ignored), never fewer.
 * Paths and buffers are read at syscall exit, when the syscall itself has faulted them
 * in; every user access goes through sentry_copy_user()/sentry_push_ustr(), which fail
 * instead of sleeping.
 */
#include "fill.h"

static void pipe_fill(struct sentry_evt *e, struct sentry_args *a, bool with_flags)
{
	int fds[2] = { -1, -1 };
	u32 dev, created;
	u64 ino = 0;

	if (a->ret >= 0 && sentry_copy_user(fds, a->a[0], sizeof(fds)))
		e->pf = true;
	if (a->ret >= 0)
		sentry_fd_dev_ino(fds[0], &dev, &ino, &created);
	sentry_push_res(e, a);
	sentry_push_s64(e, fds[0]);
	sentry_push_s64(e, fds[1]);
	sentry_push_u64(e, ino);
	if (with_flags)
		sentry_push_u32(e, scap_open_flags(a->a[1]));
}

static void pipe_x(struct sentry_evt *e, struct sentry_args *a)
{
	pipe_fill(e, a, false);
}

static void pipe2_x(struct sentry_evt *e, struct sentry_args *a)
{
	pipe_fill(e, a, true);
}

static void eventfd_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u64(e, a->a[0]);
	sentry_push_u32(e, a->nr == __NR_eventfd2 ? scap_eventfd_flags(a->a[1]) : 0);
}

static void signalfd_e(struct sentry_evt *e, struct sentry_args *a)
{
	u32 mask = 0;

	if (sentry_copy_user(&mask, a->a[1], sizeof(mask)))
		e->pf = true;
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, mask);
	sentry_push_u8(e, a->nr == __NR_signalfd4 ? a->a[3] : 0);
}

static void timerfd_create_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u8(e, a->a[0]);
	sentry_push_u8(e, 0);
}

static void inotify_init_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u8(e, a->nr == __NR_inotify_init1 ? a->a[0] : 0);
}

static void epoll_wait_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[2]);
}

static void futex_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u64(e, a->a[0]);
	sentry_push_u16(e, a->a[1]);
	sentry_push_u64(e, a->a[2]);
}

/* PT_FDLIST: u16 count, then (s64 fd, u16 events) per entry, from a user pollfd array. */
static void push_pollfds(struct sentry_evt *e, unsigned long ufds, unsigned long nfds,
			 bool revents)
{
	u32 n = min_t(unsigned long, nfds, 64);
	struct pollfd pfd;
	u8 *dst = sentry_push_reserve(e, 2 + n * 10);
	u16 i, count = 0;

	if (!dst)
		return;
	for (i = 0; i < n; i++) {
		s64 fd;
		u16 ev;

		if (sentry_copy_user(&pfd, ufds + i * sizeof(pfd), sizeof(pfd))) {
			e->pf = true;
			break;
		}
		fd = pfd.fd;
		ev = scap_poll_events(revents ? pfd.revents : pfd.events);
		memcpy(dst + 2 + count * 10, &fd, 8);
		memcpy(dst + 10 + count * 10, &ev, 2);
		count++;
	}
	memcpy(dst, &count, 2);
	sentry_push_done(e, 2 + count * 10);
}

static void poll_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_pollfds(e, a->a[0], a->a[1], false);
	sentry_push_s64(e, (int)a->a[2]);
}

static void poll_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	push_pollfds(e, a->a[0], a->a[1], true);
}


const struct sentry_filler_entry sentry_fill_ipc_table[] = {
	{ __NR_pipe, sentry_fill_none, pipe_x },
	{ __NR_pipe2, sentry_fill_none, pipe2_x },
	{ __NR_eventfd, eventfd_e, sentry_fill_res_x },
	{ __NR_eventfd2, eventfd_e, sentry_fill_res_x },
	{ __NR_signalfd, signalfd_e, sentry_fill_res_x },
	{ __NR_signalfd4, signalfd_e, sentry_fill_res_x },
	{ __NR_timerfd_create, timerfd_create_e, sentry_fill_res_x },
	{ __NR_inotify_init, inotify_init_e, sentry_fill_res_x },
	{ __NR_inotify_init1, inotify_init_e, sentry_fill_res_x },
	{ __NR_epoll_wait, epoll_wait_e, sentry_fill_res_x },
	{ __NR_futex, futex_e, sentry_fill_res_x },
	{ __NR_poll, poll_e, poll_x },
	{ -1 }
};
