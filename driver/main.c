// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - load/unload of sentry.ko and the tracepoint probes.
 *
 * sys_enter, sys_exit and sched_process_exit are not exported to modules:
 * they are found by name with for_each_kernel_tracepoint() and attached while
 * at least one /dev/sentryN is open, detached when the last one closes. The
 * module cannot be unloaded while a device is open or mapped (the file holds
 * a module reference through fops->owner), so a reader never outlives us.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/tracepoint.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <asm/syscall.h>
#include <asm/compat.h>
#include "sentry.h"
#include "syscall_events.h"
#include "sentry_sampling.h"
#include "sentry_compat_syscalls.h"

unsigned long ring_bytes = 8UL << 20;
module_param(ring_bytes, ulong, 0444);
MODULE_PARM_DESC(ring_bytes, "bytes of each per-CPU ring, a power of two >= 64 KiB (default 8 MiB)");

struct sentry_config sentry_cfg;

static DEFINE_MUTEX(sentry_lock);	/* protects users, tracepoint state, sentry_cfg writes */
static unsigned int users;		/* open devices */

static struct tracepoint *tp_sys_enter, *tp_sys_exit, *tp_proc_exit;

static void config_defaults(void)
{
	WRITE_ONCE(sentry_cfg.capturing, false);
	sentry_cfg.snaplen = SENTRY_DEFAULT_SNAPLEN;
	sentry_cfg.sampling = 1;
	sentry_cfg.exclude_tgid = 0;
	bitmap_fill(sentry_cfg.interest, SENTRY_SYSCALL_NR_MAX);
}

/*
 * The ring of this CPU, or NULL (with a count) if we are re-entered on it.
 * Tracepoint probes run with preemption off, so only a nested probe on this
 * CPU can contend; the cmpxchg (a full barrier) makes the claim exclusive.
 */
static struct sentry_ring *ring_enter(void)
{
	struct sentry_ring *ring = sentry_ring_get(smp_processor_id());

	if (!ring)
		return NULL;
	if (atomic_cmpxchg(&ring->in_use, 0, 1) != 0) {
		ring->ctrl->n_preemptions++;
		return NULL;
	}
	return ring;
}

static void ring_leave(struct sentry_ring *ring)
{
	atomic_set_release(&ring->in_use, 0);	/* ends our writes to this ring */
}

/*
 * Sampling (sentry_sampling.h): bits of the syscalls kept or dropped whatever the
 * phase of the second; SENTRY_INTEREST_PROCEXIT is never dropped. Set once at load.
 */
static DECLARE_BITMAP(never_drop, SENTRY_SYSCALL_NR_MAX);
static DECLARE_BITMAP(always_drop, SENTRY_SYSCALL_NR_MAX);

static void sampling_init(void)
{
#define SET_NEVER_DROP(name) __set_bit(__NR_##name, never_drop);
#define SET_ALWAYS_DROP(name) __set_bit(__NR_##name, always_drop);
	SENTRY_NEVER_DROP_SYSCALLS(SET_NEVER_DROP)
	SENTRY_ALWAYS_DROP_SYSCALLS(SET_ALWAYS_DROP)
#undef SET_NEVER_DROP
#undef SET_ALWAYS_DROP
	__set_bit(SENTRY_INTEREST_PROCEXIT, never_drop);
}

/* Does sampling leave out this event (bit: syscall number or SENTRY_INTEREST_PROCEXIT)? */
static bool sampled_out(long bit, u64 ts)
{
	u32 sampling = READ_ONCE(sentry_cfg.sampling);

	if (sampling <= 1 || test_bit(bit, never_drop))
		return false;
	return test_bit(bit, always_drop) || (ts % NSEC_PER_SEC) >= NSEC_PER_SEC / sampling;
}

/*
 * Should this event be written? What the interest set or sampling leaves out counts as
 * suppressed; the consumer's own events (EXCLUDE_TGID) are not counted, as in the probe.
 */
static bool wanted(struct sentry_ring *ring, long bit, u64 ts)
{
	pid_t excl = READ_ONCE(sentry_cfg.exclude_tgid);

	if (excl && current->tgid == excl)
		return false;
	/* interest words are replaced whole (WRITE_ONCE): either set is fine */
	if (!test_bit(bit, sentry_cfg.interest) || sampled_out(bit, ts)) {
		ring->ctrl->n_suppressed++;
		return false;
	}
	return true;
}

/*
 * A 32-bit call as its x86_64 counterpart (sentry_compat_syscalls.h): a->nr becomes the
 * x86_64 number, a->a[] its arguments (ia32: the low halves of ebx..ebp, as the kernel's
 * own compat entry reads them; socketcall: the array its second argument points to).
 * Returns -1 for a call with no counterpart, else whether only the generic event reads
 * it right.
 */
