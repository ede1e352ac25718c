/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe_helpers.h - building one scap-encoded event in a per-CPU scratch area,
 * the task and syscall filters, syscall arguments, files behind descriptors.
 * Included once, by sentry.bpf.c.
 *
 * The scratch area is twice SENTRY_BPF_MAX_EVENT so that any write at an
 * offset masked below SENTRY_BPF_MAX_EVENT stays inside it; that is what the
 * verifier checks, and the real bound (the event size) is checked at submit.
 */
#ifndef SENTRY_PROBE_HELPERS_H
#define SENTRY_PROBE_HELPERS_H

#define EVT_MASK (SENTRY_BPF_MAX_EVENT - 1)
#define STR_MAX 4096			/* one path or one argv/env block */
#define PATH_PARTS 32			/* directory levels walked for cwd */
#define NAME_MAX_LEN 256
#define CGROUP_PARTS 16
#define PARENT_LEVELS 8			/* ancestors walked for the target filter */
#define DATA_MAX 65535			/* largest I/O buffer copied (u16 length) */

/* x & mask, in a way the compiler cannot drop (the verifier needs to see the bound). */
#define BOUNDED(x, mask) ({ __u64 __v = (x); asm volatile("" : "+r"(__v)); __v & (mask); })

struct scratch {
	__u32 busy;			/* set while a program fills this CPU's area */
	/*
	 * The event being built. Kept here rather than on the stack on purpose:
	 * values read back from a map are unknown to the verifier, so the
	 * per-parameter code is verified once instead of once per offset.
	 */
	__u32 off;			/* next byte of parameter data */
	__u32 idx;			/* next parameter */
	__u32 nparams;
	__u32 pf;			/* a user read failed (counted once) */
	__u32 pos;			/* start of the path being built in tmp */
	__u64 args[8];			/* the syscall's arguments, read once per event */
	__s64 file_fd;			/* the descriptor last looked up for this event (or -1) */
	__u64 file;			/* ... and its struct file * */
	__u8 evt[2 * SENTRY_BPF_MAX_EVENT];
	__u8 tmp[2 * STR_MAX];		/* paths are built backwards here */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);	/* one entry per CPU; too big for PERCPU */
	__uint(max_entries, 1);			/* set to the number of CPUs by the loader */
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct ringbuf_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SENTRY_BPF_DEFAULT_RING_BYTES);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);	/* ring of CPU i at index i */
	__uint(max_entries, 1);				/* set by the loader */
	__type(key, __u32);
	__array(values, struct ringbuf_map);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentry_stats);
} stats_map SEC(".maps");

volatile struct sentry_bpf_settings settings;
const volatile struct sentry_bpf_config probe_config SEC(".rodata.sc");

/* One event being built (its state lives in the scratch area). */
struct ev {
	struct scratch *s;
};

static __always_inline struct sentry_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats_map, &zero);
}

/* Claims this CPU's scratch area; NULL (counted) when a program already holds it. */
static __always_inline struct scratch *scratch_get(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct sentry_stats *st;
	struct scratch *s;

	s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return NULL;
	if (s->busy) {
		st = stats();
		if (st)
			__sync_fetch_and_add(&st->n_preemptions, 1);
		return NULL;
	}
	s->busy = 1;
	return s;
}

/* Now, in ns since the epoch (scap's timestamps). */
static __always_inline __u64 epoch_ns(void)
{
	return bpf_ktime_get_boot_ns() + settings.boot_to_epoch_ns;
}

static __always_inline void ev_begin(struct ev *e, struct scratch *s, __u16 type,
				     __u32 nparams, __u64 tid, __u64 ts)
{
	__u8 *h = s->evt;

	e->s = s;
	e->s->idx = 0;
	e->s->pf = 0;
	e->s->nparams = nparams & (SENTRY_MAX_PARAMS - 1);
	e->s->off = SENTRY_EVT_HDR_LEN + 2 * e->s->nparams;
	e->s->file_fd = -1;
	*(__u64 *)&h[SENTRY_EVT_OFF_TS] = ts;
	*(__u64 *)&h[SENTRY_EVT_OFF_TID] = tid;
	*(__u16 *)&h[SENTRY_EVT_OFF_TYPE] = type;
	*(__u32 *)&h[SENTRY_EVT_OFF_NPARAMS] = e->s->nparams;
}

