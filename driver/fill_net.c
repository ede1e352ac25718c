// SPDX-License-Identifier: GPL-2.0
/*
 * fill_net.c - socket parameters in scap's layouts: a user sockaddr, the connection tuple
 * of the socket behind an fd (the recipe kinds PK_SOCKADDR and PK_TUPLE_*, fill_recipe.c).
 * Every user access goes through sentry_copy_user(), which fails instead of sleeping.
 */
#include "fill.h"

/* PT_SOCKADDR from a user sockaddr of len bytes. */
void sentry_push_usockaddr(struct sentry_evt *e, unsigned long uaddr, long len)
{
	struct sockaddr_storage ss;
	u8 buf[SENTRY_SOCKADDR_UNIX_OFF_PATH + sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	u32 n = 0;

	if (!uaddr || len < (long)sizeof(sa_family_t) || len > (long)sizeof(ss) ||
	    sentry_copy_user(&ss, uaddr, len)) {
		sentry_push_empty(e);
		return;
	}
	buf[SENTRY_SOCK_OFF_FAMILY] = ss.ss_family;
	n = SENTRY_SOCK_OFF_FAMILY + 1;
	if (ss.ss_family == AF_INET && len >= (long)sizeof(struct sockaddr_in)) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		u16 port = ntohs(in->sin_port);

		memcpy(buf + SENTRY_SOCKADDR_INET_OFF_ADDR, &in->sin_addr.s_addr, 4);
		memcpy(buf + SENTRY_SOCKADDR_INET_OFF_PORT, &port, 2);
		n = SENTRY_SOCKADDR_INET_LEN;
	} else if (ss.ss_family == AF_INET6 && len >= (long)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		u16 port = ntohs(in6->sin6_port);

		memcpy(buf + SENTRY_SOCKADDR_INET6_OFF_ADDR, &in6->sin6_addr, 16);
		memcpy(buf + SENTRY_SOCKADDR_INET6_OFF_PORT, &port, 2);
		n = SENTRY_SOCKADDR_INET6_LEN;
	} else if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		long plen = len - offsetof(struct sockaddr_un, sun_path);

		plen = clamp_t(long, plen, 0, sizeof(un->sun_path));
		plen = strnlen(un->sun_path, plen);
		memcpy(buf + SENTRY_SOCKADDR_UNIX_OFF_PATH, un->sun_path, plen);
		n = SENTRY_SOCKADDR_UNIX_OFF_PATH + plen;
		buf[n++] = '\0';
	}
	sentry_push_raw(e, buf, n);
}

/* The bound name of a unix socket into dst (no NUL); its length, 0 when unbound. */
static u32 unix_bound_name(struct sock *sk, u8 *dst)
{
	struct unix_address *addr = smp_load_acquire(&unix_sk(sk)->addr);	/* pairs with unix_bind's release */
	u32 len;

	if (!addr || addr->len <= (int)offsetof(struct sockaddr_un, sun_path))
		return 0;
	len = addr->len - offsetof(struct sockaddr_un, sun_path);
	len = strnlen(addr->name->sun_path, min_t(u32, len, UNIX_PATH_MAX));
	memcpy(dst, addr->name->sun_path, len);
	return len;
}

/*
 * PT_SOCKTUPLE of the socket behind fd: client side first, so for an
 * inbound connection (accept, received data) the peer is the source. uaddr,
 * when set, is a user sockaddr naming the remote end (sendto/recvfrom,
 * sendmsg/recvmsg on an unconnected socket); it is read before the RCU section.
 * Unix sockets as scap has them: inbound, (this socket, peer) and this
 * socket's name; outbound, (peer, this socket) and the peer's name, or the
 * caller's address when it gives one (or when the name is empty).
 */
