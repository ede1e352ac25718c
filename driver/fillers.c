// SPDX-License-Identifier: GPL-2.0
/*
 * fillers.c - the parameters of each captured syscall, in scap's layouts.
 *
 * A filler pushes exactly the parameters its event type declares (the count
 * is checked at commit). Paths and buffers are read at syscall exit when the
 * syscall itself has faulted them in; every user access goes through
 * sentry_copy_user()/sentry_push_ustr(), which fail instead of sleeping.
 */
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
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/af_unix.h>
#include <uapi/linux/in.h>
#include <uapi/linux/in6.h>
#include "sentry.h"
#include "scap_flags.h"

#define SCAP_MAX_ARGS 4096	/* scap's bound for args and env */

static void push_s64(struct sentry_evt *e, s64 v)
{
	sentry_push_u64(e, (u64)v);
}

static void push_path(struct sentry_evt *e, unsigned long uptr)
{
	sentry_push_ustr(e, uptr, SENTRY_MAX_PATH);
}

static void push_res(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, a->ret);
}

/* The file behind fd in this task, looked up without taking a reference. */
static struct file *fd_file_rcu(long fd)
{
	if (fd < 0 || !current->files)
		return NULL;
	return files_lookup_fd_rcu(current->files, fd);
}

/* A kernel path rendered in place as the next parameter (NUL included). */
static void push_kpath(struct sentry_evt *e, const struct path *p)
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

static void push_cwd(struct sentry_evt *e)
{
	struct path pwd;

	if (!current->fs) {
		sentry_push_empty(e);
		return;
	}
	get_fs_pwd(current->fs, &pwd);
	push_kpath(e, &pwd);
	path_put(&pwd);
}

/* Bytes user space passed or got: the first min(len, snaplen). */
static void push_data(struct sentry_evt *e, unsigned long uptr, long len)
{
	u32 n = len > 0 ? min_t(u64, len, READ_ONCE(sentry_cfg.snaplen)) : 0;

	sentry_push_ubuf(e, uptr, n);
}

/* Gather up to min(total, snaplen) bytes from a user iovec array. */
static void push_iov(struct sentry_evt *e, unsigned long uiov, unsigned long cnt, long total)
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

static long iov_total(unsigned long uiov, unsigned long cnt)
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

/* ---- sockets ---- */

/* PT_SOCKADDR from a user sockaddr of len bytes. */
static void push_usockaddr(struct sentry_evt *e, unsigned long uaddr, long len)
{
	struct sockaddr_storage ss;
	u8 buf[1 + sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	u32 n = 0;

	if (!uaddr || len < (long)sizeof(sa_family_t) || len > (long)sizeof(ss) ||
	    sentry_copy_user(&ss, uaddr, len)) {
		sentry_push_empty(e);
		return;
	}
	buf[n++] = ss.ss_family;
	if (ss.ss_family == AF_INET && len >= (long)sizeof(struct sockaddr_in)) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		u16 port = ntohs(in->sin_port);

		memcpy(buf + n, &in->sin_addr.s_addr, 4);
		memcpy(buf + n + 4, &port, 2);
		n += 6;
	} else if (ss.ss_family == AF_INET6 && len >= (long)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		u16 port = ntohs(in6->sin6_port);

		memcpy(buf + n, &in6->sin6_addr, 16);
		memcpy(buf + n + 16, &port, 2);
		n += 18;
	} else if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		long plen = len - offsetof(struct sockaddr_un, sun_path);

		plen = clamp_t(long, plen, 0, sizeof(un->sun_path));
		n += strnlen(un->sun_path, plen);
		memcpy(buf + 1, un->sun_path, n - 1);
		buf[n++] = '\0';
	}
	sentry_push_raw(e, buf, n);
}

/*
 * PT_SOCKTUPLE of the socket behind fd: client side first, so for an
 * inbound connection (accept) the peer is the source.
 */
