// SPDX-License-Identifier: GPL-2.0
/*
 * sentry.bpf.c - Sentry's CO-RE eBPF probe.
 *
 * Writes the same scap-encoded events as the kernel module into one BPF ring
 * buffer per CPU: an enter event at sys_enter, an exit event at sys_exit
 * (paths and buffers are read there, once the kernel has faulted the pages in),
 * and procexit at sched_process_exit. Tasks are filtered (consumer, target
 * tree) and syscalls checked against the interest set before any argument is
 * read. Counters per CPU: events, drops by cause.
 *
 * Programs come in two flavours with the same body: tp_btf (preferred) and
 * raw_tp (fallback); the loader enables one. Kernel memory is read directly
 * through BTF pointers where the verifier allows it (the current task, a tp_btf
 * program's regs): a bpf_probe_read_kernel() costs a helper call each time.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sentry_abi.h"
#include "sentry_events.h"
#include "sentry_bpf.h"
#include "sentry_scap_flags.h"
#include "probe_helpers.h"
#define SENTRY_SPECS_ATTR SEC(".rodata.specs")
#include "sentry_syscall_specs.h"
#include "sentry_sampling.h"
#include "sentry_compat_syscalls.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Parameters of the process events, as the event table (sysdig 0.29's layouts,
 * the kernel module's) gives them; the loader refuses a table that differs.
 */
#define EXEC_X_NPARAMS 28
#define CLONE_X_NPARAMS 21
#define PROCEXIT_NPARAMS 4

#include "probe_proc.h"
#include "probe_io.h"
#include "probe_net.h"
#include "probe_quiet.h"

/* ---- the recipe interpreter ------------------------------------------------- */

/*
 * The cheap common parameters (plain arguments, return values, strings, open flags and
 * modes), written in line by emit_recipe(); false for any other kind. Nothing here looks
 * a file up: each kind in line is verified once more per inline step, and the kinds that
 * walk a task's files (the opened name, O_CREAT's outcome, the device) go to the loop.
 * With them here and 6 in line, 6.18's verifier gave up on the exit program at its
 * limit of 1 M instructions; now it processes ~0.38 M (3 in line; 6 would be 0.76 M).
 */
static __always_inline bool emit_inline(struct ev *e, long ret, const struct param_spec *ps)
{
	__u32 a = ps->arg, size = ps->size, aux = ps->aux;

	switch (ps->kind) {
	case PK_ARG:
		ev_int(e, ev_arg(e, a), size);
		return true;
	case PK_ARG_S32:
		ev_int(e, (__s64)(__s32)ev_arg(e, a), size);
		return true;
	case PK_RET:
		ev_int(e, ret, size);
		return true;
	case PK_USTR:
		ev_ustr(e, (void *)ev_arg(e, a));
		return true;
	case PK_OPEN_FLAGS:
		ev_int(e, scap_open_flags(ev_arg(e, a)), 4);
		return true;
	case PK_OPEN_MODE:
		ev_int(e, scap_open_mode(ev_arg(e, a), ev_arg(e, aux)), 4);
		return true;
	}
	return false;
}