static int compat_args(struct pt_regs *regs, struct sentry_args *a, bool ia32)
{
	u32 v[6] = { 0 };
	int i, m;

	m = sentry_compat_map(a->nr, ia32);
	if (ia32 && a->nr == SENTRY_IA32_NR_SOCKETCALL) {
		/* socketcall(call, args): u32 args[] at ecx; unreadable: dropped */
		u32 call = regs->bx;

		if (call >= SENTRY_SOCKETCALL_MAX || !sentry_socketcalls[call] ||
		    sentry_copy_user(v, (u32)regs->cx, sentry_socketcall_nargs[call] * 4))
			return -1;
		m = sentry_socketcalls[call] & (SENTRY_COMPAT_NR_MASK | SENTRY_COMPAT_GENERIC);
	} else if (m >= 0 && ia32) {
		syscall_get_arguments(current, regs, a->a);	/* bx, cx, dx, si, di, bp */
		for (i = 0; i < 6; i++)
			v[i] = a->a[i];
	} else if (m >= 0) {
		syscall_get_arguments(current, regs, a->a);	/* x32: 64-bit registers */
	}
	if (m < 0)
		return -1;
	if (ia32)
		for (i = 0; i < 6; i++)
			a->a[i] = v[i];
	a->nr = m & SENTRY_COMPAT_NR_MASK;
	return !!(m & SENTRY_COMPAT_GENERIC);
}

static void emit_syscall(struct pt_regs *regs, long ret, bool is_exit)
{
	struct sentry_ring *ring;
	struct sentry_args args;
	struct sentry_evt e;
	bool dedicated, compat, generic_only = false;
	u16 type;
	u32 np;

	/*
	 * A successful execveat exits under execve's number: its exit is an
	 * execve exit, as scap reports it; a failed one stays execveat's.
	 */
	args.nr = syscall_get_nr(current, regs);
	compat = in_ia32_syscall() || in_x32_syscall();
	if (compat) {
		/* 32-bit and x32 calls become their x86_64 counterparts */
		int m = compat_args(regs, &args, in_ia32_syscall());

		if (m < 0) {
			/* none: dropped, counted as suppressed (not the consumer's) */
			if (READ_ONCE(sentry_cfg.exclude_tgid) == current->tgid)
				return;
			ring = ring_enter();
			if (ring) {
				ring->ctrl->n_suppressed++;
				ring_leave(ring);
			}
			return;
		}
		generic_only = m;
	}
	if (args.nr < 0 || args.nr >= SENTRY_SYSCALL_NR_MAX)
		return;
	ring = ring_enter();
	if (!ring)
		return;
	args.ts = ktime_get_real_ns();
	if (!wanted(ring, args.nr, args.ts))
		goto out;
	/* the event the recipe table names, unless only the generic one reads a 32-bit call */
	dedicated = !generic_only && sentry_spec_event(args.nr, is_exit, &type, &np);
	if (!dedicated) {
		type = is_exit ? SE_GENERIC_X : SE_GENERIC_E;
		np = is_exit ? 1 : 2;
	}
	if (!sentry_evt_begin(&e, ring, type, np, args.ts))
		goto out;
	if (dedicated) {
		args.regs = regs;
		args.ret = ret;
		if (!compat)
			syscall_get_arguments(current, regs, args.a);
		sentry_fill_spec(&e, &args, is_exit);
	} else {
		sentry_push_u16(&e, sentry_ppm_sc[args.nr]);
		if (!is_exit)
			sentry_push_u16(&e, args.nr);
	}
	sentry_evt_commit(&e);
out:
	ring_leave(ring);
}

static void probe_sys_enter(void *data, struct pt_regs *regs, long id)
{
	if (READ_ONCE(sentry_cfg.capturing))
		emit_syscall(regs, 0, false);
}

static void probe_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	if (READ_ONCE(sentry_cfg.capturing))
		emit_syscall(regs, ret, true);
}

static void probe_process_exit(void *data, struct task_struct *p)
{
	struct sentry_ring *ring;
	struct sentry_evt e;
	u64 ts;

	if (!READ_ONCE(sentry_cfg.capturing))
		return;
	ring = ring_enter();
	if (!ring)
		return;
	ts = ktime_get_real_ns();
	if (wanted(ring, SENTRY_INTEREST_PROCEXIT, ts) &&
	    sentry_evt_begin(&e, ring, SENTRY_PROCEXIT_TYPE,
				       SENTRY_PROCEXIT_NPARAMS, ts)) {
		sentry_fill_procexit(&e, p);
		sentry_evt_commit(&e);
	}
	ring_leave(ring);
}