static void push_socktuple(struct sentry_evt *e, long fd, bool inbound)
{
	u8 buf[1 + 8 + 8 + UNIX_PATH_MAX + 1];
	struct socket *sock;
	struct sock *sk;
	struct file *f;
	u32 n = 0;

	rcu_read_lock();
	f = fd_file_rcu(fd);
	sock = f ? sock_from_file(f) : NULL;
	sk = sock ? sock->sk : NULL;
	if (!sk) {
		rcu_read_unlock();
		sentry_push_empty(e);
		return;
	}
	buf[n++] = sk->sk_family;
	if (sk->sk_family == AF_INET) {
		struct inet_sock *inet = inet_sk(sk);
		__be32 l = inet->inet_rcv_saddr ? inet->inet_rcv_saddr : inet->inet_saddr;
		__be32 r = inet->inet_daddr;
		u16 lp = ntohs(inet->inet_sport), rp = ntohs(inet->inet_dport);

		memcpy(buf + 1, inbound ? &r : &l, 4);
		memcpy(buf + 5, inbound ? &rp : &lp, 2);
		memcpy(buf + 7, inbound ? &l : &r, 4);
		memcpy(buf + 11, inbound ? &lp : &rp, 2);
		n = 13;
	} else if (sk->sk_family == AF_INET6) {
		struct inet_sock *inet = inet_sk(sk);
		u16 lp = ntohs(inet->inet_sport), rp = ntohs(inet->inet_dport);
		const void *l = &sk->sk_v6_rcv_saddr, *r = &sk->sk_v6_daddr;

		memcpy(buf + 1, inbound ? r : l, 16);
		memcpy(buf + 17, inbound ? &rp : &lp, 2);
		memcpy(buf + 19, inbound ? l : r, 16);
		memcpy(buf + 35, inbound ? &lp : &rp, 2);
		n = 37;
	} else if (sk->sk_family == AF_UNIX) {
		struct unix_sock *u = unix_sk(sk);
		struct sock *peer = READ_ONCE(u->peer);
		struct unix_address *addr;
		u64 src = (u64)(unsigned long)sk, dst = (u64)(unsigned long)peer;
		u32 plen = 0;

		memcpy(buf + 1, &src, 8);
		memcpy(buf + 9, &dst, 8);
		n = 17;
		/* The path is the bound name of either end, whichever has one. */
		addr = smp_load_acquire(&u->addr);	/* pairs with unix_bind's release */
		if (!addr && peer)
			addr = smp_load_acquire(&unix_sk(peer)->addr);
		if (addr && addr->len > (int)offsetof(struct sockaddr_un, sun_path)) {
			plen = addr->len - offsetof(struct sockaddr_un, sun_path);
			plen = strnlen(addr->name->sun_path, min_t(u32, plen, UNIX_PATH_MAX));
			memcpy(buf + n, addr->name->sun_path, plen);
		}
		n += plen;
		buf[n++] = '\0';
	}
	rcu_read_unlock();
	sentry_push_raw(e, buf, n);
}

/* ---- process information (clone family and execve) ---- */

static u32 kbytes(unsigned long pages)
{
	return pages << (PAGE_SHIFT - 10);
}

static void push_mm_sizes(struct sentry_evt *e)
{
	struct mm_struct *mm = current->mm;

	sentry_push_u32(e, mm ? kbytes(mm->total_vm) : 0);
	sentry_push_u32(e, mm ? kbytes(get_mm_rss(mm)) : 0);
	sentry_push_u32(e, mm ? kbytes(get_mm_counter(mm, MM_SWAPENTS)) : 0);
}

/* Arguments (or environment) from the task's own stack: NUL-separated. */
static void push_mm_strings(struct sentry_evt *e, unsigned long start, unsigned long end,
			    bool skip_first)
{
	u32 len = min_t(unsigned long, end - start, SCAP_MAX_ARGS);
	u8 *dst;
	u32 i = 0;

	if (!current->mm || end <= start) {
		sentry_push_empty(e);
		return;
	}
	dst = sentry_push_reserve(e, len);
	if (!dst)
		return;
	if (sentry_copy_user(dst, start, len)) {
		e->pf = true;
		sentry_push_done(e, 0);
		return;
	}
	if (len)
		dst[len - 1] = '\0';
	if (skip_first) {
		while (i < len && dst[i])
			i++;
		i = min(i + 1, len);
		memmove(dst, dst + i, len - i);
		len -= i;
	}
	sentry_push_done(e, len);
}

static void push_exe_first_arg(struct sentry_evt *e)
{
	struct mm_struct *mm = current->mm;

	if (!mm || mm->arg_end <= mm->arg_start) {
		sentry_push_kstr(e, current->comm);
		return;
	}
	sentry_push_ustr(e, mm->arg_start,
			 min_t(unsigned long, mm->arg_end - mm->arg_start + 1, SENTRY_MAX_PATH));
}