/* Any other parameter, one bpf_loop() step each. */
static __always_inline void emit_param(struct ev *e, long ret,
				       const struct param_spec *ps, __u32 snaplen)
{
	__u32 kind = ps->kind, a = ps->arg, size = ps->size, aux = ps->aux;
	__u64 v, uptr;

	switch (kind) {
	case PK_OPEN_NAME:
		ev_open_name(e, (void *)ev_arg(e, a), ret);
		break;
	case PK_OPEN_FLAGS_X:
		v = scap_open_flags(ev_arg(e, a));
		if (ret >= 0 && file_created(fd_file(e, ret)))
			v |= SCAP_O_F_CREATED;
		ev_int(e, v, 4);
		break;
	case PK_FD_DEV:
		ev_int(e, ret >= 0 ? file_dev(fd_file(e, ret)) : 0, 4);
		break;
	case PK_UBUF_RET:
		ev_ubuf(e, (void *)ev_arg(e, a), ret > 0 ? ret : 0, snaplen);
		break;
	case PK_UBUF_ARG:
		ev_ubuf(e, (void *)ev_arg(e, a), ev_arg(e, aux), snaplen);
		break;
	case PK_IOV_RET:
		v = ret > 0 ? ret : 0;
		ev_iov(e, ev_arg(e, a), ev_arg(e, aux), v < snaplen ? v : snaplen);
		break;
	case PK_IOV_ARG:
		ev_iov(e, ev_arg(e, a), ev_arg(e, aux), snaplen);
		break;
	case PK_IOV_LEN:
		ev_int(e, iov_total(ev_arg(e, a), ev_arg(e, aux)), 4);
		break;
	case PK_MSG_RET:
	case PK_MSG_ARG:
	case PK_MSG_LEN: {
		struct user_msghdr msg = {};

		uptr = ev_arg(e, a);
		if (uptr)
			bpf_probe_read_user(&msg, sizeof(msg), (void *)uptr);
		if (kind == PK_MSG_LEN) {
			ev_int(e, iov_total((__u64)msg.msg_iov, msg.msg_iovlen), 4);
		} else {
			v = snaplen;
			if (kind == PK_MSG_RET)
				v = ret > 0 ? (ret < snaplen ? ret : snaplen) : 0;
			ev_iov(e, (__u64)msg.msg_iov, msg.msg_iovlen, v);
		}
		break;
	}
	case PK_CLONE_FLAGS:
		ev_int(e, scap_clone_flags(ev_arg(e, a)), 4);
		break;
	case PK_PROT:
		ev_int(e, scap_prot_flags(ev_arg(e, a)), 4);
		break;
	case PK_MMAP_FLAGS:
		ev_int(e, scap_mmap_flags(ev_arg(e, a)), 4);
		break;
	case PK_FCNTL_CMD:
		ev_int(e, scap_fcntl_cmd(ev_arg(e, a)), 1);
		break;
	case PK_PTRACE_REQ:
		ev_int(e, scap_ptrace_request(ev_arg(e, a)), 2);
		break;
	case PK_MOUNT_FLAGS:
		ev_int(e, scap_mount_flags(ev_arg(e, a)), 4);
		break;
	case PK_EXECVEAT_FLAGS:
		ev_int(e, scap_execveat_flags(ev_arg(e, a)), 4);
		break;
	case PK_EVENTFD_FLAGS:
		ev_int(e, scap_eventfd_flags(ev_arg(e, a)), 4);
		break;
	case PK_HOW_FLAGS:
		ev_int(e, scap_open_flags(uptr_u64(ev_arg(e, a), 0)), 4);
		break;
	case PK_HOW_MODE:
		uptr = ev_arg(e, a);
		ev_int(e, scap_open_mode(uptr_u64(uptr, 0), uptr_u64(uptr, 1)), 4);
		break;
	case PK_HOW_RESOLVE:
		ev_int(e, scap_resolve_flags(uptr_u64(ev_arg(e, a), 2)), 4);
		break;
	case PK_MODE_BITS:
		ev_int(e, ev_arg(e, a) & 07777, 4);
		break;
	case PK_MKNOD_MODE:
		ev_int(e, scap_mknod_mode(ev_arg(e, a)), 4);
		break;
	case PK_MKNOD_DEV:
		ev_int(e, scap_mknod_dev(ev_arg(e, a)), 4);
		break;
	case PK_FD_PATH:
		ev_open_name(e, NULL, ret);
		break;
	case PK_FD_INO:
		ev_int(e, ret >= 0 ? file_ino(fd_file(e, ret)) : 0, 8);
		break;
	case PK_ACCEPT_QUEUE:
		ev_int(e, accept_queue(fd_sock(e, (__s32)ev_arg(e, a)), aux), size);
		break;
	case PK_SOCKADDR:
		ev_sockaddr(e, ev_arg(e, a), ev_arg(e, aux));
		break;
	case PK_TUPLE_FD:
		ev_tuple(e, fd_sock(e, (__s32)ev_arg(e, a)), false, 0);
		break;
	case PK_TUPLE_RET:
		ev_tuple(e, ret >= 0 ? fd_sock(e, ret) : NULL, true, 0);
		break;
	case PK_TUPLE_TO:
	case PK_TUPLE_FROM:
		ev_tuple(e, fd_sock(e, (__s32)ev_arg(e, a)), kind == PK_TUPLE_FROM,
			 ev_arg(e, aux));
		break;
	case PK_TUPLE_MSG_TO:
	case PK_TUPLE_MSG_FROM:
		v = 0;
		uptr = ev_arg(e, aux);
		if (uptr)	/* msg_name, the first member of struct user_msghdr */
			bpf_probe_read_user(&v, sizeof(v), (void *)uptr);
		ev_tuple(e, fd_sock(e, (__s32)ev_arg(e, a)), kind == PK_TUPLE_MSG_FROM, v);
		break;
	case PK_UPTR_U64:
		ev_int(e, uptr_u64(ev_arg(e, a), aux), 8);
		break;
	case PK_RLIM_RET:
		ev_int(e, ret < 0 ? (__u64)-1 : uptr_u64(ev_arg(e, a), aux), 8);
		break;
	case PK_UPTR_U32:
		v = uptr_u32(ev_arg(e, a), aux);
		ev_int(e, size == 8 ? (__u64)(__s64)(__s32)v : v, size);
		break;
	case PK_PIPE_INO:
		v = uptr_u32(ev_arg(e, a), 0);
		ev_int(e, ret >= 0 ? file_ino(fd_file(e, (__s32)v)) : 0, 8);
		break;
	case PK_VM:
		ev_int(e, task_vm((struct task_struct *)bpf_get_current_task(), aux), 4);
		break;
	case PK_DYN_U64:
		e->s->evt[e->s->off & EVT_MASK] = 0;
		*(__u64 *)&e->s->evt[(e->s->off + 1) & EVT_MASK] = ev_arg(e, a);
		ev_len(e, 9);
		break;
	case PK_DYN_NONE:
		e->s->evt[e->s->off & EVT_MASK] = 0;
		ev_len(e, 1);
		break;
	case PK_DYN_BPF:
		v = ev_arg(e, 0);	/* BPF_MAP_CREATE = 0, BPF_PROG_LOAD = 5 */
		e->s->evt[e->s->off & EVT_MASK] =
			(ret >= 0 && (v == 0 || v == 5)) ? SCAP_BPF_IDX_FD : SCAP_BPF_IDX_RES;
		*(__u64 *)&e->s->evt[(e->s->off + 1) & EVT_MASK] = ret;
		ev_len(e, 9);
		break;
	case PK_FDLIST_IN:
	case PK_FDLIST_OUT:
		ev_fdlist(e, ev_arg(e, a), ev_arg(e, aux), kind == PK_FDLIST_OUT);
		break;
	case PK_TIMESPEC:
		ev_int(e, timespec_ns(ev_arg(e, a)), 8);
		break;
	case PK_CAPS: {
		const struct cred *cred = BPF_CORE_READ((struct task_struct *)
							bpf_get_current_task(), cred);

		ev_int(e, cred_caps(aux == 0 ? &cred->cap_inheritable : aux == 1 ?
				    &cred->cap_permitted : &cred->cap_effective), 8);
		break;
	}
	case PK_ZERO:
		ev_int(e, 0, size);
		break;
	default:
		ev_empty(e);
		break;
	}
}

