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
 * raw_tp (fallback); the loader enables one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sentry_abi.h"
#include "sentry_events.h"
#include "sentry_bpf.h"
#include "scap_flags.h"
#include "probe_helpers.h"
#include "syscall_specs.h"

char LICENSE[] SEC("license") = "GPL";

/* kernfs_node before 6.15 named its parent link "parent" (CO-RE flavour). */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/*
 * Set by the loader before load, from the event table it decodes with: scap's
 * portable syscall code per native number (generic events), and how many of
 * the parameters this probe can fill the process events should carry (scap
 * grows events by appending parameters; the reader's table decides).
 */
struct probe_config {
	__u16 ppm_sc_codes[SENTRY_SYSCALL_NR_MAX];
	__u32 exec_x_nparams;		/* up to EXEC_X_MAX_PARAMS */
	__u32 clone_x_nparams;		/* up to CLONE_X_MAX_PARAMS */
	__u32 procexit_nparams;		/* up to PROCEXIT_MAX_PARAMS */
};

#define EXEC_X_MAX_PARAMS 27
#define CLONE_X_MAX_PARAMS 20
#define PROCEXIT_MAX_PARAMS 4

const volatile struct probe_config probe_config SEC(".rodata.sc");

#define K_AF_UNIX	1
#define K_AF_INET	2
#define K_AF_INET6	10
#define UNIX_PATH_MAX	108
#define IOV_MAX_SEGS	16
#define K_RLIMIT_NOFILE	7
#define K_PIDTYPE_PGID	2

/*
 * Threads inside execveat(). After a successful execveat the kernel reports the
 * exit with execve's number in orig_ax, so the enter side leaves a mark here.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} in_execveat SEC(".maps");

/* ---- small converters --------------------------------------------------- */

static __always_inline __u8 fcntl_cmd_to_scap(__u64 cmd)
{
	switch (cmd) {
	case 0: return 1;	/* F_DUPFD */
	case 1: return 2;	/* F_GETFD */
	case 2: return 3;	/* F_SETFD */
	case 3: return 4;	/* F_GETFL */
	case 4: return 5;	/* F_SETFL */
	case 5: return 6;	/* F_GETLK */
	case 6: return 8;	/* F_SETLK */
	case 7: return 9;	/* F_SETLKW */
	case 8: return 10;	/* F_SETOWN */
	case 9: return 12;	/* F_GETOWN */
	case 10: return 13;	/* F_SETSIG */
	case 11: return 15;	/* F_GETSIG */
	case 15: return 21;	/* F_SETOWN_EX */
	case 16: return 22;	/* F_GETOWN_EX */
	case 36: return 30;	/* F_OFD_GETLK */
	case 37: return 31;	/* F_OFD_SETLK */
	case 38: return 32;	/* F_OFD_SETLKW */
	case 1024: return 23;	/* F_SETLEASE */
	case 1025: return 24;	/* F_GETLEASE */
	case 1026: return 27;	/* F_NOTIFY */
	case 1029: return 25;	/* F_CANCELLK */
	case 1030: return 26;	/* F_DUPFD_CLOEXEC */
	case 1031: return 28;	/* F_SETPIPE_SZ */
	case 1032: return 29;	/* F_GETPIPE_SZ */
	default: return 0;
	}
}

static __always_inline __u16 ptrace_req_to_scap(__u64 req)
{
	if (req <= 9)
		return req + 1;		/* TRACEME .. SINGLESTEP */
	switch (req) {
	case 12: return 26;	/* GETREGS */
	case 13: return 27;	/* SETREGS */
	case 14: return 28;	/* GETFPREGS */
	case 15: return 29;	/* SETFPREGS */
	case 16: return 11;	/* ATTACH */
	case 17: return 12;	/* DETACH */
	case 18: return 30;	/* GETFPXREGS */
	case 19: return 31;	/* SETFPXREGS */
	case 24: return 13;	/* SYSCALL */
	case 0x4200: return 14;	/* SETOPTIONS */
	case 0x4201: return 15;	/* GETEVENTMSG */
	case 0x4202: return 16;	/* GETSIGINFO */
	case 0x4203: return 17;	/* SETSIGINFO */
	case 0x4204: return 18;	/* GETREGSET */
	case 0x4205: return 19;	/* SETREGSET */
	case 0x4206: return 20;	/* SEIZE */
	case 0x4207: return 21;	/* INTERRUPT */
	case 0x4208: return 22;	/* LISTEN */
	case 0x4209: return 23;	/* PEEKSIGINFO */
	case 0x420a: return 24;	/* GETSIGMASK */
	case 0x420b: return 25;	/* SETSIGMASK */
	default: return 0;
	}
}