/* Records the length of the parameter just written. */
static __always_inline void ev_len(struct ev *e, __u32 len)
{
	__u32 i = e->s->idx;

	/* past the event's count: not written (process events stop where the table does) */
	if (i >= e->s->nparams || i >= SENTRY_MAX_PARAMS)
		return;
	*(__u16 *)&e->s->evt[(SENTRY_EVT_HDR_LEN + 2 * i) & EVT_MASK] = len;
	e->s->idx = i + 1;
	e->s->off += len;
}

static __always_inline __u32 ev_room(struct ev *e)
{
	return e->s->off < SENTRY_BPF_MAX_EVENT ? SENTRY_BPF_MAX_EVENT - e->s->off : 0;
}

static __always_inline void ev_int(struct ev *e, __u64 v, __u32 size)
{
	__u8 *p = &e->s->evt[e->s->off & EVT_MASK];

	switch (size) {
	case 1:
		*(__u8 *)p = v;
		break;
	case 2:
		*(__u16 *)p = v;
		break;
	case 4:
		*(__u32 *)p = v;
		break;
	default:
		*(__u64 *)p = v;
		size = 8;
		break;
	}
	ev_len(e, size);
}

static __always_inline void ev_empty(struct ev *e)
{
	ev_len(e, 0);
}

/* A NUL-terminated string from user memory; empty (and counted) if unreadable. */
static __always_inline void ev_ustr(struct ev *e, const void *uptr)
{
	long n = 0;

	if (uptr && ev_room(e) >= STR_MAX) {
		n = bpf_probe_read_user_str(&e->s->evt[e->s->off & EVT_MASK], STR_MAX, uptr);
		if (n < 0) {
			e->s->pf = 1;
			n = 0;
		}
	}
	ev_len(e, n);
}

static __always_inline void ev_kstr(struct ev *e, const void *kptr)
{
	long n = 0;

	if (kptr && ev_room(e) >= STR_MAX) {
		n = bpf_probe_read_kernel_str(&e->s->evt[e->s->off & EVT_MASK], STR_MAX, kptr);
		if (n < 0)
			n = 0;
	}
	ev_len(e, n);
}

/* Up to len bytes of user memory (bounded by the snaplen and the room left). */
static __always_inline void ev_ubuf(struct ev *e, const void *uptr, __u64 len, __u32 cap)
{
	__u32 room = ev_room(e);

	if (len > cap)
		len = cap;
	if (len > room)
		len = room;
	if (len > DATA_MAX)
		len = DATA_MAX;
	if (!uptr || !len) {
		ev_len(e, 0);
		return;
	}
	if (bpf_probe_read_user(&e->s->evt[e->s->off & EVT_MASK], len & DATA_MAX, uptr)) {
		e->s->pf = 1;
		len = 0;
	}
	ev_len(e, len);
}