/* "controller=path" pairs for the cgroup v2 hierarchy of this task. */
static void push_cgroups(struct sentry_evt *e)
{
	static const char * const names[] = {
		"cpuset", "cpu", "cpuacct", "io", "memory", "devices", "freezer",
		"net_cls", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc",
	};
	char path[256];
	struct cgroup *cg;
	u32 avail, used = 0, nlen, plen;
	unsigned int i;
	u8 *dst;
	int r;

	rcu_read_lock();
	cg = task_dfl_cgroup(current);
	r = cg ? kernfs_path(cg->kn, path, sizeof(path)) : -ENOENT;
	rcu_read_unlock();
	if (r < 0) {
		sentry_push_empty(e);
		return;
	}
	plen = strlen(path) + 1;
	avail = e->room > e->len ? min_t(u32, e->room - e->len, 4096) : 0;
	dst = sentry_push_reserve(e, avail);
	if (!dst)
		return;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		nlen = strlen(names[i]);
		if (used + nlen + 1 + plen > avail)
			break;
		memcpy(dst + used, names[i], nlen);
		dst[used + nlen] = '=';
		memcpy(dst + used + nlen + 1, path, plen);
		used += nlen + 1 + plen;
	}
	sentry_push_done(e, used);
}

/* Parameters 1..15 shared by clone/fork/vfork/clone3 (from res to cgroups). */
static void push_proc_common(struct sentry_evt *e, struct sentry_args *a)
{
	struct mm_struct *mm = current->mm;
	struct task_struct *parent;
	pid_t ptid;

	push_res(e, a);
	push_exe_first_arg(e);
	if (mm)
		push_mm_strings(e, mm->arg_start, mm->arg_end, true);
	else
		sentry_push_empty(e);
	push_s64(e, current->pid);
	push_s64(e, current->tgid);
	rcu_read_lock();
	parent = rcu_dereference(current->real_parent);
	ptid = parent ? parent->pid : 0;
	rcu_read_unlock();
	push_s64(e, ptid);
	push_cwd(e);
	push_s64(e, task_rlimit(current, RLIMIT_NOFILE));
	sentry_push_u64(e, current->maj_flt);
	sentry_push_u64(e, current->min_flt);
	push_mm_sizes(e);
	sentry_push_kstr(e, current->comm);
	push_cgroups(e);
}

/* clone_20, fork_20, vfork_20 and clone3 exits: 21 parameters. */
static void fill_clone_x(struct sentry_evt *e, struct sentry_args *a, u64 flags)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	struct task_struct *reaper = ns ? ns->child_reaper : NULL;

	push_proc_common(e, a);
	sentry_push_u32(e, scap_clone_flags(flags));
	sentry_push_u32(e, from_kuid_munged(&init_user_ns, current_euid()));
	sentry_push_u32(e, from_kgid_munged(&init_user_ns, current_egid()));
	push_s64(e, task_pid_vnr(current));
	push_s64(e, task_tgid_vnr(current));
	sentry_push_u64(e, reaper ? reaper->start_time : 0);
}

static void clone_x(struct sentry_evt *e, struct sentry_args *a)
{
	fill_clone_x(e, a, a->a[0]);
}

static void fork_x(struct sentry_evt *e, struct sentry_args *a)
{
	fill_clone_x(e, a, 0);
}

static void vfork_x(struct sentry_evt *e, struct sentry_args *a)
{
	fill_clone_x(e, a, CLONE_VFORK | CLONE_VM);
}

static void clone3_x(struct sentry_evt *e, struct sentry_args *a)
{
	u64 flags = 0;

	/* struct clone_args starts with the u64 flags. */
	if (sentry_copy_user(&flags, a->a[0], sizeof(flags)))
		e->pf = true;
	fill_clone_x(e, a, flags);
}

static u64 ts_ns(struct timespec64 t)
{
	return (u64)t.tv_sec * NSEC_PER_SEC + t.tv_nsec;
}

static u64 caps64(kernel_cap_t c)
{
	return ((u64)c.cap[1] << 32) | c.cap[0];
}

