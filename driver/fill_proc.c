// SPDX-License-Identifier: GPL-2.0
/*
 * fill_proc.c - fillers of process syscalls: clone family, execve, procexit,
 * credentials, namespaces, signals, modules, memory and limits.
 *
 * A filler pushes the parameters its event type declares, in scap's layout; it may push
 * more than an older event generation declares (extra ones are ignored), never fewer.
 * Paths and buffers are read at syscall exit, when the syscall itself has faulted them
 * in; every user access goes through sentry_copy_user()/sentry_push_ustr(), which fail
 * instead of sleeping.
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

static void execve_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_path(e, a->a[0]);
}

static void execveat_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_u32(e, scap_execveat_flags(a->a[4]));
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

	sentry_push_res(e, a);
	sentry_push_u64(e, sentry_caps64(cred->cap_inheritable));
	sentry_push_u64(e, sentry_caps64(cred->cap_permitted));
	sentry_push_u64(e, sentry_caps64(cred->cap_effective));
}

/* ptrace: addr and data are PT_DYN, index 0 = plain u64. */
static void ptrace_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u16(e, scap_ptrace_request(a->a[0]));
	sentry_push_s64(e, (int)a->a[1]);
}

static void push_dyn_u64(struct sentry_evt *e, u64 v)
{
	u8 buf[9];

	buf[0] = SCAP_PTRACE_IDX_UINT64;
	memcpy(buf + 1, &v, 8);
	sentry_push_raw(e, buf, sizeof(buf));
}

static void ptrace_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	push_dyn_u64(e, a->a[2]);
	push_dyn_u64(e, a->a[3]);
}

/* mounts and namespaces */
static void mount_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, scap_mount_flags(a->a[3]));
}

static void mount_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_path(e, a->a[0]);
	sentry_push_path(e, a->a[1]);
	sentry_push_ustr(e, a->a[2], 64);
}

static void umount2_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->a[1]);
}

static void setns_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u32(e, scap_clone_flags(a->a[1]));
}

static void unshare_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, scap_clone_flags(a->a[0]));
}

/* signals */
static void kill_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u8(e, a->a[1]);
}

static void tgkill_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_s64(e, (int)a->a[1]);
	sentry_push_u8(e, a->a[2]);
}

/* modules, bpf, memfd */
static void init_module_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_data(e, a->a[0], a->a[1]);
	sentry_push_u64(e, a->a[1]);
	sentry_push_ustr(e, a->a[2], 1024);
}

static void finit_module_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_ustr(e, a->a[1], 1024);
	sentry_push_u32(e, a->a[2]);
}

static void bpf_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
}

/* res_or_fd is PT_DYN: index 0 = a new fd (map/prog creation), 1 = errno. */
static void bpf_x(struct sentry_evt *e, struct sentry_args *a)
{
	bool fd = a->ret >= 0 && (a->a[0] == BPF_MAP_CREATE || a->a[0] == BPF_PROG_LOAD);
	u8 buf[9];

	buf[0] = fd ? SCAP_BPF_IDX_FD : SCAP_BPF_IDX_RES;
	memcpy(buf + 1, &a->ret, 8);
	sentry_push_raw(e, buf, sizeof(buf));
}

static void memfd_create_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
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
	sentry_push_s64(e, (int)a->a[4]);
	sentry_push_u64(e, a->a[5]);
}

static void mmap_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_mm_sizes(e);
}

/* prctl: option, and arg2 as a string (PR_SET_NAME/GET_NAME) or an integer. */
static void prctl_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	sentry_push_u32(e, a->a[0]);
	if (a->a[0] == PR_SET_NAME || a->a[0] == PR_GET_NAME) {
		sentry_push_ustr(e, a->a[1], TASK_COMM_LEN);
		sentry_push_s64(e, 0);
	} else {
		sentry_push_empty(e);
		sentry_push_s64(e, a->a[1]);
	}
}

static void addr_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u64(e, a->a[0]);
}

static void addr_len_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u64(e, a->a[0]);
	sentry_push_u64(e, a->a[1]);
}

static void pid_pgid_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_s64(e, (int)a->a[1]);
}

