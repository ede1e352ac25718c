/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe_net.h - socket addresses and connection tuples in scap's encodings (their
 * layouts: SENTRY_SOCKADDR_* and SENTRY_SOCKTUPLE_* of sentry_wire.h).
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
	p[SENTRY_SOCK_OFF_FAMILY] = family;
	if (family == K_AF_INET) {
		struct sockaddr_in sin = {};

		bpf_probe_read_user(&sin, sizeof(sin), (void *)uaddr);
		*(__u32 *)&p[SENTRY_SOCKADDR_INET_OFF_ADDR] = sin.sin_addr.s_addr;
		*(__u16 *)&p[SENTRY_SOCKADDR_INET_OFF_PORT] = bpf_ntohs(sin.sin_port);
		ev_len(e, SENTRY_SOCKADDR_INET_LEN);
	} else if (family == K_AF_INET6) {
		struct sockaddr_in6 sin6 = {};

		bpf_probe_read_user(&sin6, sizeof(sin6), (void *)uaddr);
		__builtin_memcpy(&p[SENTRY_SOCKADDR_INET6_OFF_ADDR], &sin6.sin6_addr, 16);
		port = bpf_ntohs(sin6.sin6_port);
		*(__u16 *)&p[SENTRY_SOCKADDR_INET6_OFF_PORT] = port;
		ev_len(e, SENTRY_SOCKADDR_INET6_LEN);
	} else if (family == K_AF_UNIX) {
		n = bpf_probe_read_user_str(&p[SENTRY_SOCKADDR_UNIX_OFF_PATH], UNIX_PATH_MAX, (void *)(uaddr + 2));
		if (n <= 0) {
			p[SENTRY_SOCKADDR_UNIX_OFF_PATH] = 0;
			n = 1;
		}
		ev_len(e, SENTRY_SOCKADDR_UNIX_OFF_PATH + n);
	} else {
		ev_len(e, 1);	/* the family alone */
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
	p[SENTRY_SOCK_OFF_FAMILY] = family;
	if (family == K_AF_INET) {
		__u32 laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		struct sockaddr_in sin = {};

		if (uaddr && !bpf_probe_read_user(&sin, sizeof(sin), (void *)uaddr) &&
		    sin.sin_family == K_AF_INET) {
			raddr = sin.sin_addr.s_addr;
			rport = bpf_ntohs(sin.sin_port);
		}
		*(__u32 *)&p[SENTRY_SOCKTUPLE_INET_OFF_SIP] = inbound ? raddr : laddr;
		*(__u16 *)&p[SENTRY_SOCKTUPLE_INET_OFF_SPORT] = inbound ? rport : lport;
		*(__u32 *)&p[SENTRY_SOCKTUPLE_INET_OFF_DIP] = inbound ? laddr : raddr;
		*(__u16 *)&p[SENTRY_SOCKTUPLE_INET_OFF_DPORT] = inbound ? lport : rport;
		ev_len(e, SENTRY_SOCKTUPLE_INET_LEN);
	} else if (family == K_AF_INET6) {
		struct in6_addr la = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr ra = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		struct sockaddr_in6 sin6 = {};

		if (uaddr && !bpf_probe_read_user(&sin6, sizeof(sin6), (void *)uaddr) &&
		    sin6.sin6_family == K_AF_INET6) {
			ra = sin6.sin6_addr;
			rport = bpf_ntohs(sin6.sin6_port);
		}
		__builtin_memcpy(&p[SENTRY_SOCKTUPLE_INET6_OFF_SIP], inbound ? &ra : &la, 16);
		*(__u16 *)&p[SENTRY_SOCKTUPLE_INET6_OFF_SPORT] = inbound ? rport : lport;
		__builtin_memcpy(&p[SENTRY_SOCKTUPLE_INET6_OFF_DIP], inbound ? &la : &ra, 16);
		*(__u16 *)&p[SENTRY_SOCKTUPLE_INET6_OFF_DPORT] = inbound ? lport : rport;
		ev_len(e, SENTRY_SOCKTUPLE_INET6_LEN);
	} else if (family == K_AF_UNIX) {
		struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		struct unix_sock *named = (struct unix_sock *)(inbound ? sk : peer);
		struct unix_address *addr = named ? BPF_CORE_READ(named, addr) : NULL;
		__u16 ufamily = 0;
		long n = 0;

		*(__u64 *)&p[SENTRY_SOCKTUPLE_UNIX_OFF_SOURCE] = (__u64)(inbound ? sk : peer);
		*(__u64 *)&p[SENTRY_SOCKTUPLE_UNIX_OFF_DEST] = (__u64)(inbound ? peer : sk);
		if (addr)
			n = bpf_probe_read_kernel_str(&p[SENTRY_SOCKTUPLE_UNIX_OFF_PATH], UNIX_PATH_MAX,
						      &addr->name[0].sun_path);
		if (uaddr && (!inbound || n <= 1) &&
		    !bpf_probe_read_user(&ufamily, sizeof(ufamily), (void *)uaddr) &&
		    ufamily == K_AF_UNIX)
			n = bpf_probe_read_user_str(&p[SENTRY_SOCKTUPLE_UNIX_OFF_PATH], UNIX_PATH_MAX,
						    (void *)(uaddr + 2));
		if (n <= 0) {
			p[SENTRY_SOCKTUPLE_UNIX_OFF_PATH] = 0;
			n = 1;
		}
		ev_len(e, SENTRY_SOCKTUPLE_UNIX_OFF_PATH + n);
	} else {
		ev_len(e, 1);	/* the family alone */
	}
}

#endif /* SENTRY_PROBE_NET_H */