/* execve_19 and execveat exits: 28 parameters. */
static void execve_x(struct sentry_evt *e, struct sentry_args *a)
{
	struct mm_struct *mm = current->mm;
	const struct cred *cred = current_cred();
	struct tty_struct *tty = READ_ONCE(current->signal->tty);
	struct file *exe = NULL;
	struct inode *inode = NULL;
	kuid_t loginuid;
	u32 flags = 0;

	push_res(e, a);					/* 0 res */
	push_exe_first_arg(e);				/* 1 exe */
	if (mm)						/* 2 args */
		push_mm_strings(e, mm->arg_start, mm->arg_end, true);
	else
		sentry_push_empty(e);
	push_s64(e, current->pid);			/* 3 tid */
	push_s64(e, current->tgid);			/* 4 pid */
	rcu_read_lock();
	push_s64(e, rcu_dereference(current->real_parent)->pid);	/* 5 ptid */
	rcu_read_unlock();
	push_cwd(e);					/* 6 cwd */
	sentry_push_u64(e, task_rlimit(current, RLIMIT_NOFILE));	/* 7 fdlimit */
	sentry_push_u64(e, current->maj_flt);		/* 8 pgft_maj */
	sentry_push_u64(e, current->min_flt);		/* 9 pgft_min */
	push_mm_sizes(e);				/* 10-12 vm */
	sentry_push_kstr(e, current->comm);		/* 13 comm */
	push_cgroups(e);				/* 14 cgroups */
	if (mm)						/* 15 env */
		push_mm_strings(e, mm->env_start, mm->env_end, false);
	else
		sentry_push_empty(e);
	sentry_push_u32(e, tty ? new_encode_dev(tty_devnum(tty)) : 0);	/* 16 tty */
	push_s64(e, task_pgrp_vnr(current));		/* 17 pgid */
	loginuid = audit_get_loginuid(current);		/* 18 loginuid, -1: unset */
	sentry_push_u32(e, uid_valid(loginuid) ?
			   from_kuid_munged(&init_user_ns, loginuid) : (u32)-1);
	rcu_read_lock();
	if (mm)
		exe = rcu_dereference(mm->exe_file);
	if (exe) {
		inode = file_inode(exe);
		if (!strncmp(exe->f_path.dentry->d_name.name, "memfd:", 6))
			flags |= PPM_EXE_FROM_MEMFD;
	}
	sentry_push_u32(e, flags);			/* 19 flags */
	sentry_push_u64(e, caps64(cred->cap_inheritable));	/* 20-22 caps */
	sentry_push_u64(e, caps64(cred->cap_permitted));
	sentry_push_u64(e, caps64(cred->cap_effective));
	sentry_push_u64(e, inode ? inode->i_ino : 0);	/* 23 exe_ino */
	sentry_push_u64(e, inode ? ts_ns(inode->i_ctime) : 0);	/* 24 ctime */
	sentry_push_u64(e, inode ? ts_ns(inode->i_mtime) : 0);	/* 25 mtime */
	sentry_push_u32(e, from_kuid_munged(&init_user_ns, cred->euid));	/* 26 uid */
	if (exe)					/* 27 trusted_exepath */
		push_kpath(e, &exe->f_path);
	else
		sentry_push_empty(e);
	rcu_read_unlock();
}

static void execve_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_path(e, a->a[0]);
}

static void execveat_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[4]);
}

/* procexit_1: status, ret, sig, core, reaper_tid. */
void sentry_fill_procexit(struct sentry_evt *e, struct task_struct *p)
{
	int code = p->exit_code;

	push_s64(e, code);
	push_s64(e, (code >> 8) & 0xff);
	sentry_push_u8(e, code & 0x7f);
	sentry_push_u8(e, (code & 0x80) ? 1 : 0);
	push_s64(e, 0);
}

/* ---- files ---- */

/* dev and ino of the file an fd refers to (0 if none). */
static void fd_dev_ino(long fd, u32 *dev, u64 *ino, u32 *created)
{
	struct file *f;

	*dev = 0;
	*ino = 0;
	*created = 0;
	rcu_read_lock();
	f = fd_file_rcu(fd);
	if (f) {
		struct inode *inode = file_inode(f);

		*dev = new_encode_dev(inode->i_sb->s_dev);
		*ino = inode->i_ino;
		if (f->f_mode & FMODE_CREATED)
			*created = PPM_O_F_CREATED;
	}
	rcu_read_unlock();
}

static void open_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_path(e, a->a[0]);
	sentry_push_u32(e, scap_open_flags(a->a[1]));
	sentry_push_u32(e, scap_open_mode(a->a[1], a->a[2]));
}