/* At most this many parameters in line: each one more is verified once more per path
 * into emit_recipe() (~0.1 M instructions each on 6.18). */
#define INLINE_MAX_PARAMS 3

struct recipe_ctx {
	struct ev *e;
	const struct event_spec *es;
	long ret;
	__u32 first;
	__u32 snaplen;
};

/*
 * Parameters from the first not written in line, one per bpf_loop() step (even the
 * common kinds once there): the verifier checks this body once, not per step.
 */
static long recipe_step(__u64 i, struct recipe_ctx *c)
{
	i += c->first;
	if (i >= SPEC_MAX_PARAMS)
		return 1;
	if (!emit_inline(c->e, c->ret, &c->es->p[i]))
		emit_param(c->e, c->ret, &c->es->p[i], c->snaplen);
	return 0;
}

/*
 * The leading parameters of the common kinds are written in line (a bpf_loop() step
 * is a function call, and this machine's calls and returns are not cheap), the rest
 * by the loop.
 */
static __always_inline void emit_recipe(struct ev *e, long ret,
					const struct event_spec *es)
{
	struct recipe_ctx c = {
		.e = e,
		.es = es,
		.ret = ret,
		.snaplen = settings.snaplen,
	};
	__u32 i, n = es->nparams;

#pragma clang loop unroll(disable)
	for (i = 0; i < INLINE_MAX_PARAMS && i < n; i++)
		if (!emit_inline(e, ret, &es->p[i]))
			break;
	if (i >= n)
		return;
	if (c.snaplen > DATA_MAX)
		c.snaplen = DATA_MAX;
	c.first = i;
	bpf_loop(n - i, recipe_step, &c, 0);
}

