// SPDX-License-Identifier: GPL-2.0
/*
 * fill_common.c - the kernel-side reads parameters are made of (paths, buffers, I/O
 * vectors, files behind fds, memory sizes), for the recipes (fill_recipe.c) and the
 * process records (fill_proc.c).
 *
 * Paths and buffers are read at syscall exit, when the syscall itself has faulted them
 * in; every user access goes through sentry_copy_user()/sentry_push_ustr(), which fail
 * instead of sleeping.
 */
#include "fill.h"

void sentry_push_s64(struct sentry_evt *e, s64 v)
{
	sentry_push_u64(e, (u64)v);
}

/*
 * The path an open exit names: the user string, as the kernel read it at the call's start.
 * When it cannot be read any more (another thread unmapped its page while the call ran,
 * as while an open of a FIFO waits for the other end), the path of the file the call
 * opened (fd), which is the name it resolved.
 */
void sentry_push_open_name(struct sentry_evt *e, unsigned long uptr, long fd)
{
	struct file *f = NULL;
	long n = 0;

	if (uptr) {
		pagefault_disable();
		n = strnlen_user((const char __user *)uptr, SENTRY_MAX_PATH);
		pagefault_enable();
	}
	if (n <= 0)
		f = sentry_fd_file(fd);
	if (f) {
		sentry_push_kpath(e, &f->f_path);
		return;
	}
	sentry_push_ustr(e, uptr, SENTRY_MAX_PATH);
}

void sentry_push_res(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, a->ret);
}

/* The file behind fd in this task, looked up without taking a reference. */
struct file *sentry_fd_file(long fd)
{
	if (fd < 0 || !current->files)
		return NULL;
	return sentry_lookup_fd(current->files, fd);
}

/* A kernel path rendered in place as the next parameter (NUL included). */
void sentry_push_kpath(struct sentry_evt *e, const struct path *p)
{
	u32 avail = e->room > e->len ? e->room - e->len : 0;
	u32 limit = min_t(u32, avail, SENTRY_MAX_PATH);
	char *dst, *s;
	u32 n;

	if (limit < 2) {
		e->overflow = true;
		return;
	}
	dst = sentry_push_reserve(e, limit);
	if (!dst)
		return;
	s = d_path(p, dst, limit);
	if (IS_ERR(s)) {
		sentry_push_done(e, 0);
		return;
	}
	n = strlen(s) + 1;
	memmove(dst, s, n);
	sentry_push_done(e, n);
}

void sentry_push_cwd(struct sentry_evt *e)
{
	struct path pwd;

	if (!current->fs) {
		sentry_push_empty(e);
		return;
	}
	get_fs_pwd(current->fs, &pwd);
	sentry_push_kpath(e, &pwd);
	path_put(&pwd);
}

/* Bytes user space passed or got: the first min(len, snaplen). */
void sentry_push_data(struct sentry_evt *e, unsigned long uptr, u64 len)
{
	sentry_push_ubuf(e, uptr, min_t(u64, len, READ_ONCE(sentry_cfg.snaplen)));
}

/* Gather up to min(total, snaplen) bytes from a user iovec array. */
void sentry_push_iov(struct sentry_evt *e, unsigned long uiov, unsigned long cnt, long total)
{
	u32 want = total > 0 ? min_t(u64, total, READ_ONCE(sentry_cfg.snaplen)) : 0;
	struct iovec iov;
	u32 got = 0, n;
	unsigned long i;
	u8 *dst;

	dst = sentry_push_reserve(e, want);
	if (!dst)
		return;
	for (i = 0; i < cnt && i < UIO_MAXIOV && got < want; i++) {
		if (sentry_copy_user(&iov, uiov + i * sizeof(iov), sizeof(iov)))
			goto fault;
		n = min_t(u64, iov.iov_len, want - got);
		if (n && sentry_copy_user(dst + got, (unsigned long)iov.iov_base, n))
			goto fault;
		got += n;
	}
	sentry_push_done(e, got);
	return;
fault:
	e->pf = true;
	sentry_push_done(e, got);
}

long sentry_iov_total(unsigned long uiov, unsigned long cnt)
{
	struct iovec iov;
	long total = 0;
	unsigned long i;

	for (i = 0; i < cnt && i < UIO_MAXIOV; i++) {
		if (sentry_copy_user(&iov, uiov + i * sizeof(iov), sizeof(iov)))
			break;
		total += iov.iov_len;
	}
	return total;
}

static u32 kbytes(unsigned long pages)
{
	return pages << (PAGE_SHIFT - 10);
}

/* The task's vm_size (which 0), vm_rss (1) or vm_swap (2), in KiB. */
u32 sentry_mm_kib(u32 which)
{
	struct mm_struct *mm = current->mm;

	if (!mm)
		return 0;
	if (which == 0)
		return kbytes(mm->total_vm);
	if (which == 1)
		return kbytes(get_mm_rss(mm));
	return kbytes(get_mm_counter(mm, MM_SWAPENTS));
}

void sentry_push_mm_sizes(struct sentry_evt *e)
{
	sentry_push_u32(e, sentry_mm_kib(0));
	sentry_push_u32(e, sentry_mm_kib(1));
	sentry_push_u32(e, sentry_mm_kib(2));
}

/* dev and ino of the file an fd refers to, and whether its open created it (0: none). */
void sentry_fd_dev_ino(long fd, u32 *dev, u64 *ino, u32 *created)
{
	struct file *f;

	*dev = 0;
	*ino = 0;
	*created = 0;
	rcu_read_lock();
	f = sentry_fd_file(fd);
	if (f) {
		struct inode *inode = file_inode(f);

		*dev = new_encode_dev(inode->i_sb->s_dev);
		*ino = inode->i_ino;
		if (f->f_mode & FMODE_CREATED)
			*created = SCAP_O_F_CREATED;
	}
	rcu_read_unlock();
}