/* Writes the finished event to this CPU's ring; counts it or its drop. */
static __always_inline void ev_write(struct ev *e)
{
	struct sentry_stats *st = stats();
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 len = e->s->off;
	__u64 flags, avail;
	void *ring;

	if (!st)
		return;
	if (len > SENTRY_BPF_MAX_EVENT || e->s->idx != e->s->nparams) {
		__sync_fetch_and_add(&st->n_drops_bug, 1);
		return;
	}
	*(__u32 *)&e->s->evt[SENTRY_EVT_OFF_LEN] = len;
	ring = bpf_map_lookup_elem(&rings, &cpu);
	if (!ring) {
		__sync_fetch_and_add(&st->n_drops_bug, 1);
		return;
	}
	/*
	 * No wakeup per event (each costs an irq_work): the reader polls, and is
	 * woken once, when this event takes the unread data past the threshold.
	 */
	avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	flags = avail < SENTRY_BPF_WAKEUP_BYTES && avail + len >= SENTRY_BPF_WAKEUP_BYTES ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(ring, e->s->evt, BOUNDED(len, 2 * SENTRY_BPF_MAX_EVENT - 1),
			       flags)) {
		__sync_fetch_and_add(&st->n_drops_buffer, 1);
		return;
	}
	__sync_fetch_and_add(&st->n_evts, 1);
	if (e->s->pf)
		__sync_fetch_and_add(&st->n_drops_pf, 1);
}

/* Writes the event, then releases the scratch area (not before: it is the source). */
static __always_inline void ev_submit(struct ev *e)
{
	ev_write(e);
	e->s->busy = 0;
}

/* ---- filtering ---------------------------------------------------------- */

static __always_inline bool in_target_tree(struct task_struct *task, __u32 target)
{
	int i;

	for (i = 0; i < PARENT_LEVELS; i++) {
		if (!task)
			return false;
		if ((__u32)BPF_CORE_READ(task, tgid) == target)
			return true;
		task = BPF_CORE_READ(task, real_parent);
	}
	return false;
}

/* The consumer itself, and everything outside the target tree when one is set. */
static __always_inline bool task_wanted(__u64 pid_tgid)
{
	__u32 tgid = pid_tgid >> 32;
	__u32 target = settings.target_tgid;

	if (!settings.capturing || tgid == settings.exclude_tgid)
		return false;
	if (target && tgid != target &&
	    !in_target_tree((struct task_struct *)bpf_get_current_task(), target))
		return false;
	return true;
}

static __always_inline bool syscall_wanted(__u32 nr)
{
	if (nr >= SENTRY_SYSCALL_NR_MAX)
		return false;
	if (settings.all_syscalls)
		return true;
	return (settings.interest[BOUNDED(nr >> 6, 7)] >> (nr & 63)) & 1;
}

static __always_inline void count_suppressed(void)
{
	struct sentry_stats *st = stats();

	if (st)
		__sync_fetch_and_add(&st->n_suppressed, 1);
}

/* ---- syscall arguments -------------------------------------------------- */

/*
 * The six syscall arguments, copied into the scratch area once per event. A tp_btf
 * program's regs is a BTF pointer, read directly; a raw_tp program's is not: the eight
 * registers r10..di, consecutive in x86-64's pt_regs, are copied with one probe read
 * into the scratch area itself (a copy of pt_regs on the stack, 168 bytes, put the
 * raw_tp exit program over the verifier's 512-byte limit for a program and its
 * bpf_loop callback on 6.1), then put in argument order.
 */
#define REGS_WINDOW 8	/* r10, r9, r8, ax, cx, dx, si, di */
_Static_assert(__builtin_offsetof(struct pt_regs, di) -
	       __builtin_offsetof(struct pt_regs, r10) == (REGS_WINDOW - 1) * 8,
	       "pt_regs: r10..di are not consecutive");

static __always_inline void load_args(struct scratch *s, struct pt_regs *regs, bool btf)
{
	__u64 r10, r9, r8;

	if (btf) {
		s->args[0] = regs->di;
		s->args[1] = regs->si;
		s->args[2] = regs->dx;
		s->args[3] = regs->r10;
		s->args[4] = regs->r8;
		s->args[5] = regs->r9;
		return;
	}
	if (bpf_probe_read_kernel(s->args, REGS_WINDOW * 8, &regs->r10))
		__builtin_memset(s->args, 0, sizeof(s->args));
	r10 = s->args[0];
	r9 = s->args[1];
	r8 = s->args[2];
	s->args[0] = s->args[7];	/* di */
	s->args[1] = s->args[6];	/* si */
	s->args[2] = s->args[5];	/* dx */
	s->args[3] = r10;
	s->args[4] = r8;
	s->args[5] = r9;
	s->args[6] = 0;
	s->args[7] = 0;
}

