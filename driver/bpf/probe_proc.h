/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe_proc.h - the process record of clone/fork/execve exits: memory counters,
 * cwd and cgroup paths, credentials, terminal, namespaces' ids.
 * Included once, by sentry.bpf.c, after probe_helpers.h.
 */
#ifndef SENTRY_PROBE_PROC_H
#define SENTRY_PROBE_PROC_H

#define K_RLIMIT_NOFILE	7
#define K_PIDTYPE_PGID	2

/*
 * kernfs_node named its parent link "parent" before 6.15, "__parent" since (CO-RE
 * flavours: neither field is named on struct kernfs_node itself, so the probe compiles
 * against any kernel's vmlinux.h, as it must where it is built at first use).
 */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

/* ---- memory counters ------------------------------------------------------ */

/* The rss counters: atomics in struct mm_rss_stat before 6.2, percpu counters since
 * (CO-RE flavours, for vmlinux.h of either). */
struct mm_struct___old {
	struct {
		atomic_long_t count[4];
	} rss_stat;
} __attribute__((preserve_access_index));

struct mm_struct___new {
	struct percpu_counter rss_stat[4];
} __attribute__((preserve_access_index));

static __always_inline __u64 mm_counter(struct mm_struct *mm, int i)
{
	struct mm_struct___old *old = (void *)mm;
	struct mm_struct___new *new = (void *)mm;
	s64 v = 0;

	if (bpf_core_field_exists(new->rss_stat[0].count))
		v = BPF_CORE_READ(new, rss_stat[i].count);
	else if (bpf_core_field_exists(old->rss_stat))
		v = BPF_CORE_READ(old, rss_stat.count[i].counter);
	return v > 0 ? v : 0;
}

/* vm_size, vm_rss or vm_swap of the current task, in KiB. */
static __always_inline __u32 task_vm(struct task_struct *task, __u32 which)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 pages;

	if (!mm)
		return 0;
	if (which == 0)
		pages = BPF_CORE_READ(mm, total_vm);
	else if (which == 1)	/* MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES */
		pages = mm_counter(mm, 0) + mm_counter(mm, 1) + mm_counter(mm, 3);
	else
		pages = mm_counter(mm, 2);
	return pages << 2;	/* 4 KiB pages */
}


/* ---- process records ----------------------------------------------------------- */

/* A block of user memory [start, end) as one parameter (argv or environ). */
static __always_inline void ev_user_block(struct ev *e, __u64 start, __u64 end)
{
	__u64 len = end > start ? end - start : 0;

	if (len > STR_MAX)
		len = STR_MAX;
	ev_ubuf(e, (void *)start, len, STR_MAX);
}

struct path_ctx {
	struct scratch *s;
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
	struct path root;	/* the task's root (chroot): the walk ends there, as d_path's */
};

/* Prepends "/" + one name to the path in tmp (s->pos moves down); 1 stops the walk. */
static __always_inline long prepend_name(struct scratch *s, const unsigned char *name,
					 __u32 len)
{
	__u32 pos = s->pos;

	len &= NAME_MAX_LEN - 1;
	if (pos > STR_MAX - 1 || len + 1 > pos)
		return 1;
	pos -= len;
	bpf_probe_read_kernel(&s->tmp[BOUNDED(pos, STR_MAX - 1)], len, name);
	pos -= 1;
	s->tmp[BOUNDED(pos, STR_MAX - 1)] = '/';
	s->pos = pos;
	return 0;
}

static long path_step(__u64 i, struct path_ctx *c)
{
	struct dentry *dentry = c->dentry;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	struct mount *mnt = c->mnt;
	struct qstr name;

	if (dentry == c->root.dentry && &mnt->mnt == c->root.mnt)
		return 1;
	if (dentry == c->mnt_root || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt || !up)
			return 1;	/* the root of everything */
		c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = up;
		c->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
		return 0;
	}
	name = BPF_CORE_READ(dentry, d_name);
	c->dentry = parent;
	return prepend_name(c->s, name.name, name.len);
}

/*
 * Builds /a/b/c of a dentry under a vfsmount, seen from root (a task's root), at the end
 * of tmp; returns its start.
 */