/* ---- program bodies --------------------------------------------------------------- */

static __always_inline void emit_generic(struct ev *e, __u32 nr, bool enter)
{
	__u16 code = probe_config.ppm_sc_codes[BOUNDED(nr, SENTRY_SYSCALL_NR_MAX - 1)];

	ev_int(e, code, 2);
	if (enter)
		ev_int(e, nr, 2);
}

/* ---- 32-bit calls ------------------------------------------------------------------- */

#define K_TS_COMPAT 0x0002

enum { ABI_NATIVE, ABI_IA32, ABI_X32 };

/* The ABI of this call: ia32 (int 0x80, sysenter: TS_COMPAT), x32 (the number's bit), native. */
static __always_inline __u32 call_abi(long id)
{
	if (bpf_get_current_task_btf()->thread_info.status & K_TS_COMPAT)
		return ABI_IA32;
	if (id >= 0 && (id & SENTRY_X32_SYSCALL_BIT))
		return ABI_X32;
	return ABI_NATIVE;
}

#define REG(regs, r, btf) ((btf) ? (regs)->r : BPF_CORE_READ(regs, r))

/*
 * A 32-bit call as its x86_64 counterpart (sentry_compat_syscalls.h): false if it has
 * none (dropped, counted); else *nr is the x86_64 number, *generic whether only the
 * generic event reads it right, *call the socketcall call number (0: not socketcall).
 */
static __always_inline bool compat_nr(struct pt_regs *regs, long id, __u32 abi, bool btf,
				      __u32 *nr, bool *generic, __u32 *call)
{
	int m = sentry_compat_map(id, abi == ABI_IA32);

	if (abi == ABI_IA32 && id == SENTRY_IA32_NR_SOCKETCALL) {
		__u32 c = REG(regs, bx, btf);

		if (c >= SENTRY_SOCKETCALL_MAX)
			return false;
		m = sentry_socketcalls[BOUNDED(c, 31)];
		if (!m)
			return false;
		m &= SENTRY_COMPAT_NR_MASK | SENTRY_COMPAT_GENERIC;
		*call = c;
	}
	if (m < 0)
		return false;
	*nr = m & SENTRY_COMPAT_NR_MASK;
	*generic = m & SENTRY_COMPAT_GENERIC;
	return true;
}

/*
 * An ia32 call's arguments: the low halves of ebx, ecx, edx, esi, edi, ebp (as the
 * kernel's compat entry reads them), or for socketcall the u32 array at ecx.
 */
