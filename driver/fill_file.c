// SPDX-License-Identifier: GPL-2.0
/*
 * fill_file.c - fillers of file, path, fd and read/write syscalls.
 *
 * A filler pushes the parameters its event type declares, in scap's layout; it may push
 * more than an older event generation declares (extra ones are ignored), never fewer.
 * Paths and buffers are read at syscall exit, when the syscall itself has faulted them
 * in; every user access goes through sentry_copy_user()/sentry_push_ustr(), which fail
 * instead of sleeping.
 */
#include "fill.h"

static void open_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_path(e, a->a[0]);
	sentry_push_u32(e, scap_open_flags(a->a[1]));
	sentry_push_u32(e, scap_open_mode(a->a[1], a->a[2]));
}

static void open_x(struct sentry_evt *e, struct sentry_args *a)
{
	u32 dev, created;
	u64 ino;

	sentry_fd_dev_ino(a->ret, &dev, &ino, &created);
	sentry_push_res(e, a);
	sentry_push_open_name(e, a->a[0], a->ret);
	sentry_push_u32(e, scap_open_flags(a->a[1]) | created);
	sentry_push_u32(e, scap_open_mode(a->a[1], a->a[2]));
	sentry_push_u32(e, dev);
	sentry_push_u64(e, ino);
}

static void creat_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_path(e, a->a[0]);
	sentry_push_u32(e, a->a[1] & 07777);
}

static void creat_x(struct sentry_evt *e, struct sentry_args *a)
{
	u32 dev, created;
	u64 ino;

	sentry_fd_dev_ino(a->ret, &dev, &ino, &created);
	sentry_push_res(e, a);
	sentry_push_open_name(e, a->a[0], a->ret);
	sentry_push_u32(e, a->a[1] & 07777);
	sentry_push_u32(e, dev);
	sentry_push_u64(e, ino);
}

static void openat_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, scap_open_flags(a->a[2]));
	sentry_push_u32(e, scap_open_mode(a->a[2], a->a[3]));
}

static void openat_x(struct sentry_evt *e, struct sentry_args *a)
{
	u32 dev, created;
	u64 ino;

	sentry_fd_dev_ino(a->ret, &dev, &ino, &created);
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_open_name(e, a->a[1], a->ret);
	sentry_push_u32(e, scap_open_flags(a->a[2]) | created);
	sentry_push_u32(e, scap_open_mode(a->a[2], a->a[3]));
	sentry_push_u32(e, dev);
	sentry_push_u64(e, ino);
}

/* openat2: flags, mode and resolve come from a user struct open_how. */
static void openat2_params(struct sentry_evt *e, struct sentry_args *a, bool exit)
{
	struct { u64 flags, mode, resolve; } how = { 0 };

	if (sentry_copy_user(&how, a->a[2], sizeof(how)))
		e->pf = true;
	sentry_push_s64(e, (int)a->a[0]);
	if (exit)
		sentry_push_open_name(e, a->a[1], a->ret);
	else
		sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, scap_open_flags(how.flags));
	sentry_push_u32(e, scap_open_mode(how.flags, how.mode));
	sentry_push_u32(e, scap_resolve_flags(how.resolve));
}

static void openat2_e(struct sentry_evt *e, struct sentry_args *a)
{
	openat2_params(e, a, false);
}

static void openat2_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	openat2_params(e, a, true);
}

static void fd_size_pos_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_fill_fd_size_e(e, a);
	sentry_push_u64(e, a->a[3]);
}

static void read_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_data(e, a->a[1], a->ret);
}

static void readv_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_u32(e, sentry_iov_total(a->a[1], a->a[2]));
	sentry_push_iov(e, a->a[1], a->a[2], a->ret);
}

static void writev_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, sentry_iov_total(a->a[1], a->a[2]));
}

static void writev_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_iov(e, a->a[1], a->a[2], a->ret);
}

static void preadv_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u64(e, a->a[3]);
}

static void pwritev_e(struct sentry_evt *e, struct sentry_args *a)
{
	writev_e(e, a);
	sentry_push_u64(e, a->a[3]);
}

static void res_path0_path1_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_path(e, a->a[0]);
	sentry_push_path(e, a->a[1]);
}

static void mkdir_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[1]);
}