static __always_inline __u32 build_path(struct scratch *s, struct dentry *dentry,
					struct vfsmount *vfsmnt, struct path root)
{
	struct path_ctx c = {
		.s = s,
		.dentry = dentry,
		.mnt = container_of(vfsmnt, struct mount, mnt),
		.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root),
		.root = root,
	};

	s->tmp[STR_MAX - 1] = 0;
	s->pos = STR_MAX - 1;
	bpf_loop(PATH_PARTS, path_step, &c, 0);
	if (s->pos >= STR_MAX - 1) {
		s->pos = STR_MAX - 2;
		s->tmp[STR_MAX - 2] = '/';
	}
	return s->pos;
}

static __always_inline void ev_tmp_str(struct ev *e, __u32 pos)
{
	long n = 0;

	if (ev_room(e) >= STR_MAX)
		n = bpf_probe_read_kernel_str(&e->s->evt[e->s->off & EVT_MASK], STR_MAX,
					      &e->s->tmp[BOUNDED(pos, STR_MAX - 1)]);
	ev_len(e, n > 0 ? n : 0);
}

static __always_inline void ev_cwd(struct ev *e, struct task_struct *task)
{
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct path pwd, root;

	if (!fs) {
		ev_len(e, 0);
		return;
	}
	pwd = BPF_CORE_READ(fs, pwd);
	root = BPF_CORE_READ(fs, root);
	ev_tmp_str(e, build_path(e->s, pwd.dentry, pwd.mnt, root));
}

/* The path of the program's file (mm->exe_file), as far as the task's root. */
static __always_inline void ev_exe_path(struct ev *e, struct task_struct *task,
					struct file *exe)
{
	struct path root;

	if (!exe) {
		ev_len(e, 0);
		return;
	}
	root = BPF_CORE_READ(task, fs, root);
	ev_tmp_str(e, build_path(e->s, BPF_CORE_READ(exe, f_path.dentry),
				 BPF_CORE_READ(exe, f_path.mnt), root));
}

struct cgroup_ctx {
	struct scratch *s;
	struct kernfs_node *kn;
};

static long cgroup_step(__u64 i, struct cgroup_ctx *c)
{
	struct kernfs_node *kn = c->kn, *parent;
	const char *name;
	long len;

	if (!kn)
		return 1;
	if (bpf_core_field_exists(((struct kernfs_node___new *)kn)->__parent))
		parent = BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	else
		parent = BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
	if (!parent)
		return 1;	/* the root's own name is not part of the path */
	name = BPF_CORE_READ(kn, name);
	len = bpf_probe_read_kernel_str(&c->s->tmp[STR_MAX], NAME_MAX_LEN, name);
	if (len <= 1)
		return 1;
	c->kn = parent;
	return prepend_name(c->s, (const unsigned char *)name, len - 1);
}

/* Appends "name=<path in tmp>\0" to the parameter being built; false once it is full. */
static __always_inline bool cgroup_entry(struct ev *e, const char *name, __u32 nlen,
					 __u32 *used)
{
	struct scratch *s = e->s;
	__u32 pos = s->pos, plen, at;

	if (pos > STR_MAX - 1)
		return false;
	plen = STR_MAX - pos;		/* the path and its NUL */
	if (*used + nlen + 1 + plen > STR_MAX || ev_room(e) < STR_MAX)
		return false;
	at = s->off + *used;
	__builtin_memcpy(&s->evt[at & EVT_MASK], name, nlen);
	s->evt[(at + nlen) & EVT_MASK] = '=';
	bpf_probe_read_kernel(&s->evt[(at + nlen + 1) & EVT_MASK], BOUNDED(plen, STR_MAX - 1),
			      &s->tmp[BOUNDED(pos, STR_MAX - 1)]);
	*used += nlen + 1 + plen;
	return true;
}

#define CGROUP_ENTRY(e, name, used) cgroup_entry(e, name, sizeof(name) - 1, used)

/*
 * cgroups as scap lists them, "controller=path" entries: cgroup v2 has one
 * hierarchy, so every controller gets its path (as the kernel module does).
 */