static __always_inline __u32 resolve_to_scap(__u64 r)
{
	__u32 out = 0;

	if (r & 0x08)
		out |= SCAP_RESOLVE_BENEATH;
	if (r & 0x10)
		out |= SCAP_RESOLVE_IN_ROOT;
	if (r & 0x02)
		out |= SCAP_RESOLVE_NO_MAGICLINKS;
	if (r & 0x04)
		out |= SCAP_RESOLVE_NO_SYMLINKS;
	if (r & 0x01)
		out |= SCAP_RESOLVE_NO_XDEV;
	if (r & 0x20)
		out |= SCAP_RESOLVE_CACHED;
	return out;
}

static __always_inline __u32 execveat_flags_to_scap(__u64 f)
{
	__u32 out = 0;

	if (f & 0x1000)
		out |= SCAP_EXVAT_AT_EMPTY_PATH;
	if (f & 0x100)
		out |= SCAP_EXVAT_AT_SYMLINK_NOFOLLOW;
	return out;
}

static __always_inline __u64 mount_flags_to_scap(__u64 f)
{
	if ((f & 0xffff0000) == 0xc0ed0000)	/* MS_MGC_VAL magic of old callers */
		f &= ~0xffff0000ULL;
	return f & 0xffffffff;
}

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

/* ---- memory counters ------------------------------------------------------ */

/* Before 6.2 the rss counters were atomics in struct mm_rss_stat (CO-RE flavour). */
struct mm_struct___old {
	struct {
		atomic_long_t count[4];
	} rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __u64 mm_counter(struct mm_struct *mm, int i)
{
	struct mm_struct___old *old = (void *)mm;
	s64 v = 0;

	if (bpf_core_field_exists(mm->rss_stat[0].count))
		v = BPF_CORE_READ(mm, rss_stat[i].count);
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

/* ---- I/O vectors ---------------------------------------------------------- */

struct iov_ctx {
	struct ev *e;
	__u64 uiov;
	__u64 cnt;
	__u64 limit;	/* bytes still wanted (copying) */
	__u64 total;	/* bytes counted or copied */
	__u32 start;
	__u32 copy;
};

static long iov_step(__u64 i, struct iov_ctx *c)
{
	struct iovec iov;
	__u64 len;

	if (i >= c->cnt || (c->copy && c->total >= c->limit))
		return 1;
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(c->uiov + i * sizeof(iov))))
		return 1;
	len = (__u64)iov.iov_len;
	if (!c->copy) {
		c->total += len;
		return 0;
	}
	if (len > c->limit - c->total)
		len = c->limit - c->total;
	len = BOUNDED(len, DATA_MAX);
	if (len && bpf_probe_read_user(&c->e->s->evt[(c->start + c->total) & EVT_MASK], len,
				       iov.iov_base)) {
		c->e->s->pf = 1;
		return 1;
	}
	c->total += len;
	return 0;
}

/* Total length of an iovec array. */
static __always_inline __u64 iov_total(__u64 uiov, __u64 cnt)
{
	struct iov_ctx c = { .uiov = uiov, .cnt = cnt };

	bpf_loop(IOV_MAX_SEGS, iov_step, &c, 0);
	return c.total;
}

/* Copies up to limit bytes gathered from an iovec array as one parameter. */
static __always_inline void ev_iov(struct ev *e, __u64 uiov, __u64 cnt, __u64 limit)
{
	struct iov_ctx c = { .e = e, .uiov = uiov, .cnt = cnt, .start = e->s->off, .copy = 1 };
	__u32 room = ev_room(e);

	if (limit > room)
		limit = room;
	if (limit > DATA_MAX)
		limit = DATA_MAX;
	c.limit = limit;
	bpf_loop(IOV_MAX_SEGS, iov_step, &c, 0);
	ev_len(e, c.total > limit ? limit : c.total);
}

/* ---- poll fd lists --------------------------------------------------------- */

#define POLL_MAX_FDS 16

struct fdlist_ctx {
	struct ev *e;
	__u64 ufds;
	__u64 cnt;
	__u32 start;	/* where the entries begin (after the u16 count) */
	__u32 n;	/* entries written */
	__u32 out;	/* returned events rather than requested ones */
};