static void open_x(struct sentry_evt *e, struct sentry_args *a)
{
	u32 dev, created;
	u64 ino;

	fd_dev_ino(a->ret, &dev, &ino, &created);
	push_res(e, a);
	push_path(e, a->a[0]);
	sentry_push_u32(e, scap_open_flags(a->a[1]) | created);
	sentry_push_u32(e, scap_open_mode(a->a[1], a->a[2]));
	sentry_push_u32(e, dev);
	sentry_push_u64(e, ino);
}

static void creat_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_path(e, a->a[0]);
	sentry_push_u32(e, a->a[1] & 07777);
}

static void creat_x(struct sentry_evt *e, struct sentry_args *a)
{
	u32 dev, created;
	u64 ino;

	fd_dev_ino(a->ret, &dev, &ino, &created);
	push_res(e, a);
	push_path(e, a->a[0]);
	sentry_push_u32(e, a->a[1] & 07777);
	sentry_push_u32(e, dev);
	sentry_push_u64(e, ino);
}

static void openat_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, scap_open_flags(a->a[2]));
	sentry_push_u32(e, scap_open_mode(a->a[2], a->a[3]));
}

static void openat_x(struct sentry_evt *e, struct sentry_args *a)
{
	u32 dev, created;
	u64 ino;

	fd_dev_ino(a->ret, &dev, &ino, &created);
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, scap_open_flags(a->a[2]) | created);
	sentry_push_u32(e, scap_open_mode(a->a[2], a->a[3]));
	sentry_push_u32(e, dev);
	sentry_push_u64(e, ino);
}

/* openat2: flags, mode and resolve come from a user struct open_how. */
static void openat2_params(struct sentry_evt *e, struct sentry_args *a)
{
	struct { u64 flags, mode, resolve; } how = { 0 };

	if (sentry_copy_user(&how, a->a[2], sizeof(how)))
		e->pf = true;
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, scap_open_flags(how.flags));
	sentry_push_u32(e, scap_open_mode(how.flags, how.mode));
	sentry_push_u32(e, how.resolve);
}

static void openat2_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	openat2_params(e, a);
}

static void fd0_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
}

static void res_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
}

static void none(struct sentry_evt *e, struct sentry_args *a)
{
}

/* read/write family */
static void fd_size_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[2]);
}

static void fd_size_pos_e(struct sentry_evt *e, struct sentry_args *a)
{
	fd_size_e(e, a);
	sentry_push_u64(e, a->a[3]);
}

static void read_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_data(e, a->a[1], a->ret);
}

static void write_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_data(e, a->a[1], a->ret > 0 ? a->ret : 0);
}

static void readv_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	sentry_push_u32(e, iov_total(a->a[1], a->a[2]));
	push_iov(e, a->a[1], a->a[2], a->ret);
}

static void writev_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, iov_total(a->a[1], a->a[2]));
}

static void writev_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_iov(e, a->a[1], a->a[2], a->ret);
}

static void preadv_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u64(e, a->a[3]);
}

static void pwritev_e(struct sentry_evt *e, struct sentry_args *a)
{
	writev_e(e, a);
	sentry_push_u64(e, a->a[3]);
}

/* paths */
static void res_path0_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_path(e, a->a[0]);
}

static void res_path0_path1_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_path(e, a->a[0]);
	push_path(e, a->a[1]);
}

static void mkdir_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[1]);
}

static void mkdirat_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void unlinkat_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void renameat_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	push_s64(e, (int)a->a[2]);
	push_path(e, a->a[3]);
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
	push_res(e, a);
	push_path(e, a->a[0]);
	push_s64(e, (int)a->a[1]);
	push_path(e, a->a[2]);
}

static void chmod_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_path(e, a->a[0]);
	sentry_push_u32(e, a->a[1] & 07777);
}

static void fchmod_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[1] & 07777);
}

static void fchmodat_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2] & 07777);
}

static void chown_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_path(e, a->a[0]);
	sentry_push_u32(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void fchown_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void fchownat_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
	sentry_push_u32(e, a->a[3]);
	sentry_push_u32(e, a->a[4]);
}

/* fds */
static void dup_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
}

static void dup2_x(struct sentry_evt *e, struct sentry_args *a)
{
	dup_x(e, a);
	push_s64(e, (int)a->a[1]);
}

static void dup3_x(struct sentry_evt *e, struct sentry_args *a)
{
	dup2_x(e, a);
	sentry_push_u32(e, scap_open_flags(a->a[2]) & PPM_O_CLOEXEC);
}

