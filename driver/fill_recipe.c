// SPDX-License-Identifier: GPL-2.0
/*
 * fill_recipe.c - the parameters of every dedicated syscall event, from the recipe table
 * the eBPF probe follows too (include/sentry_syscall_specs.h; its interpreter there is
 * bpf/sentry.bpf.c's emit_recipe()). A new syscall is one entry in that table.
 *
 * Each parameter is pushed as its kind says, with the module's means of reading the
 * kernel (fill_common.c, fill_net.c); the events whose parameters are a process record
 * (the clone family, execve) name a handler, fill_proc.c's. Paths and buffers are read at
 * syscall exit, when the syscall itself has faulted them in; every user access goes
 * through sentry_copy_user()/sentry_push_ustr(), which fail instead of sleeping, and a
 * failed read of a user pointer counts n_drops_pf.
 */
#include "fill.h"
#include "syscall_events.h"
#include "sentry_syscall_specs.h"	/* defines the table: included here only */

/* The dedicated event of syscall nr's enter or exit: false if it has none (generic). */
bool sentry_spec_event(long nr, bool is_exit, u16 *type, u32 *nparams)
{
	const struct syscall_spec *sc;
	const struct event_spec *es;

	if (nr < 0 || nr >= SENTRY_SYSCALL_NR_MAX || !syscall_specs[nr].defined)
		return false;
	sc = &syscall_specs[nr];
	es = is_exit ? &sc->exit : &sc->enter;
	*type = es->type;
	switch (es->handler) {
	case H_PROC_CLONE:
		*nparams = SENTRY_CLONE_X_NPARAMS;
		break;
	case H_PROC_EXEC:
		*nparams = SENTRY_EXECVE_X_NPARAMS;
		break;
	default:
		*nparams = es->nparams;
		break;
	}
	return true;
}

static u64 arg(const struct sentry_args *a, u32 i)
{
	return i < ARRAY_SIZE(a->a) ? a->a[i] : 0;
}

static void push_int(struct sentry_evt *e, u64 v, u32 size)
{
	switch (size) {
	case 1:
		sentry_push_u8(e, v);
		break;
	case 2:
		sentry_push_u16(e, v);
		break;
	case 4:
		sentry_push_u32(e, v);
		break;
	default:
		sentry_push_u64(e, v);
		break;
	}
}

/* size bytes (4 or 8) at uptr + idx * size; 0 when uptr is NULL or unreadable (counted). */
static u64 user_word(struct sentry_evt *e, unsigned long uptr, u32 idx, u32 size)
{
	u64 v64 = 0;
	u32 v32 = 0;

	if (!uptr)
		return 0;
	if (size == 4) {
		if (sentry_copy_user(&v32, uptr + 4UL * idx, 4))
			e->pf = true;
		return v32;
	}
	if (sentry_copy_user(&v64, uptr + 8UL * idx, 8))
		e->pf = true;
	return v64;
}

/* The struct user_msghdr at umsg (zeroed when NULL or unreadable, counted). */
static void user_msghdr(struct sentry_evt *e, unsigned long umsg, struct user_msghdr *m)
{
	memset(m, 0, sizeof(*m));
	if (umsg && sentry_copy_user(m, umsg, sizeof(*m))) {
		e->pf = true;
		memset(m, 0, sizeof(*m));
	}
}

/* PT_FDLIST: u16 count, then (s64 fd, u16 events) per entry, from a user pollfd array. */
static void push_pollfds(struct sentry_evt *e, unsigned long ufds, unsigned long nfds,
			 bool revents)
{
	u32 n = min_t(unsigned long, nfds, 64);
	struct pollfd pfd;
	u16 i, count = 0;
	u8 *dst;

	if (!ufds) {
		sentry_push_empty(e);
		return;
	}
	dst = sentry_push_reserve(e, 2 + n * 10);
	if (!dst)
		return;
	for (i = 0; i < n; i++) {
		s64 fd;
		u16 ev;

		if (sentry_copy_user(&pfd, ufds + i * sizeof(pfd), sizeof(pfd))) {
			e->pf = true;
			break;
		}
		fd = pfd.fd;
		ev = scap_poll_events(revents ? pfd.revents : pfd.events);
		memcpy(dst + 2 + count * 10, &fd, 8);
		memcpy(dst + 10 + count * 10, &ev, 2);
		count++;
	}
	memcpy(dst, &count, 2);
	sentry_push_done(e, 2 + count * 10);
}