static __always_inline __u16 poll_events_to_scap(__u16 ev)
{
	__u16 r = 0;

	if (ev & 0x001)
		r |= 1 << 0;	/* POLLIN */
	if (ev & 0x002)
		r |= 1 << 1;	/* POLLPRI */
	if (ev & 0x004)
		r |= 1 << 2;	/* POLLOUT */
	if (ev & 0x2000)
		r |= 1 << 3;	/* POLLRDHUP */
	if (ev & 0x008)
		r |= 1 << 4;	/* POLLERR */
	if (ev & 0x010)
		r |= 1 << 5;	/* POLLHUP */
	if (ev & 0x020)
		r |= 1 << 6;	/* POLLNVAL */
	if (ev & 0x040)
		r |= 1 << 7;	/* POLLRDNORM */
	if (ev & 0x080)
		r |= 1 << 8;	/* POLLRDBAND */
	if (ev & 0x100)
		r |= 1 << 9;	/* POLLWRNORM */
	if (ev & 0x200)
		r |= 1 << 10;	/* POLLWRBAND */
	return r;
}

static long fdlist_step(__u64 i, struct fdlist_ctx *c)
{
	struct pollfd pfd;
	__u32 at;

	if (i >= c->cnt)
		return 1;
	if (bpf_probe_read_user(&pfd, sizeof(pfd), (void *)(c->ufds + i * sizeof(pfd))))
		return 1;
	at = c->start + c->n * 10;
	*(__s64 *)&c->e->s->evt[at & EVT_MASK] = pfd.fd;
	*(__u16 *)&c->e->s->evt[(at + 8) & EVT_MASK] =
		poll_events_to_scap(c->out ? pfd.revents : pfd.events);
	c->n++;
	return 0;
}

/* scap's fd list: u16 count, then (s64 fd, u16 events) per entry. */
static __always_inline void ev_fdlist(struct ev *e, __u64 ufds, __u64 cnt, __u32 out)
{
	struct fdlist_ctx c = { .e = e, .ufds = ufds, .cnt = cnt, .out = out };

	if (ev_room(e) < 2 + POLL_MAX_FDS * 10 || !ufds) {
		ev_len(e, 0);
		return;
	}
	c.start = e->s->off + 2;
	bpf_loop(POLL_MAX_FDS, fdlist_step, &c, 0);
	*(__u16 *)&e->s->evt[e->s->off & EVT_MASK] = c.n;
	ev_len(e, 2 + c.n * 10);
}