static __always_inline void ev_cgroups(struct ev *e, struct task_struct *task)
{
	struct cgroup_ctx c = { .s = e->s, .kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn) };
	struct scratch *s = e->s;
	__u32 used = 0;

	s->tmp[STR_MAX - 1] = 0;
	s->pos = STR_MAX - 1;
	bpf_loop(CGROUP_PARTS, cgroup_step, &c, 0);
	if (s->pos >= STR_MAX - 1) {
		s->pos = STR_MAX - 2;
		s->tmp[STR_MAX - 2] = '/';
	}
	CGROUP_ENTRY(e, "cpuset", &used) && CGROUP_ENTRY(e, "cpu", &used) &&
	CGROUP_ENTRY(e, "cpuacct", &used) && CGROUP_ENTRY(e, "io", &used) &&
	CGROUP_ENTRY(e, "memory", &used) && CGROUP_ENTRY(e, "devices", &used) &&
	CGROUP_ENTRY(e, "freezer", &used) && CGROUP_ENTRY(e, "net_cls", &used) &&
	CGROUP_ENTRY(e, "perf_event", &used) && CGROUP_ENTRY(e, "net_prio", &used) &&
	CGROUP_ENTRY(e, "hugetlb", &used) && CGROUP_ENTRY(e, "pids", &used) &&
	CGROUP_ENTRY(e, "rdma", &used) && CGROUP_ENTRY(e, "misc", &used);
	ev_len(e, used);
}

static __always_inline __u32 task_tty(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	__u32 major, minor;

	if (!tty)
		return 0;
	major = BPF_CORE_READ(tty, driver, major);
	minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return encode_dev((major << 20) | minor);
}

static __always_inline __u32 task_vnr(struct task_struct *task, bool tgid)
{
	struct pid *pid = tgid ? BPF_CORE_READ(task, group_leader, thread_pid)
			       : BPF_CORE_READ(task, thread_pid);
	__u32 level;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	return BPF_CORE_READ(pid, numbers[level & 31].nr);
}

static __always_inline __u32 task_loginuid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))	/* CONFIG_AUDIT */
		return BPF_CORE_READ(task, loginuid.val);
	return (__u32)-1;
}

/*
 * The overlayfs layer of the program: an overlay inode (struct ovl_inode, private to
 * overlayfs, so not in vmlinux's BTF) holds the upper dentry right after its vfs inode;
 * set when the file lives in the upper (writable) layer.
 */
static __always_inline __u32 exe_layer_flags(struct file *exe)
{
	struct dentry *dentry = BPF_CORE_READ(exe, f_path.dentry);
	char *inode;
	void *upper = NULL;

	if (BPF_CORE_READ(dentry, d_sb, s_magic) != K_OVERLAYFS_SUPER_MAGIC)
		return 0;
	inode = (char *)BPF_CORE_READ(dentry, d_inode);
	if (!inode)
		return 0;
	bpf_probe_read_kernel(&upper, sizeof(upper), inode + bpf_core_type_size(struct inode));
	return upper ? SCAP_EXE_UPPER_LAYER : SCAP_EXE_LOWER_LAYER;
}

#define K_CAP_DAC_OVERRIDE 1

/* Can the task (its new credentials) write the program's file: as libs, when it owns it,
 * when the group or other write bit is its, or with CAP_DAC_OVERRIDE. */
static __always_inline bool exe_writable(struct inode *inode, const struct cred *cred)
{
	__u16 mode = BPF_CORE_READ(inode, i_mode);
	__u64 caps = 0;

	if (BPF_CORE_READ(cred, fsuid.val) == BPF_CORE_READ(inode, i_uid.val))
		return true;
	if (BPF_CORE_READ(cred, fsgid.val) == BPF_CORE_READ(inode, i_gid.val) ?
	    (mode & 0020) : (mode & 0002))
		return true;
	bpf_probe_read_kernel(&caps, sizeof(caps), &cred->cap_effective);
	return caps & (1ULL << K_CAP_DAC_OVERRIDE);
}

/* execve flags: the program runs from a memfd ("memfd:" files), its overlayfs layer,
 * whether the task may write it. */
static __always_inline __u32 exe_flags(struct file *exe, const struct cred *cred)
{
	struct inode *inode;
	char name[6] = {};
	__u32 flags;

	if (!exe)
		return 0;
	flags = exe_layer_flags(exe);
	inode = BPF_CORE_READ(exe, f_inode);
	if (inode && exe_writable(inode, cred))
		flags |= SCAP_EXE_WRITABLE;
	bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' &&
	    name[4] == 'd' && name[5] == ':')
		flags |= SCAP_EXE_FROM_MEMFD;
	return flags;
}

