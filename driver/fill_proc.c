// SPDX-License-Identifier: GPL-2.0
/*
 * fill_proc.c - the process record of the clone family's and execve's exits (the
 * handlers H_PROC_CLONE and H_PROC_EXEC of include/sentry_syscall_specs.h), and procexit.
 *
 * Each pushes the parameters its event type declares, in scap's layout. Arguments and
 * environment are read from the task's own memory through sentry_copy_user(), which
 * fails instead of sleeping.
 */
#include "fill.h"

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

	sentry_push_res(e, a);
	push_exe_first_arg(e);
	if (mm)
		push_mm_strings(e, mm->arg_start, mm->arg_end, true);
	else
		sentry_push_empty(e);
	sentry_push_s64(e, current->pid);
	sentry_push_s64(e, current->tgid);
	rcu_read_lock();
	parent = rcu_dereference(current->real_parent);
	ptid = parent ? parent->pid : 0;
	rcu_read_unlock();
	sentry_push_s64(e, ptid);
	sentry_push_cwd(e);
	sentry_push_s64(e, task_rlimit(current, RLIMIT_NOFILE));
	sentry_push_u64(e, current->maj_flt);
	sentry_push_u64(e, current->min_flt);
	sentry_push_mm_sizes(e);
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
	sentry_push_s64(e, task_pid_vnr(current));
	sentry_push_s64(e, task_tgid_vnr(current));
	/* pidns_init_start_ts: the reaper's start, boot-based, as ns since the epoch */
	sentry_push_u64(e, reaper ? reaper->start_boottime + ktime_get_real_ns() -
			   ktime_get_boottime_ns() : 0);
}

/* The exit of clone, clone3, fork or vfork (H_PROC_CLONE): flags as each call has them. */
void sentry_fill_clone_x(struct sentry_evt *e, struct sentry_args *a)
{
	u64 flags = 0;

	switch (a->nr) {
	case __NR_clone:
		flags = a->a[0];
		break;
	case __NR_vfork:
		flags = CLONE_VFORK | CLONE_VM;
		break;
	case __NR_clone3:
		/* struct clone_args starts with the u64 flags. */
		if (sentry_copy_user(&flags, a->a[0], sizeof(flags)))
			e->pf = true;
		break;
	}
	fill_clone_x(e, a, flags);
}

/*
 * The overlayfs layer of the program: an overlay inode (struct ovl_inode, private to
 * fs/overlayfs) keeps its upper dentry right after the vfs inode; set when the file
 * lives in the upper (writable) layer.
 */
static u32 exe_layer_flags(struct file *exe)
{
	struct dentry *dentry = exe->f_path.dentry;
	struct inode *inode = d_inode(dentry);
	struct dentry *upper;

	if (dentry->d_sb->s_magic != K_OVERLAYFS_SUPER_MAGIC || !inode)
		return 0;
	upper = READ_ONCE(*(struct dentry **)((char *)inode + sizeof(struct inode)));
	return upper ? SCAP_EXE_UPPER_LAYER : SCAP_EXE_LOWER_LAYER;
}

/*
 * Can the task (its new credentials) write the program's file: as libs, when it owns it,
 * when the group or other write bit is its, or with CAP_DAC_OVERRIDE.
 */
static bool exe_writable(const struct inode *inode, const struct cred *cred)
{
	umode_t mode = inode->i_mode;

	if (uid_eq(cred->fsuid, inode->i_uid))
		return true;
	if (gid_eq(cred->fsgid, inode->i_gid) ? (mode & 0020) : (mode & 0002))
		return true;
	return sentry_caps64(cred->cap_effective) & (1ULL << CAP_DAC_OVERRIDE);
}

static u64 ts_ns(struct timespec64 t)
{
	return (u64)t.tv_sec * NSEC_PER_SEC + t.tv_nsec;
}