static void nanosleep_e(struct sentry_evt *e, struct sentry_args *a)
{
	struct __kernel_timespec ts = { 0 };

	if (sentry_copy_user(&ts, a->a[0], sizeof(ts)))
		e->pf = true;
	sentry_push_u64(e, (u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec);
}

static void u8_arg0_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u8(e, a->a[0]);
}

/* The struct rlimit64 at uptr as (cur, max); -1 each if absent or unreadable. */
static void push_rlimit(struct sentry_evt *e, unsigned long uptr, bool readable)
{
	struct { u64 cur, max; } rl = { (u64)-1, (u64)-1 };

	if (uptr && readable && sentry_copy_user(&rl, uptr, sizeof(rl)))
		e->pf = true;
	sentry_push_s64(e, (s64)rl.cur);
	sentry_push_s64(e, (s64)rl.max);
}

static void rlimit_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	push_rlimit(e, a->a[1], a->ret == 0 || a->nr == __NR_setrlimit);
}

static void prlimit_e(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_s64(e, (int)a->a[0]);
	sentry_push_u8(e, a->a[1]);
}

static void prlimit_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_res(e, a);
	push_rlimit(e, a->a[2], true);
	push_rlimit(e, a->a[3], a->ret == 0);
}

/* getuid/geteuid/getgid/getegid: the id is the return value. */
static void id_ret_x(struct sentry_evt *e, struct sentry_args *a)
{
	sentry_push_u32(e, a->ret);
}


const struct sentry_filler_entry sentry_fill_proc_table[] = {
	{ __NR_execve, execve_e, execve_x },
	{ __NR_execveat, execveat_e, execve_x },
	{ __NR_clone, sentry_fill_none, clone_x },
	{ __NR_clone3, sentry_fill_none, clone3_x },
	{ __NR_fork, sentry_fill_none, fork_x },
	{ __NR_vfork, sentry_fill_none, vfork_x },
	{ __NR_setuid, id0_e, sentry_fill_res_x },
	{ __NR_setgid, id0_e, sentry_fill_res_x },
	{ __NR_setresuid, id012_e, sentry_fill_res_x },
	{ __NR_setresgid, id012_e, sentry_fill_res_x },
	{ __NR_capset, sentry_fill_none, capset_x },
	{ __NR_ptrace, ptrace_e, ptrace_x },
	{ __NR_mount, mount_e, mount_x },
	{ __NR_umount2, umount2_e, sentry_fill_res_path0_x },
	{ __NR_setns, setns_e, sentry_fill_res_x },
	{ __NR_unshare, unshare_e, sentry_fill_res_x },
	{ __NR_kill, kill_e, sentry_fill_res_x },
	{ __NR_tkill, kill_e, sentry_fill_res_x },
	{ __NR_tgkill, tgkill_e, sentry_fill_res_x },
	{ __NR_init_module, sentry_fill_none, init_module_x },
	{ __NR_finit_module, sentry_fill_none, finit_module_x },
	{ __NR_bpf, bpf_e, bpf_x },
	{ __NR_memfd_create, sentry_fill_none, memfd_create_x },
	{ __NR_mprotect, mprotect_e, sentry_fill_res_x },
	{ __NR_mmap, mmap_e, mmap_x },
	{ __NR_prctl, sentry_fill_none, prctl_x },
	{ __NR_brk, addr_e, mmap_x },
	{ __NR_munmap, addr_len_e, mmap_x },
	{ __NR_setpgid, pid_pgid_e, sentry_fill_res_x },
	{ __NR_nanosleep, nanosleep_e, sentry_fill_res_x },
	{ __NR_getrlimit, u8_arg0_e, rlimit_x },
	{ __NR_setrlimit, u8_arg0_e, rlimit_x },
	{ __NR_prlimit64, prlimit_e, prlimit_x },
	{ __NR_seccomp, addr_e, sentry_fill_res_x },
	{ __NR_getuid, sentry_fill_none, id_ret_x },
	{ __NR_geteuid, sentry_fill_none, id_ret_x },
	{ __NR_getgid, sentry_fill_none, id_ret_x },
	{ __NR_getegid, sentry_fill_none, id_ret_x },
	{ __NR_setsid, sentry_fill_none, sentry_fill_res_x },
	{ -1 }
};