static void fcntl_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u8(e, scap_fcntl_cmd(a->a[1]));
}

static void fcntl_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	fcntl_e(e, a);
}

static void pipe_fill(struct sentry_evt *e, struct sentry_args *a, bool with_flags)
{
	int fds[2] = { -1, -1 };
	u32 dev, created;
	u64 ino = 0;

	if (a->ret >= 0 && sentry_copy_user(fds, a->a[0], sizeof(fds)))
		e->pf = true;
	if (a->ret >= 0)
		fd_dev_ino(fds[0], &dev, &ino, &created);
	push_res(e, a);
	push_s64(e, fds[0]);
	push_s64(e, fds[1]);
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

/* credentials */
static void id0_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[0]);
}

static void id012_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[0]);
	sentry_push_u32(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void capset_x(struct sentry_evt *e, struct sentry_args *a)
{
	const struct cred *cred = current_cred();

	push_res(e, a);
	sentry_push_u64(e, caps64(cred->cap_inheritable));
	sentry_push_u64(e, caps64(cred->cap_permitted));
	sentry_push_u64(e, caps64(cred->cap_effective));
}

/* ptrace: addr and data are PT_DYN, index 0 = plain u64. */
static void ptrace_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u16(e, scap_ptrace_request(a->a[0]));
	push_s64(e, (int)a->a[1]);
}

static void push_dyn_u64(struct sentry_evt *e, u64 v)
{
	u8 buf[9];

	buf[0] = 0;
	memcpy(buf + 1, &v, 8);
	sentry_push_raw(e, buf, sizeof(buf));
}

static void ptrace_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_dyn_u64(e, a->a[2]);
	push_dyn_u64(e, a->a[3]);
}

/* mounts and namespaces */
static void mount_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[3]);
}

static void mount_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_path(e, a->a[0]);
	push_path(e, a->a[1]);
	sentry_push_ustr(e, a->a[2], 64);
}

static void umount2_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[1]);
}

static void setns_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, scap_clone_flags(a->a[1]));
}

static void unshare_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, scap_clone_flags(a->a[0]));
}

/* signals */
static void kill_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u8(e, a->a[1]);
}

static void tgkill_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	push_s64(e, (int)a->a[1]);
	sentry_push_u8(e, a->a[2]);
}

/* modules, bpf, memfd */
static void init_module_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_data(e, a->a[0], a->a[1]);
	sentry_push_u64(e, a->a[1]);
	sentry_push_ustr(e, a->a[2], 1024);
}

static void finit_module_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_s64(e, (int)a->a[0]);
	sentry_push_ustr(e, a->a[1], 1024);
	sentry_push_u32(e, a->a[2]);
}

static void bpf_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
}

/* res_or_fd is PT_DYN: index 0 = a new fd (map/prog creation), 1 = errno. */
static void bpf_x(struct sentry_evt *e, struct sentry_args *a)
{
	bool fd = a->ret >= 0 && (a->a[0] == BPF_MAP_CREATE || a->a[0] == BPF_PROG_LOAD);
	u8 buf[9];

	buf[0] = fd ? 0 : 1;
	memcpy(buf + 1, &a->ret, 8);
	sentry_push_raw(e, buf, sizeof(buf));
}

static void memfd_create_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	sentry_push_ustr(e, a->a[0], 256);
	sentry_push_u32(e, a->a[1]);
}

/* memory */
static void mprotect_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u64(e, a->a[0]);
	sentry_push_u64(e, a->a[1]);
	sentry_push_u32(e, scap_prot_flags(a->a[2]));
}

static void mmap_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u64(e, a->a[0]);
	sentry_push_u64(e, a->a[1]);
	sentry_push_u32(e, scap_prot_flags(a->a[2]));
	sentry_push_u32(e, scap_mmap_flags(a->a[3]));
	push_s64(e, (int)a->a[4]);
	sentry_push_u64(e, a->a[5]);
}

static void mmap_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_mm_sizes(e);
}

/* prctl: option, and arg2 as a string (PR_SET_NAME/GET_NAME) or an integer. */
static void prctl_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	sentry_push_u32(e, a->a[0]);
	if (a->a[0] == PR_SET_NAME || a->a[0] == PR_GET_NAME) {
		sentry_push_ustr(e, a->a[1], TASK_COMM_LEN);
		push_s64(e, 0);
	} else {
		sentry_push_empty(e);
		push_s64(e, a->a[1]);
	}
}

