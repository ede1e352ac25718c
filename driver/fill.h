/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fill.h - what the fill_*.c files share: kernel headers and the helpers the recipe
 * interpreter (fill_recipe.c) and the process handlers (fill_proc.c) push parameters with.
 */
#ifndef SENTRY_FILL_H
#define SENTRY_FILL_H

#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/fdtable.h>
#include <linux/dcache.h>
#include <linux/path.h>
#include <linux/mm.h>
#include <linux/cred.h>
#include <linux/audit.h>
#include <linux/tty.h>
#include <linux/cgroup.h>
#include <linux/kernfs.h>
#include <linux/pid_namespace.h>
#include <linux/net.h>
#include <linux/un.h>
#include <linux/uio.h>
#include <linux/socket.h>
#include <linux/bpf.h>
#include <linux/prctl.h>
#include <linux/eventfd.h>
#include <linux/poll.h>
#include <linux/time64.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/af_unix.h>
#include <uapi/linux/in.h>
#include <uapi/linux/in6.h>
#include "sentry.h"
#include "sentry_scap_flags.h"

#define SCAP_MAX_ARGS 4096	/* scap's bound for args and env */

/* fill_common.c */
void sentry_push_s64(struct sentry_evt *e, s64 v);
void sentry_push_res(struct sentry_evt *e, struct sentry_args *a);
struct file *sentry_fd_file(long fd);
void sentry_push_kpath(struct sentry_evt *e, const struct path *p);
void sentry_push_open_name(struct sentry_evt *e, unsigned long uptr, long fd);
void sentry_push_cwd(struct sentry_evt *e);
void sentry_push_data(struct sentry_evt *e, unsigned long uptr, u64 len);
void sentry_push_iov(struct sentry_evt *e, unsigned long uiov, unsigned long cnt, long total);
long sentry_iov_total(unsigned long uiov, unsigned long cnt);
u32 sentry_mm_kib(u32 which);
void sentry_push_mm_sizes(struct sentry_evt *e);
void sentry_fd_dev_ino(long fd, u32 *dev, u64 *ino, u32 *created);

/* fill_net.c */
void sentry_push_usockaddr(struct sentry_evt *e, unsigned long uaddr, long len);
void sentry_push_socktuple(struct sentry_evt *e, long fd, bool inbound, unsigned long uaddr);

/* fill_proc.c: the handlers H_PROC_CLONE and H_PROC_EXEC */
void sentry_fill_clone_x(struct sentry_evt *e, struct sentry_args *a);
void sentry_fill_execve_x(struct sentry_evt *e, struct sentry_args *a);

#endif /* SENTRY_FILL_H */