static void mkdirat_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void unlinkat_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void renameat_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_s64(e, (int)a->a[2]);
	sentry_push_path(e, a->a[3]);
}

static void renameat2_x(struct sentry_evt *e, struct sentry_args *a)
{
	renameat_x(e, a);
	sentry_push_u32(e, a->a[4]);
}

static void linkat_x(struct sentry_evt *e, struct sentry_args *a)
{
	renameat2_x(e, a);
}

static void symlinkat_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_path(e, a->a[0]);
	sentry_push_s64(e, (int)a->a[1]);
	sentry_push_path(e, a->a[2]);
}

static void chmod_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_path(e, a->a[0]);
	sentry_push_u32(e, a->a[1] & 07777);
}

static void fchmod_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[1] & 07777);
}

static void fchmodat_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2] & 07777);
}

/* mknod/mknodat: the node's mode and device in scap's encodings. */
static void mknod_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_path(e, a->a[0]);
	sentry_push_u32(e, scap_mknod_mode(a->a[1]));
	sentry_push_u32(e, scap_mknod_dev(a->a[2]));
}

static void mknodat_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, scap_mknod_mode(a->a[2]));
	sentry_push_u32(e, scap_mknod_dev(a->a[3]));
}

/*
 * open_by_handle_at: the handle names no path, so the path is the opened file's
 * (empty when the call failed), with its dev and inode as libs' exit carries them.
 */
static void open_by_handle_at_x(struct sentry_evt *e, struct sentry_args *a)
{
	u32 dev, created;
	u64 ino;

	sentry_fd_dev_ino(a->ret, &dev, &ino, &created);
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, scap_open_flags(a->a[2]));
	sentry_push_open_name(e, 0, a->ret);
	sentry_push_u32(e, dev);
	sentry_push_u64(e, ino);
}

static void chown_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_path(e, a->a[0]);
	sentry_push_u32(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void fchown_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void fchownat_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
	sentry_push_u32(e, a->a[3]);
	sentry_push_u32(e, a->a[4]);
}

/* fds */
static void dup_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
}

static void dup2_x(struct sentry_evt *e, struct sentry_args *a)
{
	dup_x(e, a);
	sentry_push_s64(e, (int)a->a[1]);
}

static void dup3_x(struct sentry_evt *e, struct sentry_args *a)
{
	dup2_x(e, a);
	sentry_push_u32(e, scap_open_flags(a->a[2]) & SCAP_O_CLOEXEC);
}

static void fcntl_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u8(e, scap_fcntl_cmd(a->a[1]));
}

static void fcntl_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	fcntl_e(e, a);
}

static void lseek_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u64(e, a->a[1]);
	sentry_push_u8(e, a->a[2]);
}

static void getcwd_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	if (a->ret > 0)
		sentry_push_ustr(e, a->a[0], SENTRY_MAX_PATH);
	else
		sentry_push_empty(e);
}

static void access_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[1]);
}

static void access_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_path(e, a->a[0]);
}

static void fd_u32_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[1]);
}

static void ioctl_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u64(e, a->a[1]);
	sentry_push_u64(e, a->a[2]);
}

static void userfaultfd_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_u32(e, scap_open_flags(a->a[0]) & (SCAP_O_NONBLOCK | SCAP_O_CLOEXEC));
}

static u64 user_u64_or_zero(struct sentry_evt *e, unsigned long uptr)
{
	u64 v = 0;

	if (uptr && sentry_copy_user(&v, uptr, sizeof(v)))
		e->pf = true;
	return v;
}

static void copy_file_range_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u64(e, user_u64_or_zero(e, a->a[1]));
	sentry_push_u64(e, a->a[4]);
}

static void copy_file_range_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[2]);
	sentry_push_u64(e, user_u64_or_zero(e, a->a[3]));
}

static void sendfile_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_s64(e, (int)a->a[1]);
	sentry_push_u64(e, user_u64_or_zero(e, a->a[2]));
	sentry_push_u64(e, a->a[3]);
}

static void sendfile_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_u64(e, user_u64_or_zero(e, a->a[2]));
}

static void splice_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_s64(e, (int)a->a[2]);
	sentry_push_u64(e, a->a[4]);
	sentry_push_u32(e, a->a[5]);
}