/* PT_DYN: an index byte, then a u64 (index only when with_value is false). */
static void push_dyn(struct sentry_evt *e, u8 idx, u64 v, bool with_value)
{
	u8 buf[9];

	buf[0] = idx;
	memcpy(buf + 1, &v, 8);
	sentry_push_raw(e, buf, with_value ? sizeof(buf) : 1);
}

/* A listening socket's accept queue: fill in percent (which 0), length (1) or size (2). */
static u32 accept_queue(long fd, u32 which)
{
	u32 len = 0, max = 0;
	struct socket *sock;
	struct file *f;

	rcu_read_lock();
	f = sentry_fd_file(fd);
	sock = f ? sentry_sock_from_file(f) : NULL;
	if (sock && sock->sk) {
		len = READ_ONCE(sock->sk->sk_ack_backlog);
		max = READ_ONCE(sock->sk->sk_max_ack_backlog);
	}
	rcu_read_unlock();
	if (which == 1)
		return len;
	if (which == 2)
		return max;
	return max ? len * 100 / max : 0;
}

static u64 timespec_ns(struct sentry_evt *e, unsigned long uptr)
{
	struct __kernel_timespec ts = { 0 };

	if (uptr && sentry_copy_user(&ts, uptr, sizeof(ts)))
		e->pf = true;
	return (u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static u64 caps(u32 which)
{
	const struct cred *cred = current_cred();

	if (which == 0)
		return sentry_caps64(cred->cap_inheritable);
	if (which == 1)
		return sentry_caps64(cred->cap_permitted);
	return sentry_caps64(cred->cap_effective);
}

/* The parameters whose kind reads a user struct: open_how, msghdr. */
static void push_struct_param(struct sentry_evt *e, const struct sentry_args *a,
			      const struct param_spec *ps)
{
	unsigned long u = arg(a, ps->arg);
	struct user_msghdr m;
	u64 limit;

	switch (ps->kind) {
	case PK_HOW_FLAGS:
		sentry_push_u32(e, scap_open_flags(user_word(e, u, 0, 8)));
		break;
	case PK_HOW_MODE:
		sentry_push_u32(e, scap_open_mode(user_word(e, u, 0, 8), user_word(e, u, 1, 8)));
		break;
	case PK_HOW_RESOLVE:
		sentry_push_u32(e, scap_resolve_flags(user_word(e, u, 2, 8)));
		break;
	case PK_MSG_LEN:
		user_msghdr(e, u, &m);
		sentry_push_u32(e, sentry_iov_total((unsigned long)m.msg_iov, m.msg_iovlen));
		break;
	case PK_MSG_RET:
	case PK_MSG_ARG:
		user_msghdr(e, u, &m);
		limit = ps->kind == PK_MSG_RET ? max(a->ret, 0L) : READ_ONCE(sentry_cfg.snaplen);
		sentry_push_iov(e, (unsigned long)m.msg_iov, m.msg_iovlen, limit);
		break;
	case PK_TUPLE_MSG_TO:
	case PK_TUPLE_MSG_FROM:
		/* msg_name, the first member of struct user_msghdr */
		sentry_push_socktuple(e, (int)u, ps->kind == PK_TUPLE_MSG_FROM,
				      user_word(e, arg(a, ps->aux), 0, 8));
		break;
	}
}

/* The parameters of the file behind the returned fd (or the one at a user address). */
static void push_file_param(struct sentry_evt *e, const struct sentry_args *a,
			    const struct param_spec *ps)
{
	u32 dev = 0, created = 0, v;
	u64 ino = 0;

	switch (ps->kind) {
	case PK_OPEN_FLAGS_X:
		v = scap_open_flags(arg(a, ps->arg));
		sentry_fd_dev_ino(a->ret, &dev, &ino, &created);
		sentry_push_u32(e, v | created);
		break;
	case PK_FD_DEV:
		sentry_fd_dev_ino(a->ret, &dev, &ino, &created);
		sentry_push_u32(e, dev);
		break;
	case PK_FD_INO:
		sentry_fd_dev_ino(a->ret, &dev, &ino, &created);
		sentry_push_u64(e, ino);
		break;
	case PK_PIPE_INO:
		v = user_word(e, arg(a, ps->arg), 0, 4);
		if (a->ret >= 0)
			sentry_fd_dev_ino((int)v, &dev, &ino, &created);
		sentry_push_u64(e, ino);
		break;
	case PK_OPEN_NAME:
		sentry_push_open_name(e, arg(a, ps->arg), a->ret);
		break;
	case PK_FD_PATH:
		sentry_push_open_name(e, 0, a->ret);
		break;
	}
}

/* One parameter of kind ps->kind (include/sentry_syscall_specs.h says what each is). */
static void push_param(struct sentry_evt *e, const struct sentry_args *a,
		       const struct param_spec *ps)
{
	u64 v = arg(a, ps->arg), x = arg(a, ps->aux);
	u32 size = ps->size;
	long ret = a->ret;

	switch (ps->kind) {
	case PK_ARG:
		push_int(e, v, size);
		break;
	case PK_ARG_S32:
		push_int(e, (s64)(s32)v, size);
		break;
	case PK_RET:
		push_int(e, ret, size);
		break;
	case PK_USTR:
		sentry_push_ustr(e, v, SENTRY_MAX_PATH);
		break;
	case PK_UBUF_RET:
		sentry_push_data(e, v, max(ret, 0L));
		break;
	case PK_UBUF_ARG:
		sentry_push_data(e, v, x);
		break;
	case PK_IOV_RET:
		sentry_push_iov(e, v, x, max(ret, 0L));
		break;
	case PK_IOV_ARG:
		sentry_push_iov(e, v, x, READ_ONCE(sentry_cfg.snaplen));
		break;
	case PK_IOV_LEN:
		sentry_push_u32(e, sentry_iov_total(v, x));
		break;
	case PK_OPEN_FLAGS:
		sentry_push_u32(e, scap_open_flags(v));
		break;
	case PK_CLONE_FLAGS:
		sentry_push_u32(e, scap_clone_flags(v));
		break;
	case PK_PROT:
		sentry_push_u32(e, scap_prot_flags(v));
		break;
	case PK_MMAP_FLAGS:
		sentry_push_u32(e, scap_mmap_flags(v));
		break;
	case PK_FCNTL_CMD:
		sentry_push_u8(e, scap_fcntl_cmd(v));
		break;
	case PK_PTRACE_REQ:
		sentry_push_u16(e, scap_ptrace_request(v));
		break;
	case PK_MOUNT_FLAGS:
		sentry_push_u32(e, scap_mount_flags(v));
		break;
	case PK_EXECVEAT_FLAGS:
		sentry_push_u32(e, scap_execveat_flags(v));
		break;
	case PK_EVENTFD_FLAGS:
		sentry_push_u32(e, scap_eventfd_flags(v));
		break;
	case PK_OPEN_MODE:
		sentry_push_u32(e, scap_open_mode(v, x));
		break;
	case PK_MODE_BITS:
		sentry_push_u32(e, v & 07777);
		break;
	case PK_MKNOD_MODE:
		sentry_push_u32(e, scap_mknod_mode(v));
		break;
	case PK_MKNOD_DEV:
		sentry_push_u32(e, scap_mknod_dev(v));
		break;
	case PK_HOW_FLAGS:
	case PK_HOW_MODE:
	case PK_HOW_RESOLVE:
	case PK_MSG_RET:
	case PK_MSG_ARG:
	case PK_MSG_LEN:
	case PK_TUPLE_MSG_TO:
	case PK_TUPLE_MSG_FROM:
		push_struct_param(e, a, ps);
		break;
	case PK_OPEN_FLAGS_X:
	case PK_FD_DEV:
	case PK_FD_INO:
	case PK_PIPE_INO:
	case PK_OPEN_NAME:
	case PK_FD_PATH:
		push_file_param(e, a, ps);
		break;
	case PK_ACCEPT_QUEUE:
		push_int(e, accept_queue((s32)v, ps->aux), size);
		break;
	case PK_SOCKADDR:
		sentry_push_usockaddr(e, v, (int)x);
		break;
	case PK_TUPLE_FD:
		sentry_push_socktuple(e, (s32)v, false, 0);
		break;
	case PK_TUPLE_RET:
		if (ret >= 0)
			sentry_push_socktuple(e, ret, true, 0);
		else
			sentry_push_empty(e);
		break;
	case PK_TUPLE_TO:
	case PK_TUPLE_FROM:
		sentry_push_socktuple(e, (s32)v, ps->kind == PK_TUPLE_FROM, x);
		break;
	case PK_UPTR_U64:
		sentry_push_u64(e, user_word(e, v, ps->aux, 8));
		break;
	case PK_RLIM_RET:
		sentry_push_u64(e, a->ret < 0 ? (u64)-1 : user_word(e, v, ps->aux, 8));
		break;
	case PK_UPTR_U32:
		x = user_word(e, v, ps->aux, 4);
		push_int(e, size == 8 ? (u64)(s64)(s32)x : x, size);
		break;
	case PK_VM:
		sentry_push_u32(e, sentry_mm_kib(ps->aux));
		break;
	case PK_DYN_U64:
		push_dyn(e, SCAP_PTRACE_IDX_UINT64, v, true);
		break;
	case PK_DYN_NONE:
		push_dyn(e, 0, 0, false);
		break;
	case PK_DYN_BPF:
		/* a new fd for map and program creation, else a result or errno */
		push_dyn(e, ret >= 0 && (a->a[0] == BPF_MAP_CREATE || a->a[0] == BPF_PROG_LOAD) ?
			 SCAP_BPF_IDX_FD : SCAP_BPF_IDX_RES, ret, true);
		break;
	case PK_FDLIST_IN:
	case PK_FDLIST_OUT:
		push_pollfds(e, v, x, ps->kind == PK_FDLIST_OUT);
		break;
	case PK_TIMESPEC:
		sentry_push_u64(e, timespec_ns(e, v));
		break;
	case PK_CAPS:
		sentry_push_u64(e, caps(ps->aux));
		break;
	case PK_ZERO:
		push_int(e, 0, size);
		break;
	default:	/* PK_EMPTY */
		sentry_push_empty(e);
		break;
	}
}

/* The parameters of syscall a->nr's enter or exit event, as its recipe or handler says. */
void sentry_fill_spec(struct sentry_evt *e, struct sentry_args *a, bool is_exit)
{
	const struct syscall_spec *sc = &syscall_specs[a->nr];
	const struct event_spec *es = is_exit ? &sc->exit : &sc->enter;
	u32 i;

	switch (es->handler) {
	case H_PROC_CLONE:
		sentry_fill_clone_x(e, a);
		return;
	case H_PROC_EXEC:
		sentry_fill_execve_x(e, a);
		return;
	}
	for (i = 0; i < es->nparams && i < SPEC_MAX_PARAMS; i++)
		push_param(e, a, &es->p[i]);
}