static __always_inline void load_ia32_args(struct scratch *s, struct pt_regs *regs, bool btf,
					   __u32 call)
{
	__u32 v[6] = {};
	__u32 n, i;

	if (call) {
		n = sentry_socketcall_nargs[BOUNDED(call, 31)];
		if (n > 6)
			n = 6;
		/* unreadable (the call fails with EFAULT): the arguments stay 0 */
		bpf_probe_read_user(v, n * 4, (void *)(__u64)(__u32)REG(regs, cx, btf));
	} else {
		v[0] = REG(regs, bx, btf);
		v[1] = REG(regs, cx, btf);
		v[2] = REG(regs, dx, btf);
		v[3] = REG(regs, si, btf);
		v[4] = REG(regs, di, btf);
		v[5] = REG(regs, bp, btf);
	}
	for (i = 0; i < 6; i++)
		s->args[i] = v[i];
}

/*
 * The x86_64 number of this call and its arguments into s, whatever the ABI (false:
 * a 32-bit call with no x86_64 counterpart, counted as suppressed).
 */
struct call {
	__u32 nr;
	__u32 abi;
	__u32 socketcall;
	bool generic;
};

static __always_inline bool call_nr(struct call *c, struct pt_regs *regs, long id, bool btf)
{
	c->nr = id;
	c->generic = false;
	c->socketcall = 0;
	c->abi = call_abi(id);
	if (c->abi != ABI_NATIVE &&
	    !compat_nr(regs, id, c->abi, btf, &c->nr, &c->generic, &c->socketcall)) {
		count_suppressed();
		return false;
	}
	return true;
}

static __always_inline void call_args(struct scratch *s, const struct call *c,
				      struct pt_regs *regs, bool btf)
{
	if (c->abi == ABI_IA32)
		load_ia32_args(s, regs, btf, c->socketcall);
	else
		load_args(s, regs, btf);	/* native and x32: 64-bit registers */
}

#define NSEC_PER_SEC 1000000000ULL

/*
 * Does sampling leave out this syscall's event at ts? As the kernel module decides
 * (sentry_sampling.h): outside the first 1/sampling of the second, unless never-drop.
 */
static __always_inline bool sampled_out(__u32 nr, __u64 ts)
{
	__u32 sampling = settings.sampling;

	if (sampling <= 1)
		return false;
	switch (nr) {
#define SAMPLING_CASE(name) case __NR_##name:
	SENTRY_NEVER_DROP_SYSCALLS(SAMPLING_CASE)
		return false;
	SENTRY_ALWAYS_DROP_SYSCALLS(SAMPLING_CASE)
		return true;
#undef SAMPLING_CASE
	}
	return ts % NSEC_PER_SEC >= NSEC_PER_SEC / sampling;
}

/*
 * Should the event of (x86_64) syscall nr be written? Cheapest test first (the interest
 * set is a bit in .bss); counts what the interest set and sampling leave out.
 * Sets the task's pid_tgid and the event's timestamp for the caller.
 */
static __always_inline bool event_wanted(__u32 nr, __u64 *pid_tgid, __u64 *ts)
{
	if (!syscall_wanted(nr)) {
		count_suppressed();
		return false;
	}
	*pid_tgid = bpf_get_current_pid_tgid();
	if (!task_wanted(*pid_tgid))
		return false;
	*ts = epoch_ns();
	if (sampled_out(nr, *ts)) {
		count_suppressed();
		return false;
	}
	return true;
}

/* btf: regs is a BTF pointer (tp_btf), read directly; otherwise (raw_tp) probe-read. */
static __always_inline int on_sys_enter(struct pt_regs *regs, long id, bool btf)
{
	const struct syscall_spec *sc;
	struct scratch *s;
	struct ev e;
	struct call c;
	__u32 nr;
	__u64 pid_tgid, ts;

	if (!settings.capturing)
		return 0;
	if (!call_nr(&c, regs, id, btf))
		return 0;
	nr = c.nr;
	if (!event_wanted(nr, &pid_tgid, &ts))
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	call_args(s, &c, regs, btf);
	if (!c.generic && quiet_enter(s, nr, pid_tgid)) {
		s->busy = 0;
		return 0;
	}
	quiet_flush(s, pid_tgid, ts);
	sc = &syscall_specs[BOUNDED(nr, SENTRY_SYSCALL_NR_MAX - 1)];
	if (!sc->defined || c.generic) {
		ev_begin(&e, s, SE_GENERIC_E, 2, (__u32)pid_tgid, ts);
		emit_generic(&e, nr, true);
	} else {
		ev_begin(&e, s, sc->enter.type, sc->enter.nparams,
			 (__u32)pid_tgid, ts);
		emit_recipe(&e, 0, &sc->enter);
	}
	ev_submit(&e);
	return 0;
}