static __always_inline __u64 ev_arg(struct ev *e, __u32 i)
{
	return e->s->args[i & 7];
}

/* ---- files behind descriptors -------------------------------------------- */

/*
 * Makes a kernel address a (read-only) BTF pointer again: its fields are then read
 * directly. A 6.2+ kfunc, weak so that the probe loads without it: the loader sets
 * probe_config.direct_reads only where the kernel has it, and the verifier drops the
 * code on the other side of that flag (the probe reads, one helper call each).
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * A slot of the fd array, readable directly: struct kiocb is the kernel type that
 * starts with a struct file * (ki_filp), which is all a slot is.
 */
static __always_inline struct kiocb *file_slot(struct file **slot)
{
	return bpf_rdonly_cast(slot, bpf_core_type_id_kernel(struct kiocb));
}

/*
 * The current task's file behind fd. The task is a BTF pointer, read directly down to
 * the fd array; the entry is read directly too where the kernel allows it, else probe-read.
 * Remembered for the event, whose parameters often ask for the same descriptor more
 * than once. Its fields are read directly, or probe-read, as direct_reads says.
 */
static __always_inline struct file *fd_file(struct ev *e, long fd)
{
	struct fdtable *fdt;
	struct file **fds;
	__u64 f = 0;

	if (fd < 0)
		return NULL;
	if (e->s->file_fd == fd) {
		f = e->s->file;
	} else {
		fdt = bpf_get_current_task_btf()->files->fdt;
		if (fdt && (__u64)fd < fdt->max_fds) {
			fds = fdt->fd;
			if (probe_config.direct_reads)
				f = (__u64)file_slot(&fds[fd])->ki_filp;
			else
				bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
		}
		e->s->file_fd = fd;
		e->s->file = f;
	}
	if (!f)
		return NULL;
	if (probe_config.direct_reads)
		return bpf_rdonly_cast((void *)f, bpf_core_type_id_kernel(struct file));
	return (struct file *)f;
}

/* scap's dev encoding: the kernel's new_encode_dev(). */
static __always_inline __u32 encode_dev(__u32 dev)
{
	__u32 major = dev >> 20, minor = dev & ((1U << 20) - 1);

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

static __always_inline __u32 file_dev(struct file *f)
{
	if (!f)
		return 0;
	if (probe_config.direct_reads)
		return encode_dev(f->f_inode->i_sb->s_dev);
	return encode_dev(BPF_CORE_READ(f, f_inode, i_sb, s_dev));
}

static __always_inline __u64 file_ino(struct file *f)
{
	if (!f)
		return 0;
	if (probe_config.direct_reads)
		return f->f_inode->i_ino;
	return BPF_CORE_READ(f, f_inode, i_ino);
}

#define K_FMODE_CREATED	0x100000

/* The open that made this file also created it. */
static __always_inline bool file_created(struct file *f)
{
	if (!f)
		return false;
	if (probe_config.direct_reads)
		return f->f_mode & K_FMODE_CREATED;
	return BPF_CORE_READ(f, f_mode) & K_FMODE_CREATED;
}

/* The idx'th 8- or 4-byte word of a user array (0 when uptr is NULL). */
static __always_inline __u64 uptr_u64(__u64 uptr, __u32 idx)
{
	__u64 v = 0;

	if (uptr)
		bpf_probe_read_user(&v, sizeof(v), (void *)(uptr + 8 * (idx & 7)));
	return v;
}

static __always_inline __u32 uptr_u32(__u64 uptr, __u32 idx)
{
	__u32 v = 0;

	if (uptr)
		bpf_probe_read_user(&v, sizeof(v), (void *)(uptr + 4 * (idx & 7)));
	return v;
}

#endif /* SENTRY_PROBE_HELPERS_H */
