/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fill.h - what the fill_*.c files share: kernel headers, common helpers and the
 * per-topic tables of fillers by syscall number.
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

/* One row of a per-topic table; nr -1 ends it. */
struct sentry_filler_entry {
	int nr;
	sentry_filler_t enter;
	sentry_filler_t exit;
};

extern const struct sentry_filler_entry sentry_fill_file_table[];
extern const struct sentry_filler_entry sentry_fill_net_table[];
extern const struct sentry_filler_entry sentry_fill_proc_table[];
extern const struct sentry_filler_entry sentry_fill_ipc_table[];

void sentry_push_s64(struct sentry_evt *e, s64 v);
void sentry_push_path(struct sentry_evt *e, unsigned long uptr);
void sentry_push_res(struct sentry_evt *e, struct sentry_args *a);
struct file *sentry_fd_file(long fd);
void sentry_push_kpath(struct sentry_evt *e, const struct path *p);
void sentry_push_open_name(struct sentry_evt *e, unsigned long uptr, long fd);
void sentry_push_cwd(struct sentry_evt *e);
void sentry_push_data(struct sentry_evt *e, unsigned long uptr, long len);
void sentry_push_iov(struct sentry_evt *e, unsigned long uiov, unsigned long cnt, long total);
long sentry_iov_total(unsigned long uiov, unsigned long cnt);
void sentry_push_mm_sizes(struct sentry_evt *e);
void sentry_fill_fd0_e(struct sentry_evt *e, struct sentry_args *a);
void sentry_fill_res_x(struct sentry_evt *e, struct sentry_args *a);
void sentry_fill_none(struct sentry_evt *e, struct sentry_args *a);
void sentry_fill_fd_size_e(struct sentry_evt *e, struct sentry_args *a);
void sentry_fill_write_x(struct sentry_evt *e, struct sentry_args *a);
void sentry_fill_res_path0_x(struct sentry_evt *e, struct sentry_args *a);
void sentry_fd_dev_ino(long fd, u32 *dev, u64 *ino, u32 *created);

#endif /* SENTRY_FILL_H */