const struct sentry_filler_entry sentry_fill_file_table[] = {
	{ __NR_open, open_e, open_x },
	{ __NR_openat, openat_e, openat_x },
	{ __NR_openat2, openat2_e, openat2_x },
	{ __NR_creat, creat_e, creat_x },
	{ __NR_close, sentry_fill_fd0_e, sentry_fill_res_x },
	{ __NR_read, sentry_fill_fd_size_e, read_x },
	{ __NR_write, sentry_fill_fd_size_e, sentry_fill_write_x },
	{ __NR_pread64, fd_size_pos_e, read_x },
	{ __NR_pwrite64, fd_size_pos_e, sentry_fill_write_x },
	{ __NR_readv, sentry_fill_fd0_e, readv_x },
	{ __NR_writev, writev_e, writev_x },
	{ __NR_preadv, preadv_e, readv_x },
	{ __NR_pwritev, pwritev_e, writev_x },
	{ __NR_unlink, sentry_fill_none, sentry_fill_res_path0_x },
	{ __NR_unlinkat, sentry_fill_none, unlinkat_x },
	{ __NR_rename, sentry_fill_none, res_path0_path1_x },
	{ __NR_renameat, sentry_fill_none, renameat_x },
	{ __NR_renameat2, sentry_fill_none, renameat2_x },
	{ __NR_mkdir, mkdir_e, sentry_fill_res_path0_x },
	{ __NR_mkdirat, sentry_fill_none, mkdirat_x },
	{ __NR_rmdir, sentry_fill_none, sentry_fill_res_path0_x },
	{ __NR_symlink, sentry_fill_none, res_path0_path1_x },
	{ __NR_symlinkat, sentry_fill_none, symlinkat_x },
	{ __NR_link, sentry_fill_none, res_path0_path1_x },
	{ __NR_linkat, sentry_fill_none, linkat_x },
	{ __NR_chmod, sentry_fill_none, chmod_x },
	{ __NR_fchmod, sentry_fill_none, fchmod_x },
	{ __NR_fchmodat, sentry_fill_none, fchmodat_x },
	{ __NR_mknod, sentry_fill_none, mknod_x },
	{ __NR_mknodat, sentry_fill_none, mknodat_x },
	{ __NR_open_by_handle_at, sentry_fill_none, open_by_handle_at_x },
	{ __NR_chown, sentry_fill_none, chown_x },
	{ __NR_lchown, sentry_fill_none, chown_x },
	{ __NR_fchown, sentry_fill_none, fchown_x },
	{ __NR_fchownat, sentry_fill_none, fchownat_x },
	{ __NR_dup, sentry_fill_fd0_e, dup_x },
	{ __NR_dup2, sentry_fill_fd0_e, dup2_x },
	{ __NR_dup3, sentry_fill_fd0_e, dup3_x },
	{ __NR_fcntl, fcntl_e, fcntl_x },
	{ __NR_chdir, sentry_fill_none, sentry_fill_res_path0_x },
	{ __NR_fchdir, sentry_fill_fd0_e, sentry_fill_res_x },
	{ __NR_stat, sentry_fill_none, sentry_fill_res_path0_x },
	{ __NR_lstat, sentry_fill_none, sentry_fill_res_path0_x },
	{ __NR_fstat, sentry_fill_fd0_e, sentry_fill_res_x },
	{ __NR_lseek, lseek_e, sentry_fill_res_x },
	{ __NR_getcwd, sentry_fill_none, getcwd_x },
	{ __NR_access, access_e, access_x },
	{ __NR_chroot, sentry_fill_none, sentry_fill_res_path0_x },
	{ __NR_getdents, sentry_fill_fd0_e, sentry_fill_res_x },
	{ __NR_getdents64, sentry_fill_fd0_e, sentry_fill_res_x },
	{ __NR_flock, fd_u32_e, sentry_fill_res_x },
	{ __NR_ioctl, ioctl_e, sentry_fill_res_x },
	{ __NR_userfaultfd, sentry_fill_none, userfaultfd_x },
	{ __NR_copy_file_range, copy_file_range_e, copy_file_range_x },
	{ __NR_sendfile, sendfile_e, sendfile_x },
	{ __NR_splice, splice_e, sentry_fill_res_x },
	{ -1 }
};
