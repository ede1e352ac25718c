/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe_net.h - socket addresses and connection tuples in scap's encodings.
 * Included once, by sentry.bpf.c, after probe_helpers.h.
 */
#ifndef SENTRY_PROBE_NET_H
#define SENTRY_PROBE_NET_H

#define K_AF_UNIX	1
#define K_AF_INET	2
#define K_AF_INET6	10
#define UNIX_PATH_MAX	108

/* ---- sockets --------------------------------------------------------------- */

static __always_inline struct sock *fd_sock(struct ev *e, long fd)
{
	struct file *f = fd_file(e, fd);
	struct socket *sock;

	if (!f)
		return NULL;
	sock = probe_config.direct_reads ? f->private_data : BPF_CORE_READ(f, private_data);
	if (!sock)
		return NULL;
	/* Only sockets: their file's private_data is a struct socket whose file is f. */
	if ((__u64)BPF_CORE_READ(sock, file) != e->s->file)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* A listening socket's accept queue: fill in percent (which 0), length (1) or size (2). */
static __always_inline __u32 accept_queue(struct sock *sk, __u32 which)
{
	__u32 len, max;

	if (!sk)
		return 0;
	len = BPF_CORE_READ(sk, sk_ack_backlog);
	max = BPF_CORE_READ(sk, sk_max_ack_backlog);
	if (which == 1)
		return len;
	if (which == 2)
		return max;
	return max ? len * 100 / max : 0;
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
 * Unix sockets as scap has them: inbound, (this socket, peer) and this
 * socket's name; outbound, (peer, this socket) and the peer's name, or the
 * caller's address when it gives one (or when the name is empty).
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
		struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		struct unix_sock *named = (struct unix_sock *)(inbound ? sk : peer);
		struct unix_address *addr = named ? BPF_CORE_READ(named, addr) : NULL;
		__u16 ufamily = 0;
		long n = 0;

		*(__u64 *)&p[1] = (__u64)(inbound ? sk : peer);
		*(__u64 *)&p[9] = (__u64)(inbound ? peer : sk);
		if (addr)
			n = bpf_probe_read_kernel_str(&p[17], UNIX_PATH_MAX, &addr->name[0].sun_path);
		if (uaddr && (!inbound || n <= 1) &&
		    !bpf_probe_read_user(&ufamily, sizeof(ufamily), (void *)uaddr) &&
		    ufamily == K_AF_UNIX)
			n = bpf_probe_read_user_str(&p[17], UNIX_PATH_MAX, (void *)(uaddr + 2));
		if (n <= 0) {
			p[17] = 0;
			n = 1;
		}
		ev_len(e, 17 + n);
	} else {
		ev_len(e, 1);
	}
}

#endif /* SENTRY_PROBE_NET_H */