/* sockets */
static void socket_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[0]);
	sentry_push_u32(e, a->a[1]);
	sentry_push_u32(e, a->a[2]);
}

static void bind_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_usockaddr(e, a->a[1], (int)a->a[2]);
}

static void connect_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	push_usockaddr(e, a->a[1], (int)a->a[2]);
}

static void connect_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_socktuple(e, (int)a->a[0], false);
	push_s64(e, (int)a->a[0]);
}

static void listen_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[1]);
}

static void accept_fill(struct sentry_evt *e, struct sentry_args *a)
{
	u32 qlen = 0, qmax = 0;
	struct socket *sock;
	struct file *f;

	rcu_read_lock();
	f = fd_file_rcu((int)a->a[0]);
	sock = f ? sock_from_file(f) : NULL;
	if (sock && sock->sk) {
		qlen = READ_ONCE(sock->sk->sk_ack_backlog);
		qmax = READ_ONCE(sock->sk->sk_max_ack_backlog);
	}
	rcu_read_unlock();
	push_res(e, a);
	push_socktuple(e, a->ret, true);
	sentry_push_u8(e, qmax ? qlen * 100 / qmax : 0);
	sentry_push_u32(e, qlen);
	sentry_push_u32(e, qmax);
}

static void accept4_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[3]);
}

static void sendto_e(struct sentry_evt *e, struct sentry_args *a)
{
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, a->a[2]);
	push_socktuple(e, (int)a->a[0], false);
}

static void recvfrom_x(struct sentry_evt *e, struct sentry_args *a)
{
	push_res(e, a);
	push_data(e, a->a[1], a->ret);
	push_socktuple(e, (int)a->a[0], true);
}

/* struct user_msghdr: name, namelen, iov, iovlen, control, controllen, flags */
static bool read_msghdr(struct sentry_evt *e, unsigned long umsg, struct user_msghdr *m)
{
	if (sentry_copy_user(m, umsg, sizeof(*m))) {
		e->pf = true;
		memset(m, 0, sizeof(*m));
		return false;
	}
	return true;
}

static void sendmsg_e(struct sentry_evt *e, struct sentry_args *a)
{
	struct user_msghdr m;

	read_msghdr(e, a->a[1], &m);
	push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, iov_total((unsigned long)m.msg_iov, m.msg_iovlen));
	push_socktuple(e, (int)a->a[0], false);
}

static void sendmsg_x(struct sentry_evt *e, struct sentry_args *a)
{
	struct user_msghdr m;

	read_msghdr(e, a->a[1], &m);
	push_res(e, a);
	push_iov(e, (unsigned long)m.msg_iov, m.msg_iovlen, a->ret);
}

static void recvmsg_x(struct sentry_evt *e, struct sentry_args *a)
{
	struct user_msghdr m;

	read_msghdr(e, a->a[1], &m);
	push_res(e, a);
	sentry_push_u32(e, a->ret > 0 ? a->ret : 0);
	push_iov(e, (unsigned long)m.msg_iov, m.msg_iovlen, a->ret);
	push_socktuple(e, (int)a->a[0], true);
	sentry_push_empty(e);
}

/*
 * Fillers by syscall number. The event type and parameter count come from
 * syscall_events.h; a filler may push more parameters than an older event
 * generation declares (the extra ones are ignored), never fewer.
 */
#define ND SENTRY_SC_NEVER_DROP