static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_enter"))
		tp_sys_enter = tp;
	else if (!strcmp(tp->name, "sys_exit"))
		tp_sys_exit = tp;
	else if (!strcmp(tp->name, "sched_process_exit"))
		tp_proc_exit = tp;
}

static int tracepoints_attach(void)
{
	int err;

	err = tracepoint_probe_register(tp_sys_enter, probe_sys_enter, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(tp_sys_exit, probe_sys_exit, NULL);
	if (err)
		goto undo_enter;
	err = tracepoint_probe_register(tp_proc_exit, probe_process_exit, NULL);
	if (err)
		goto undo_exit;
	return 0;
undo_exit:
	tracepoint_probe_unregister(tp_sys_exit, probe_sys_exit, NULL);
undo_enter:
	tracepoint_probe_unregister(tp_sys_enter, probe_sys_enter, NULL);
	tracepoint_synchronize_unregister();
	return err;
}

static void tracepoints_detach(void)
{
	tracepoint_probe_unregister(tp_proc_exit, probe_process_exit, NULL);
	tracepoint_probe_unregister(tp_sys_exit, probe_sys_exit, NULL);
	tracepoint_probe_unregister(tp_sys_enter, probe_sys_enter, NULL);
	/* Wait until no CPU is still inside one of our probes. */
	tracepoint_synchronize_unregister();
}

/* First open: fresh rings, default settings, probes attached (not capturing). */
int sentry_capture_get(void)
{
	int err = 0;

	mutex_lock(&sentry_lock);
	if (users == 0) {
		config_defaults();
		sentry_rings_reset();
		err = tracepoints_attach();
	}
	if (!err)
		users++;
	mutex_unlock(&sentry_lock);
	return err;
}

/* Last close: stop, detach; no probe runs once this returns. */
void sentry_capture_put(void)
{
	mutex_lock(&sentry_lock);
	if (--users == 0) {
		WRITE_ONCE(sentry_cfg.capturing, false);
		tracepoints_detach();
	}
	mutex_unlock(&sentry_lock);
}

/* ioctl helpers: settings are global (every CPU), whatever device is used. */
void sentry_set_capturing(bool on)
{
	unsigned int cpu;
	struct sentry_ring *ring;

	mutex_lock(&sentry_lock);
	WRITE_ONCE(sentry_cfg.capturing, on);
	for_each_possible_cpu(cpu) {
		ring = sentry_ring_get(cpu);
		WRITE_ONCE(ring->ctrl->flags, on ? SENTRY_RING_F_CAPTURING : 0);
	}
	mutex_unlock(&sentry_lock);
}

void sentry_set_interest(const struct sentry_interest *in)
{
	unsigned int i;

	mutex_lock(&sentry_lock);
	/* Word-sized stores: a probe sees each word either old or new. */
	for (i = 0; i < ARRAY_SIZE(sentry_cfg.interest); i++)
		WRITE_ONCE(sentry_cfg.interest[i], (unsigned long)in->bits[i]);
	mutex_unlock(&sentry_lock);
}

static int __init sentry_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct sentry_evt_hdr) != SENTRY_EVT_HDR_LEN);
	BUILD_BUG_ON(sizeof(struct sentry_ring_ctrl) > PAGE_SIZE);
	BUILD_BUG_ON(BITS_PER_LONG != 64);
	if (!is_power_of_2(ring_bytes) || ring_bytes < (64UL << 10) ||
	    ring_bytes > (1UL << 30)) {
		pr_err(SENTRY_NAME ": ring_bytes must be a power of two in [64 KiB, 1 GiB]\n");
		return -EINVAL;
	}
	for_each_kernel_tracepoint(find_tracepoint, NULL);
	if (!tp_sys_enter || !tp_sys_exit || !tp_proc_exit) {
		pr_err(SENTRY_NAME ": tracepoints sys_enter/sys_exit/sched_process_exit not found\n");
		return -ENOENT;
	}
	config_defaults();
	sampling_init();
	err = sentry_rings_alloc();
	if (err)
		return err;
	err = sentry_devices_create();
	if (err) {
		sentry_rings_free();
		return err;
	}
	pr_info(SENTRY_NAME ": loaded, %u rings of %lu bytes\n", num_possible_cpus(), ring_bytes);
	return 0;
}

static void __exit sentry_exit(void)
{
	/* No device is open (module refcount), so the probes are detached. */
	sentry_devices_destroy();
	sentry_rings_free();
	pr_info(SENTRY_NAME ": unloaded\n");
}

module_init(sentry_init);
module_exit(sentry_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("Sentry authors");
MODULE_DESCRIPTION("Sentry syscall capture: per-CPU rings of scap-encoded events");
MODULE_VERSION(SENTRY_VERSION);