static __always_inline __u64 timespec_ns(__u64 uptr)
{
	struct __kernel_timespec ts = {};

	if (!uptr || bpf_probe_read_user(&ts, sizeof(ts), (void *)uptr))
		return 0;
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- sockets --------------------------------------------------------------- */

static __always_inline struct sock *fd_sock(struct task_struct *task, long fd)
{
	struct file *f = fd_file(task, fd);
	struct socket *sock;

	if (!f)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return NULL;
	/* Only sockets: their file's private_data is a struct socket whose file is f. */
	if (BPF_CORE_READ(sock, file) != f)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* scap's sockaddr: family byte, then address and port (host order) or path. */
static __always_inline void ev_sockaddr(struct ev *e, __u64 uaddr, __u64 ulen)
{
	__u8 *p = &e->s->evt[e->s->off & EVT_MASK];
	__u16 family = 0;
	__u16 port;
	long n;

	if (!uaddr || ulen < 2 || bpf_probe_read_user(&family, 2, (void *)uaddr)) {
		ev_len(e, 0);
		return;
	}
	p[0] = family;
	if (family == K_AF_INET) {
		struct sockaddr_in sin = {};

		bpf_probe_read_user(&sin, sizeof(sin), (void *)uaddr);
		*(__u32 *)&p[1] = sin.sin_addr.s_addr;
		*(__u16 *)&p[5] = bpf_ntohs(sin.sin_port);
		ev_len(e, 7);
	} else if (family == K_AF_INET6) {
		struct sockaddr_in6 sin6 = {};

		bpf_probe_read_user(&sin6, sizeof(sin6), (void *)uaddr);
		__builtin_memcpy(&p[1], &sin6.sin6_addr, 16);
		port = bpf_ntohs(sin6.sin6_port);
		*(__u16 *)&p[17] = port;
		ev_len(e, 19);
	} else if (family == K_AF_UNIX) {
		n = bpf_probe_read_user_str(&p[1], UNIX_PATH_MAX, (void *)(uaddr + 2));
		if (n <= 0) {
			p[1] = 0;
			n = 1;
		}
		ev_len(e, 1 + n);
	} else {
		ev_len(e, 1);
	}
}

/*
 * scap's socket tuple: local and remote ends of a socket; inbound (accepted,
 * received) ones list the remote end first. uaddr, when set, is a user sockaddr
 * naming the remote end (sendto/recvfrom on an unconnected socket).
 */
static __always_inline void ev_tuple(struct ev *e, struct sock *sk, bool inbound, __u64 uaddr)
{
	__u8 *p = &e->s->evt[e->s->off & EVT_MASK];
	__u16 family, lport, rport;

	if (!sk) {
		ev_len(e, 0);
		return;
	}
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	p[0] = family;
	if (family == K_AF_INET) {
		__u32 laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		struct sockaddr_in sin = {};

		if (uaddr && !bpf_probe_read_user(&sin, sizeof(sin), (void *)uaddr) &&
		    sin.sin_family == K_AF_INET) {
			raddr = sin.sin_addr.s_addr;
			rport = bpf_ntohs(sin.sin_port);
		}
		*(__u32 *)&p[1] = inbound ? raddr : laddr;
		*(__u16 *)&p[5] = inbound ? rport : lport;
		*(__u32 *)&p[7] = inbound ? laddr : raddr;
		*(__u16 *)&p[11] = inbound ? lport : rport;
		ev_len(e, 13);
	} else if (family == K_AF_INET6) {
		struct in6_addr la = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr ra = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		struct sockaddr_in6 sin6 = {};

		if (uaddr && !bpf_probe_read_user(&sin6, sizeof(sin6), (void *)uaddr) &&
		    sin6.sin6_family == K_AF_INET6) {
			ra = sin6.sin6_addr;
			rport = bpf_ntohs(sin6.sin6_port);
		}
		__builtin_memcpy(&p[1], inbound ? &ra : &la, 16);
		*(__u16 *)&p[17] = inbound ? rport : lport;
		__builtin_memcpy(&p[19], inbound ? &la : &ra, 16);
		*(__u16 *)&p[35] = inbound ? lport : rport;
		ev_len(e, 37);
	} else if (family == K_AF_UNIX) {
		struct unix_sock *us = (struct unix_sock *)sk;
		struct sock *peer = BPF_CORE_READ(us, peer);
		struct unix_address *addr;
		long n = 0;

		*(__u64 *)&p[1] = (__u64)sk;
		*(__u64 *)&p[9] = (__u64)peer;
		addr = peer ? BPF_CORE_READ((struct unix_sock *)peer, addr) : NULL;
		if (!addr)
			addr = BPF_CORE_READ(us, addr);
		if (addr)
			n = bpf_probe_read_kernel_str(&p[17], UNIX_PATH_MAX, &addr->name[0].sun_path);
		if (n <= 0) {
			p[17] = 0;
			n = 1;
		}
		ev_len(e, 17 + n);
	} else {
		ev_len(e, 1);
	}
}

/* ---- the recipe interpreter ------------------------------------------------- */

static __always_inline void emit_param(struct ev *e, struct pt_regs *regs, long ret,
				       const struct param_spec *ps, __u32 snaplen)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 kind = ps->kind, a = ps->arg, size = ps->size, aux = ps->aux;
	__u64 v, uptr;

	switch (kind) {
	case PK_ARG:
		ev_int(e, sys_arg(regs, a), size);
		break;
	case PK_ARG_S32:
		ev_int(e, (__s64)(__s32)sys_arg(regs, a), size);
		break;
	case PK_RET:
		ev_int(e, ret, size);
		break;
	case PK_USTR:
		ev_ustr(e, (void *)sys_arg(regs, a));
		break;
	case PK_UBUF_RET:
		ev_ubuf(e, (void *)sys_arg(regs, a), ret > 0 ? ret : 0, snaplen);
		break;
	case PK_UBUF_ARG:
		ev_ubuf(e, (void *)sys_arg(regs, a), sys_arg(regs, aux), snaplen);
		break;
	case PK_IOV_RET:
		v = ret > 0 ? ret : 0;
		ev_iov(e, sys_arg(regs, a), sys_arg(regs, aux), v < snaplen ? v : snaplen);
		break;
	case PK_IOV_ARG:
		ev_iov(e, sys_arg(regs, a), sys_arg(regs, aux), snaplen);
		break;
	case PK_IOV_LEN:
		ev_int(e, iov_total(sys_arg(regs, a), sys_arg(regs, aux)), 4);
		break;
	case PK_MSG_RET:
	case PK_MSG_ARG:
	case PK_MSG_LEN: {
		struct user_msghdr msg = {};

		uptr = sys_arg(regs, a);
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
	case PK_OPEN_FLAGS:
		ev_int(e, open_flags_to_scap(sys_arg(regs, a)), 4);
		break;
	case PK_CLONE_FLAGS:
		ev_int(e, clone_flags_to_scap(sys_arg(regs, a)), 4);
		break;
	case PK_PROT:
		ev_int(e, prot_to_scap(sys_arg(regs, a)), 4);
		break;
	case PK_MMAP_FLAGS:
		ev_int(e, mmap_flags_to_scap(sys_arg(regs, a)), 4);
		break;
	case PK_FCNTL_CMD:
		ev_int(e, fcntl_cmd_to_scap(sys_arg(regs, a)), 1);
		break;
	case PK_PTRACE_REQ:
		ev_int(e, ptrace_req_to_scap(sys_arg(regs, a)), 2);
		break;
	case PK_MOUNT_FLAGS:
		ev_int(e, mount_flags_to_scap(sys_arg(regs, a)), 4);
		break;
	case PK_EXECVEAT_FLAGS:
		ev_int(e, execveat_flags_to_scap(sys_arg(regs, a)), 4);
		break;
	case PK_HOW_FLAGS:
		ev_int(e, open_flags_to_scap(uptr_u64(sys_arg(regs, a), 0)), 4);
		break;
	case PK_HOW_MODE:
		ev_int(e, uptr_u64(sys_arg(regs, a), 1), 4);
		break;
	case PK_HOW_RESOLVE:
		ev_int(e, resolve_to_scap(uptr_u64(sys_arg(regs, a), 2)), 4);
		break;
	case PK_FD_DEV:
		ev_int(e, ret >= 0 ? file_dev(fd_file(task, ret)) : 0, 4);
		break;
	case PK_SOCKADDR:
		ev_sockaddr(e, sys_arg(regs, a), sys_arg(regs, aux));
		break;
	case PK_TUPLE_FD:
		ev_tuple(e, fd_sock(task, (__s32)sys_arg(regs, a)), false, 0);
		break;
	case PK_TUPLE_RET:
		ev_tuple(e, ret >= 0 ? fd_sock(task, ret) : NULL, true, 0);
		break;
	case PK_TUPLE_TO:
	case PK_TUPLE_FROM:
		ev_tuple(e, fd_sock(task, (__s32)sys_arg(regs, a)), kind == PK_TUPLE_FROM,
			 sys_arg(regs, aux));
		break;
	case PK_TUPLE_MSG_TO:
	case PK_TUPLE_MSG_FROM:
		v = 0;
		uptr = sys_arg(regs, aux);
		if (uptr)	/* msg_name, the first member of struct user_msghdr */
			bpf_probe_read_user(&v, sizeof(v), (void *)uptr);
		ev_tuple(e, fd_sock(task, (__s32)sys_arg(regs, a)), kind == PK_TUPLE_MSG_FROM, v);
		break;
	case PK_UPTR_U64:
		ev_int(e, uptr_u64(sys_arg(regs, a), aux), 8);
		break;
	case PK_UPTR_U32:
		v = uptr_u32(sys_arg(regs, a), aux);
		ev_int(e, size == 8 ? (__u64)(__s64)(__s32)v : v, size);
		break;
	case PK_PIPE_INO:
		v = uptr_u32(sys_arg(regs, a), 0);
		ev_int(e, ret >= 0 ? file_ino(fd_file(task, (__s32)v)) : 0, 8);
		break;
	case PK_VM:
		ev_int(e, task_vm(task, aux), 4);
		break;
	case PK_DYN_U64:
		e->s->evt[e->s->off & EVT_MASK] = 0;
		*(__u64 *)&e->s->evt[(e->s->off + 1) & EVT_MASK] = sys_arg(regs, a);
		ev_len(e, 9);
		break;
	case PK_DYN_NONE:
		e->s->evt[e->s->off & EVT_MASK] = 0;
		ev_len(e, 1);
		break;
	case PK_DYN_BPF:
		v = sys_arg(regs, 0);	/* BPF_MAP_CREATE = 0, BPF_PROG_LOAD = 5 */
		e->s->evt[e->s->off & EVT_MASK] =
			(ret >= 0 && (v == 0 || v == 5)) ? SCAP_BPF_IDX_FD : SCAP_BPF_IDX_RES;
		*(__u64 *)&e->s->evt[(e->s->off + 1) & EVT_MASK] = ret;
		ev_len(e, 9);
		break;
	case PK_FDLIST_IN:
	case PK_FDLIST_OUT:
		ev_fdlist(e, sys_arg(regs, a), sys_arg(regs, aux), kind == PK_FDLIST_OUT);
		break;
	case PK_TIMESPEC:
		ev_int(e, timespec_ns(sys_arg(regs, a)), 8);
		break;
	case PK_ZERO:
		ev_int(e, 0, size);
		break;
	default:
		ev_empty(e);
		break;
	}
}

struct recipe_ctx {
	struct ev *e;
	struct pt_regs *regs;
	const struct event_spec *es;
	long ret;
	__u32 snaplen;
};

/* One parameter per bpf_loop() step: the verifier checks this body once, not per step. */
static long recipe_step(__u64 i, struct recipe_ctx *c)
{
	if (i >= SPEC_MAX_PARAMS)
		return 1;
	emit_param(c->e, c->regs, c->ret, &c->es->p[i], c->snaplen);
	return 0;
}

static __always_inline void emit_recipe(struct ev *e, struct pt_regs *regs, long ret,
					const struct event_spec *es)
{
	struct recipe_ctx c = {
		.e = e,
		.regs = regs,
		.es = es,
		.ret = ret,
		.snaplen = settings.snaplen,
	};

	if (c.snaplen > DATA_MAX)
		c.snaplen = DATA_MAX;
	bpf_loop(es->nparams, recipe_step, &c, 0);
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

/* Builds /a/b/c of a dentry under a vfsmount at the end of tmp; returns its start. */
static __always_inline __u32 build_path(struct scratch *s, struct dentry *dentry,
					struct vfsmount *vfsmnt)
{
	struct path_ctx c = {
		.s = s,
		.dentry = dentry,
		.mnt = container_of(vfsmnt, struct mount, mnt),
		.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root),
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
	struct path pwd;

	if (!fs) {
		ev_len(e, 0);
		return;
	}
	pwd = BPF_CORE_READ(fs, pwd);
	ev_tmp_str(e, build_path(e->s, pwd.dentry, pwd.mnt));
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
	if (bpf_core_field_exists(kn->__parent))
		parent = BPF_CORE_READ(kn, __parent);
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

/* cgroups as scap lists them ("controller=path"); v2 has one hierarchy, listed once. */
static __always_inline void ev_cgroups(struct ev *e, struct task_struct *task)
{
	struct cgroup_ctx c = { .s = e->s, .kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn) };
	struct scratch *s = e->s;
	__u32 start;
	long n = 0;

	s->tmp[STR_MAX - 1] = 0;
	s->pos = STR_MAX - 1;
	bpf_loop(CGROUP_PARTS, cgroup_step, &c, 0);
	if (s->pos >= STR_MAX - 1) {
		s->pos = STR_MAX - 2;
		s->tmp[STR_MAX - 2] = '/';
	}
	start = s->pos;
	if (start < 8) {
		ev_len(e, 0);
		return;
	}
	start -= 4;
	s->tmp[BOUNDED(start, STR_MAX - 1)] = 'c';
	s->tmp[BOUNDED(start + 1, STR_MAX - 1)] = 'p';
	s->tmp[BOUNDED(start + 2, STR_MAX - 1)] = 'u';
	s->tmp[BOUNDED(start + 3, STR_MAX - 1)] = '=';
	if (ev_room(e) >= STR_MAX)
		n = bpf_probe_read_kernel_str(&s->evt[e->s->off & EVT_MASK], STR_MAX,
					      &s->tmp[BOUNDED(start, STR_MAX - 1)]);
	ev_len(e, n > 0 ? n : 0);
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

/* A capability set as 64 bits (kernel_cap_t is a u64 since 6.3, two u32 before). */
static __always_inline __u64 cred_caps(const struct cred *cred, int which)
{
	__u64 v = 0;

	if (which == 0)
		bpf_core_read(&v, sizeof(v), &cred->cap_inheritable);
	else if (which == 1)
		bpf_core_read(&v, sizeof(v), &cred->cap_permitted);
	else
		bpf_core_read(&v, sizeof(v), &cred->cap_effective);
	return v;
}

static __always_inline __u32 task_loginuid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))	/* CONFIG_AUDIT */
		return BPF_CORE_READ(task, loginuid.val);
	return (__u32)-1;
}

/* Inode number, ctime and mtime (ns) of the program's file. */
static __always_inline void ev_exe_inode(struct ev *e, struct mm_struct *mm)
{
	struct inode *inode = mm ? BPF_CORE_READ(mm, exe_file, f_inode) : NULL;
	__u64 ctime = 0, mtime = 0;

	if (inode && bpf_core_field_exists(inode->i_ctime_sec)) {
		ctime = BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ULL +
			BPF_CORE_READ(inode, i_ctime_nsec);
		mtime = BPF_CORE_READ(inode, i_mtime_sec) * 1000000000ULL +
			BPF_CORE_READ(inode, i_mtime_nsec);
	}
	ev_int(e, inode ? BPF_CORE_READ(inode, i_ino) : 0, 8);
	ev_int(e, ctime, 8);
	ev_int(e, mtime, 8);
}

/* The process record shared by clone/fork/vfork/clone3 and execve/execveat exits. */
static __always_inline void emit_proc(struct ev *e, struct pt_regs *regs, long ret,
				      __u32 nr, bool exec)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	const struct cred *cred = BPF_CORE_READ(task, cred);
	__u64 arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
	long exe_len = 0;
	__u64 flags = 0;

	ev_int(e, ret, 8);					/* res */
	if (mm) {
		arg_start = BPF_CORE_READ(mm, arg_start);
		arg_end = BPF_CORE_READ(mm, arg_end);
		env_start = BPF_CORE_READ(mm, env_start);
		env_end = BPF_CORE_READ(mm, env_end);
	}
	/* exe: argv[0] */
	if (arg_start && ev_room(e) >= STR_MAX) {
		exe_len = bpf_probe_read_user_str(&e->s->evt[e->s->off & EVT_MASK], STR_MAX,
						  (void *)arg_start);
		if (exe_len < 0) {
			e->s->pf = 1;
			exe_len = 0;
		}
	}
	ev_len(e, exe_len);
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
	if (ev_room(e) >= 16) {					/* comm */
		long n = bpf_get_current_comm(&e->s->evt[e->s->off & EVT_MASK], 16);

		ev_len(e, n ? 0 : bpf_probe_read_kernel_str(&e->s->evt[e->s->off & EVT_MASK], 16,
							     &e->s->evt[e->s->off & EVT_MASK]));
	} else {
		ev_len(e, 0);
	}
	ev_cgroups(e, task);					/* cgroups */
	if (exec) {
		ev_user_block(e, env_start, env_end);		/* env */
		ev_int(e, task_tty(task), 4);			/* tty */
		ev_int(e, BPF_CORE_READ(task, signal, pids[K_PIDTYPE_PGID], numbers[0].nr), 8);
		ev_int(e, task_loginuid(task), 4);			/* loginuid */
		ev_int(e, 0, 4);				/* flags */
		ev_int(e, cred_caps(cred, 0), 8);			/* cap_inheritable */
		ev_int(e, cred_caps(cred, 1), 8);			/* cap_permitted */
		ev_int(e, cred_caps(cred, 2), 8);			/* cap_effective */
		ev_exe_inode(e, mm);		/* exe_ino, exe_ino_ctime, exe_ino_mtime */
		ev_int(e, BPF_CORE_READ(cred, euid.val), 4);		/* uid */
		return;
	}
	if (nr == __NR_clone)
		flags = sys_arg(regs, 0);
	else if (nr == __NR_clone3)
		flags = uptr_u64(sys_arg(regs, 0), 0);
	else if (nr == __NR_vfork)
		flags = K_CLONE_VFORK | K_CLONE_VM;
	ev_int(e, clone_flags_to_scap(flags), 4);		/* flags */
	ev_int(e, BPF_CORE_READ(cred, euid.val), 4);		/* uid */
	ev_int(e, BPF_CORE_READ(cred, egid.val), 4);		/* gid */
	ev_int(e, task_vnr(task, false), 8);			/* vtid */
	ev_int(e, task_vnr(task, true), 8);			/* vpid */
}