const struct sentry_fillers sentry_fillers[SENTRY_SYSCALL_NR_MAX] = {
	[__NR_open] = { open_e, open_x, 0 },
	[__NR_openat] = { openat_e, openat_x, 0 },
	[__NR_openat2] = { openat2_params, openat2_x, 0 },
	[__NR_creat] = { creat_e, creat_x, 0 },
	[__NR_close] = { fd0_e, res_x, 0 },
	[__NR_execve] = { execve_e, execve_x, ND },
	[__NR_execveat] = { execveat_e, execve_x, ND },
	[__NR_clone] = { none, clone_x, ND },
	[__NR_clone3] = { none, clone3_x, ND },
	[__NR_fork] = { none, fork_x, ND },
	[__NR_vfork] = { none, vfork_x, ND },
	[__NR_read] = { fd_size_e, read_x, 0 },
	[__NR_write] = { fd_size_e, write_x, 0 },
	[__NR_pread64] = { fd_size_pos_e, read_x, 0 },
	[__NR_pwrite64] = { fd_size_pos_e, write_x, 0 },
	[__NR_readv] = { fd0_e, readv_x, 0 },
	[__NR_writev] = { writev_e, writev_x, 0 },
	[__NR_preadv] = { preadv_e, readv_x, 0 },
	[__NR_pwritev] = { pwritev_e, writev_x, 0 },
	[__NR_socket] = { socket_e, res_x, 0 },
	[__NR_connect] = { connect_e, connect_x, 0 },
	[__NR_accept] = { none, accept_fill, 0 },
	[__NR_accept4] = { accept4_e, accept_fill, 0 },
	[__NR_bind] = { fd0_e, bind_x, 0 },
	[__NR_listen] = { listen_e, res_x, 0 },
	[__NR_sendto] = { sendto_e, write_x, 0 },
	[__NR_recvfrom] = { fd_size_e, recvfrom_x, 0 },
	[__NR_sendmsg] = { sendmsg_e, sendmsg_x, 0 },
	[__NR_recvmsg] = { fd0_e, recvmsg_x, 0 },
	[__NR_unlink] = { none, res_path0_x, 0 },
	[__NR_unlinkat] = { none, unlinkat_x, 0 },
	[__NR_rename] = { none, res_path0_path1_x, 0 },
	[__NR_renameat] = { none, renameat_x, 0 },
	[__NR_renameat2] = { none, renameat2_x, 0 },
	[__NR_mkdir] = { mkdir_e, res_path0_x, 0 },
	[__NR_mkdirat] = { none, mkdirat_x, 0 },
	[__NR_rmdir] = { none, res_path0_x, 0 },
	[__NR_symlink] = { none, res_path0_path1_x, 0 },
	[__NR_symlinkat] = { none, symlinkat_x, 0 },
	[__NR_link] = { none, res_path0_path1_x, 0 },
	[__NR_linkat] = { none, linkat_x, 0 },
	[__NR_chmod] = { none, chmod_x, 0 },
	[__NR_fchmod] = { none, fchmod_x, 0 },
	[__NR_fchmodat] = { none, fchmodat_x, 0 },
	[__NR_chown] = { none, chown_x, 0 },
	[__NR_lchown] = { none, chown_x, 0 },
	[__NR_fchown] = { none, fchown_x, 0 },
	[__NR_fchownat] = { none, fchownat_x, 0 },
	[__NR_dup] = { fd0_e, dup_x, 0 },
	[__NR_dup2] = { fd0_e, dup2_x, 0 },
	[__NR_dup3] = { fd0_e, dup3_x, 0 },
	[__NR_fcntl] = { fcntl_e, fcntl_x, 0 },
	[__NR_pipe] = { none, pipe_x, 0 },
	[__NR_pipe2] = { none, pipe2_x, 0 },
	[__NR_setuid] = { id0_e, res_x, 0 },
	[__NR_setgid] = { id0_e, res_x, 0 },
	[__NR_setresuid] = { id012_e, res_x, 0 },
	[__NR_setresgid] = { id012_e, res_x, 0 },
	[__NR_capset] = { none, capset_x, 0 },
	[__NR_ptrace] = { ptrace_e, ptrace_x, 0 },
	[__NR_mount] = { mount_e, mount_x, 0 },
	[__NR_umount2] = { umount2_e, res_path0_x, 0 },
	[__NR_setns] = { setns_e, res_x, 0 },
	[__NR_unshare] = { unshare_e, res_x, 0 },
	[__NR_kill] = { kill_e, res_x, 0 },
	[__NR_tkill] = { kill_e, res_x, 0 },
	[__NR_tgkill] = { tgkill_e, res_x, 0 },
	[__NR_init_module] = { none, init_module_x, 0 },
	[__NR_finit_module] = { none, finit_module_x, 0 },
	[__NR_bpf] = { bpf_e, bpf_x, 0 },
	[__NR_memfd_create] = { none, memfd_create_x, 0 },
	[__NR_chdir] = { none, res_path0_x, 0 },
	[__NR_fchdir] = { fd0_e, res_x, 0 },
	[__NR_mprotect] = { mprotect_e, res_x, 0 },
	[__NR_mmap] = { mmap_e, mmap_x, 0 },
	[__NR_prctl] = { none, prctl_x, 0 },
};