void sentry_push_socktuple(struct sentry_evt *e, long fd, bool inbound, unsigned long uaddr)
{
	u8 buf[SENTRY_SOCKTUPLE_UNIX_OFF_PATH + UNIX_PATH_MAX + 1];
	union {
		struct sockaddr_in6 in6;	/* large enough for a sockaddr_in too */
		struct sockaddr_un un;
	} remote = { 0 };
	struct socket *sock;
	struct sock *sk;
	struct file *f;
	u32 n = 0;

	if (uaddr && sentry_copy_user(&remote, uaddr, sizeof(remote.un)) &&
	    sentry_copy_user(&remote, uaddr, sizeof(remote.in6)) &&
	    sentry_copy_user(&remote, uaddr, sizeof(struct sockaddr_in)))
		remote.in6.sin6_family = AF_UNSPEC;
	rcu_read_lock();
	f = sentry_fd_file(fd);
	sock = f ? sentry_sock_from_file(f) : NULL;
	sk = sock ? sock->sk : NULL;
	if (!sk) {
		rcu_read_unlock();
		sentry_push_empty(e);
		return;
	}
	buf[SENTRY_SOCK_OFF_FAMILY] = sk->sk_family;
	n = SENTRY_SOCK_OFF_FAMILY + 1;
	if (sk->sk_family == AF_INET) {
		struct inet_sock *inet = inet_sk(sk);
		__be32 l = inet->inet_rcv_saddr ? inet->inet_rcv_saddr : inet->inet_saddr;
		__be32 r = inet->inet_daddr;
		u16 lp = ntohs(inet->inet_sport), rp = ntohs(inet->inet_dport);

		if (remote.in6.sin6_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&remote;

			r = sin->sin_addr.s_addr;
			rp = ntohs(sin->sin_port);
		}

		memcpy(buf + SENTRY_SOCKTUPLE_INET_OFF_SIP, inbound ? &r : &l, 4);
		memcpy(buf + SENTRY_SOCKTUPLE_INET_OFF_SPORT, inbound ? &rp : &lp, 2);
		memcpy(buf + SENTRY_SOCKTUPLE_INET_OFF_DIP, inbound ? &l : &r, 4);
		memcpy(buf + SENTRY_SOCKTUPLE_INET_OFF_DPORT, inbound ? &lp : &rp, 2);
		n = SENTRY_SOCKTUPLE_INET_LEN;
	} else if (sk->sk_family == AF_INET6) {
		struct inet_sock *inet = inet_sk(sk);
		u16 lp = ntohs(inet->inet_sport), rp = ntohs(inet->inet_dport);
		const void *l = &sk->sk_v6_rcv_saddr, *r = &sk->sk_v6_daddr;

		if (remote.in6.sin6_family == AF_INET6) {
			r = &remote.in6.sin6_addr;
			rp = ntohs(remote.in6.sin6_port);
		}

		memcpy(buf + SENTRY_SOCKTUPLE_INET6_OFF_SIP, inbound ? r : l, 16);
		memcpy(buf + SENTRY_SOCKTUPLE_INET6_OFF_SPORT, inbound ? &rp : &lp, 2);
		memcpy(buf + SENTRY_SOCKTUPLE_INET6_OFF_DIP, inbound ? l : r, 16);
		memcpy(buf + SENTRY_SOCKTUPLE_INET6_OFF_DPORT, inbound ? &lp : &rp, 2);
		n = SENTRY_SOCKTUPLE_INET6_LEN;
	} else if (sk->sk_family == AF_UNIX) {
		struct sock *peer = READ_ONCE(unix_sk(sk)->peer);
		struct sock *named = inbound ? sk : peer;
		u64 us = (u64)(unsigned long)sk, them = (u64)(unsigned long)peer;
		u32 plen;

		memcpy(buf + SENTRY_SOCKTUPLE_UNIX_OFF_SOURCE, inbound ? &us : &them, 8);
		memcpy(buf + SENTRY_SOCKTUPLE_UNIX_OFF_DEST, inbound ? &them : &us, 8);
		n = SENTRY_SOCKTUPLE_UNIX_OFF_PATH;
		plen = named ? unix_bound_name(named, buf + n) : 0;
		if (remote.un.sun_family == AF_UNIX && (!inbound || !plen)) {
			plen = strnlen(remote.un.sun_path, UNIX_PATH_MAX);
			memcpy(buf + n, remote.un.sun_path, plen);
		}
		n += plen;
		buf[n++] = '\0';
	}
	rcu_read_unlock();
	sentry_push_raw(e, buf, n);
}