/* Inode times moved: i_ctime until 6.6, __i_ctime 6.6-6.10, i_ctime_sec/_nsec since 6.11
 * (mtime: i_mtime until 6.7, __i_mtime 6.7-6.10); CO-RE flavours of each layout. */
struct inode___ts_old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

struct inode___ts_66 {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

struct inode___ts_611 {
	time64_t i_ctime_sec;
	__u32 i_ctime_nsec;
	time64_t i_mtime_sec;
	__u32 i_mtime_nsec;
} __attribute__((preserve_access_index));

#define K_NSEC_PER_SEC 1000000000ULL

/* ctime (mtime = false) or mtime of an inode, ns since the epoch; 0 without an inode. */
static __always_inline __u64 inode_time_ns(struct inode *inode, bool ctime)
{
	struct inode___ts_611 *v611 = (void *)inode;
	struct inode___ts_66 *v66 = (void *)inode;
	struct inode___ts_old *old = (void *)inode;
	__u64 sec = 0, nsec = 0;

	if (!inode)
		return 0;
	if (bpf_core_field_exists(v611->i_ctime_sec)) {
		sec = ctime ? BPF_CORE_READ(v611, i_ctime_sec) : BPF_CORE_READ(v611, i_mtime_sec);
		nsec = ctime ? BPF_CORE_READ(v611, i_ctime_nsec) : BPF_CORE_READ(v611, i_mtime_nsec);
		return sec * K_NSEC_PER_SEC + nsec;
	}
	if (ctime && bpf_core_field_exists(v66->__i_ctime)) {
		sec = BPF_CORE_READ(v66, __i_ctime.tv_sec);
		nsec = BPF_CORE_READ(v66, __i_ctime.tv_nsec);
	} else if (!ctime && bpf_core_field_exists(v66->__i_mtime)) {
		sec = BPF_CORE_READ(v66, __i_mtime.tv_sec);
		nsec = BPF_CORE_READ(v66, __i_mtime.tv_nsec);
	} else if (ctime && bpf_core_field_exists(old->i_ctime)) {
		sec = BPF_CORE_READ(old, i_ctime.tv_sec);
		nsec = BPF_CORE_READ(old, i_ctime.tv_nsec);
	} else if (!ctime && bpf_core_field_exists(old->i_mtime)) {
		sec = BPF_CORE_READ(old, i_mtime.tv_sec);
		nsec = BPF_CORE_READ(old, i_mtime.tv_nsec);
	}
	return sec * K_NSEC_PER_SEC + nsec;
}

/* A capability set as one u64: kernel_cap_t is a u64 since 6.3, two u32 words (low
 * first) before; either way 8 little-endian bytes, which scap's bits are. */
static __always_inline __u64 cred_caps(const kernel_cap_t *caps)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), caps);
	return v;
}

/* The start of the task's pid namespace init (its child reaper), ns since the epoch. */
static __always_inline __u64 pidns_init_start(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	__u32 level;
	struct task_struct *reaper;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	reaper = BPF_CORE_READ(pid, numbers[level & 31].ns, child_reaper);
	if (!reaper)
		return 0;
	return BPF_CORE_READ(reaper, start_boottime) + settings.boot_to_epoch_ns;
}

/* The process-group id as seen from the task's own pid namespace. */
static __always_inline __u64 task_pgid_vnr(struct task_struct *task)
{
	struct pid *pgrp = BPF_CORE_READ(task, signal, pids[K_PIDTYPE_PGID]);
	__u32 level = BPF_CORE_READ(task, thread_pid, level);

	return pgrp ? BPF_CORE_READ(pgrp, numbers[level & 31].nr) : 0;
}

/* The task's command name (comm), NUL-terminated. */
static __always_inline void ev_comm(struct ev *e)
{
	char comm[16];
	long n = 0;

	if (!bpf_get_current_comm(comm, sizeof(comm)) && ev_room(e) >= sizeof(comm))
		n = bpf_probe_read_kernel_str(&e->s->evt[e->s->off & EVT_MASK], sizeof(comm), comm);
	ev_len(e, n > 0 ? n : 0);
}