/* id: the syscall's number (orig_ax), read by the caller as its regs allows. */
static __always_inline int on_sys_exit(struct pt_regs *regs, long ret, long id, bool btf)
{
	const struct syscall_spec *sc;
	struct scratch *s;
	struct ev e;
	struct call c;
	__u32 nr;
	__u64 pid_tgid, ts;

	if (!settings.capturing)
		return 0;
	if (!call_nr(&c, regs, id, btf))
		return 0;
	nr = c.nr;
	/*
	 * A successful execveat exits under execve's number (orig_ax): its exit is
	 * an execve exit, as scap reports it; a failed one stays execveat's.
	 */
	if (!event_wanted(nr, &pid_tgid, &ts))
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	call_args(s, &c, regs, btf);
	e.s = s;
	s->file_fd = -1;	/* no descriptor looked up yet for this event */
	if (!c.generic && quiet_exit(&e, pid_tgid, ret)) {
		s->busy = 0;
		return 0;
	}
	quiet_flush(s, pid_tgid, ts);
	sc = &syscall_specs[BOUNDED(nr, SENTRY_SYSCALL_NR_MAX - 1)];
	if (!sc->defined || c.generic) {
		ev_begin(&e, s, SE_GENERIC_X, 1, (__u32)pid_tgid, ts);
		emit_generic(&e, nr, false);
	} else if (sc->exit.handler == H_PROC_EXEC) {
		ev_begin(&e, s, sc->exit.type, EXEC_X_NPARAMS,
			 (__u32)pid_tgid, ts);
		emit_proc(&e, ret, nr, true);
	} else if (sc->exit.handler == H_PROC_CLONE) {
		ev_begin(&e, s, sc->exit.type, CLONE_X_NPARAMS,
			 (__u32)pid_tgid, ts);
		emit_proc(&e, ret, nr, false);
	} else {
		ev_begin(&e, s, sc->exit.type, sc->exit.nparams,
			 (__u32)pid_tgid, ts);
		emit_recipe(&e, ret, &sc->exit);
	}
	ev_submit(&e);
	return 0;
}

static __always_inline int on_process_exit(struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), ts;
	struct scratch *s;
	struct ev e;
	__u32 code;

	if (!task_wanted(pid_tgid))
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	ts = epoch_ns();
	quiet_flush(s, pid_tgid, ts);
	code = BPF_CORE_READ(task, exit_code);
	ev_begin(&e, s, SE_PROCEXIT_1_E, PROCEXIT_NPARAMS, BPF_CORE_READ(task, pid), ts);
	ev_int(&e, code, 8);				/* status */
	ev_int(&e, (code >> 8) & 0xff, 8);		/* ret */
	ev_int(&e, code & 0x7f, 1);			/* sig */
	ev_int(&e, (code & 0x80) ? 1 : 0, 1);		/* core */
	ev_submit(&e);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, regs->orig_ax, true);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit_btf, struct task_struct *task)
{
	return on_process_exit(task);
}

SEC("raw_tp/sys_enter")
int sys_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return on_sys_enter((struct pt_regs *)ctx->args[0], ctx->args[1], false);
}

SEC("raw_tp/sys_exit")
int sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	return on_sys_exit(regs, ctx->args[1], BPF_CORE_READ(regs, orig_ax), false);
}

SEC("raw_tp/sched_process_exit")
int sched_process_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return on_process_exit((struct task_struct *)ctx->args[0]);
}