/* execve_19 and execveat exits (H_PROC_EXEC): 28 parameters. */
void sentry_fill_execve_x(struct sentry_evt *e, struct sentry_args *a)
{
	struct mm_struct *mm = current->mm;
	const struct cred *cred = current_cred();
	struct tty_struct *tty = READ_ONCE(current->signal->tty);
	struct file *exe = NULL;
	struct inode *inode = NULL;
	kuid_t loginuid;
	u32 flags = 0;

	sentry_push_res(e, a);					/* 0 res */
	push_exe_first_arg(e);				/* 1 exe */
	if (mm)						/* 2 args */
		push_mm_strings(e, mm->arg_start, mm->arg_end, true);
	else
		sentry_push_empty(e);
	sentry_push_s64(e, current->pid);			/* 3 tid */
	sentry_push_s64(e, current->tgid);			/* 4 pid */
	rcu_read_lock();
	sentry_push_s64(e, rcu_dereference(current->real_parent)->pid);	/* 5 ptid */
	rcu_read_unlock();
	sentry_push_cwd(e);					/* 6 cwd */
	sentry_push_u64(e, task_rlimit(current, RLIMIT_NOFILE));	/* 7 fdlimit */
	sentry_push_u64(e, current->maj_flt);		/* 8 pgft_maj */
	sentry_push_u64(e, current->min_flt);		/* 9 pgft_min */
	sentry_push_mm_sizes(e);				/* 10-12 vm */
	sentry_push_kstr(e, current->comm);		/* 13 comm */
	push_cgroups(e);				/* 14 cgroups */
	if (mm)						/* 15 env */
		push_mm_strings(e, mm->env_start, mm->env_end, false);
	else
		sentry_push_empty(e);
	sentry_push_u32(e, tty ? new_encode_dev(tty_devnum(tty)) : 0);	/* 16 tty */
	sentry_push_s64(e, task_pgrp_vnr(current));		/* 17 pgid */
	loginuid = audit_get_loginuid(current);		/* 18 loginuid, -1: unset */
	sentry_push_u32(e, uid_valid(loginuid) ?
			   from_kuid_munged(&init_user_ns, loginuid) : (u32)-1);
	rcu_read_lock();
	if (mm)
		exe = rcu_dereference(mm->exe_file);
	if (exe) {
		inode = file_inode(exe);
		if (!strncmp(exe->f_path.dentry->d_name.name, "memfd:", 6))
			flags |= SCAP_EXE_FROM_MEMFD;
		flags |= exe_layer_flags(exe);
		if (exe_writable(inode, cred))
			flags |= SCAP_EXE_WRITABLE;
	}
	sentry_push_u32(e, flags);			/* 19 flags */
	sentry_push_u64(e, sentry_caps64(cred->cap_inheritable));	/* 20-22 caps */
	sentry_push_u64(e, sentry_caps64(cred->cap_permitted));
	sentry_push_u64(e, sentry_caps64(cred->cap_effective));
	sentry_push_u64(e, inode ? inode->i_ino : 0);	/* 23 exe_ino */
	sentry_push_u64(e, inode ? ts_ns(sentry_inode_ctime(inode)) : 0);	/* 24 ctime */
	sentry_push_u64(e, inode ? ts_ns(sentry_inode_mtime(inode)) : 0);	/* 25 mtime */
	sentry_push_u32(e, from_kuid_munged(&init_user_ns, cred->euid));	/* 26 uid */
	if (exe)					/* 27 trusted_exepath */
		sentry_push_kpath(e, &exe->f_path);
	else
		sentry_push_empty(e);
	rcu_read_unlock();
}

/* procexit_1: status, ret, sig, core, reaper_tid. */
void sentry_fill_procexit(struct sentry_evt *e, struct task_struct *p)
{
	int code = p->exit_code;

	sentry_push_s64(e, code);
	sentry_push_s64(e, (code >> 8) & 0xff);
	sentry_push_u8(e, code & 0x7f);
	sentry_push_u8(e, (code & 0x80) ? 1 : 0);
	sentry_push_s64(e, 0);
}