/* The process record shared by clone/fork/vfork/clone3 and execve/execveat exits. */
static __always_inline void emit_proc(struct ev *e, long ret,
				      __u32 nr, bool exec)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	const struct cred *cred = BPF_CORE_READ(task, cred);
	struct file *exe = mm ? BPF_CORE_READ(mm, exe_file) : NULL;
	__u64 arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
	struct inode *inode;
	long exe_len = 0;
	__u64 flags = 0;

	ev_int(e, ret, 8);					/* res */
	if (mm) {
		arg_start = BPF_CORE_READ(mm, arg_start);
		arg_end = BPF_CORE_READ(mm, arg_end);
		env_start = BPF_CORE_READ(mm, env_start);
		env_end = BPF_CORE_READ(mm, env_end);
	}
	/* exe: argv[0], or the command name of a process without arguments */
	if (arg_end > arg_start && ev_room(e) >= STR_MAX) {
		exe_len = bpf_probe_read_user_str(&e->s->evt[e->s->off & EVT_MASK], STR_MAX,
						  (void *)arg_start);
		if (exe_len < 0) {
			e->s->pf = 1;
			exe_len = 0;
		}
		ev_len(e, exe_len);
	} else {
		ev_comm(e);
	}
	ev_user_block(e, arg_start + exe_len, arg_end);		/* args */
	ev_int(e, BPF_CORE_READ(task, pid), 8);			/* tid */
	ev_int(e, BPF_CORE_READ(task, tgid), 8);		/* pid */
	ev_int(e, BPF_CORE_READ(task, real_parent, pid), 8);	/* ptid */
	ev_cwd(e, task);					/* cwd */
	ev_int(e, BPF_CORE_READ(task, signal, rlim[K_RLIMIT_NOFILE].rlim_cur), 8);
	ev_int(e, BPF_CORE_READ(task, maj_flt), 8);
	ev_int(e, BPF_CORE_READ(task, min_flt), 8);
	ev_int(e, task_vm(task, 0), 4);
	ev_int(e, task_vm(task, 1), 4);
	ev_int(e, task_vm(task, 2), 4);
	ev_comm(e);						/* comm */
	ev_cgroups(e, task);					/* cgroups */
	if (exec) {
		ev_user_block(e, env_start, env_end);		/* env */
		ev_int(e, task_tty(task), 4);			/* tty */
		ev_int(e, task_pgid_vnr(task), 8);			/* pgid */
		ev_int(e, task_loginuid(task), 4);			/* loginuid */
		ev_int(e, exe_flags(exe, cred), 4);			/* flags */
		ev_int(e, cred_caps(&cred->cap_inheritable), 8);	/* caps */
		ev_int(e, cred_caps(&cred->cap_permitted), 8);
		ev_int(e, cred_caps(&cred->cap_effective), 8);
		inode = exe ? BPF_CORE_READ(exe, f_inode) : NULL;
		ev_int(e, inode ? BPF_CORE_READ(inode, i_ino) : 0, 8);	/* exe_ino */
		ev_int(e, inode_time_ns(inode, true), 8);		/* exe_ino_ctime */
		ev_int(e, inode_time_ns(inode, false), 8);		/* exe_ino_mtime */
		ev_int(e, BPF_CORE_READ(cred, euid.val), 4);		/* uid */
		ev_exe_path(e, task, exe);				/* trusted_exepath */
		return;
	}
	if (nr == __NR_clone)
		flags = ev_arg(e, 0);
	else if (nr == __NR_clone3)
		flags = uptr_u64(ev_arg(e, 0), 0);
	else if (nr == __NR_vfork)
		flags = K_CLONE_VFORK | K_CLONE_VM;
	ev_int(e, scap_clone_flags(flags), 4);		/* flags */
	ev_int(e, BPF_CORE_READ(cred, euid.val), 4);		/* uid */
	ev_int(e, BPF_CORE_READ(cred, egid.val), 4);		/* gid */
	ev_int(e, task_vnr(task, false), 8);			/* vtid */
	ev_int(e, task_vnr(task, true), 8);			/* vpid */
	ev_int(e, pidns_init_start(task), 8);			/* pidns_init_start_ts */
}

#endif /* SENTRY_PROBE_PROC_H */