/* ---- program bodies --------------------------------------------------------------- */

static __always_inline void emit_generic(struct ev *e, __u32 nr, bool enter)
{
	__u16 code = probe_config.ppm_sc_codes[BOUNDED(nr, SENTRY_SYSCALL_NR_MAX - 1)];

	ev_int(e, code, 2);
	if (enter)
		ev_int(e, nr, 2);
}

#define K_TS_COMPAT 0x0002

/* 32-bit syscalls number differently: they are not ours to decode (counted as suppressed). */
static __always_inline bool task_is_compat(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, thread_info.status) & K_TS_COMPAT;
}

static __always_inline int on_sys_enter(struct pt_regs *regs, long id)
{
	const struct syscall_spec *sc;
	struct scratch *s;
	struct ev e;
	__u32 nr = id;

	if (!settings.capturing)
		return 0;
	if (nr == __NR_execveat) {
		__u32 tid = bpf_get_current_pid_tgid(), one = 1;

		bpf_map_update_elem(&in_execveat, &tid, &one, BPF_ANY);
	}
	/* cheapest test first: the interest set is a bit in .bss */
	if (!syscall_wanted(nr) || task_is_compat()) {
		count_suppressed();
		return 0;
	}
	if (!task_wanted())
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	sc = &syscall_specs[BOUNDED(nr, SENTRY_SYSCALL_NR_MAX - 1)];
	if (!sc->defined) {
		ev_begin(&e, s, SE_GENERIC_E, 2, bpf_get_current_pid_tgid() & 0xffffffff);
		emit_generic(&e, nr, true);
	} else {
		ev_begin(&e, s, sc->enter.type, sc->enter.nparams,
			 bpf_get_current_pid_tgid() & 0xffffffff);
		emit_recipe(&e, regs, 0, &sc->enter);
	}
	ev_submit(&e);
	return 0;
}

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret)
{
	const struct syscall_spec *sc;
	struct scratch *s;
	struct ev e;
	__u32 nr;

	if (!settings.capturing)
		return 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr == __NR_execve || nr == __NR_execveat) {
		__u32 tid = bpf_get_current_pid_tgid();

		if (bpf_map_lookup_elem(&in_execveat, &tid)) {
			bpf_map_delete_elem(&in_execveat, &tid);
			nr = __NR_execveat;
		}
	}
	if (!syscall_wanted(nr) || task_is_compat()) {
		count_suppressed();
		return 0;
	}
	if (!task_wanted())
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	sc = &syscall_specs[BOUNDED(nr, SENTRY_SYSCALL_NR_MAX - 1)];
	if (!sc->defined) {
		ev_begin(&e, s, SE_GENERIC_X, 1, bpf_get_current_pid_tgid() & 0xffffffff);
		emit_generic(&e, nr, false);
	} else if (sc->exit.handler == H_PROC_EXEC) {
		ev_begin(&e, s, sc->exit.type, probe_config.exec_x_nparams,
			 bpf_get_current_pid_tgid() & 0xffffffff);
		emit_proc(&e, regs, ret, nr, true);
	} else if (sc->exit.handler == H_PROC_CLONE) {
		ev_begin(&e, s, sc->exit.type, probe_config.clone_x_nparams,
			 bpf_get_current_pid_tgid() & 0xffffffff);
		emit_proc(&e, regs, ret, nr, false);
	} else {
		ev_begin(&e, s, sc->exit.type, sc->exit.nparams,
			 bpf_get_current_pid_tgid() & 0xffffffff);
		emit_recipe(&e, regs, ret, &sc->exit);
	}
	ev_submit(&e);
	return 0;
}

static __always_inline int on_process_exit(struct task_struct *task)
{
	struct scratch *s;
	struct ev e;
	__u32 code;

	if (!task_wanted())
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	code = BPF_CORE_READ(task, exit_code);
	ev_begin(&e, s, SE_PROCEXIT_1_E, probe_config.procexit_nparams, BPF_CORE_READ(task, pid));
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
	return on_sys_enter(regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit_btf, struct task_struct *task)
{
	return on_process_exit(task);
}

SEC("raw_tp/sys_enter")
int sys_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return on_sys_enter((struct pt_regs *)ctx->args[0], ctx->args[1]);
}

SEC("raw_tp/sys_exit")
int sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return on_sys_exit((struct pt_regs *)ctx->args[0], ctx->args[1]);
}

SEC("raw_tp/sched_process_exit")
int sched_process_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return on_process_exit((struct task_struct *)ctx->args[0]);
}
