// SPDX-License-Identifier: GPL-2.0
/*
 * encode.c - build one scap-encoded event directly in a ring.
 *
 * Layout (scap's): 26-byte packed header, nparams u16 lengths, then the
 * parameter bytes. The event is written into free ring space past head and
 * published only by sentry_evt_commit() moving head, so an event that turns
 * out not to fit is simply never published (and counted as a drop).
 *
 * Callers run in a tracepoint probe with preemption disabled, on the ring of
 * their own CPU, holding ring->in_use: one producer per ring at a time.
 */
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/sched.h>
#include "sentry.h"

/* Upper bound of one event: header, 32 lengths and the largest parameters. */
#define SENTRY_MAX_EVENT_LEN (128 * 1024)

bool sentry_evt_begin(struct sentry_evt *e, struct sentry_ring *ring, u16 type,
		      u32 nparams, u64 ts)
{
	struct sentry_ring_ctrl *c = ring->ctrl;
	struct sentry_evt_hdr *hdr;
	u64 head, tail, used, size = ring->mask + 1;

	head = c->head;		/* only this CPU's producer writes head */
	/*
	 * Acquire pairs with the consumer's store of tail after it has read the
	 * records before tail: we must not reuse that space any earlier.
	 */
	tail = smp_load_acquire(&c->tail);
	used = head - tail;
	if (used > size) {	/* consumer wrote a tail past head: refuse */
		c->n_drops_bug++;
		return false;
	}
	e->ring = ring;
	e->room = min_t(u64, size - used, SENTRY_MAX_EVENT_LEN);
	e->nparams = nparams;
	e->pushed = 0;
	e->overflow = false;
	e->pf = false;
	e->len = SENTRY_EVT_HDR_LEN + nparams * sizeof(u16);
	if (e->len > e->room) {
		c->n_drops_buffer++;
		return false;
	}
	e->start = ring->data + (head & ring->mask);
	hdr = (struct sentry_evt_hdr *)e->start;
	hdr->ts = ts;
	hdr->tid = current->pid;
	hdr->type = type;
	hdr->nparams = nparams;
	e->lens = (u16 *)(e->start + SENTRY_EVT_HDR_LEN);
	return true;
}

void sentry_evt_commit(struct sentry_evt *e)
{
	struct sentry_ring_ctrl *c = e->ring->ctrl;
	struct sentry_evt_hdr *hdr = (struct sentry_evt_hdr *)e->start;

	if (e->overflow) {
		c->n_drops_buffer++;
		return;
	}
	if (e->pushed != e->nparams) {	/* a filler disagrees with the table */
		c->n_drops_bug++;
		return;
	}
	if (e->pf)
		c->n_drops_pf++;	/* published, with an empty parameter */
	put_unaligned(e->len, &hdr->len);
	c->n_evts++;
	/*
	 * Release orders every byte of the record before the new head: a
	 * consumer that reads head (acquire) then sees the whole record.
	 */
	smp_store_release(&c->head, c->head + e->len);
}

u8 *sentry_push_reserve(struct sentry_evt *e, u32 len)
{
	if (e->overflow || e->pushed >= e->nparams)
		return NULL;
	if (len > U16_MAX || e->len + len > e->room) {
		e->overflow = true;
		return NULL;
	}
	return e->start + e->len;
}

void sentry_push_done(struct sentry_evt *e, u32 used)
{
	/* Records are packed back to back: the lengths array may be unaligned. */
	put_unaligned((u16)used, &e->lens[e->pushed++]);
	e->len += used;
}

void sentry_push_raw(struct sentry_evt *e, const void *src, u32 len)
{
	u8 *dst = sentry_push_reserve(e, len);

	if (!dst)
		return;
	memcpy(dst, src, len);
	sentry_push_done(e, len);
}

void sentry_push_empty(struct sentry_evt *e)
{
	if (sentry_push_reserve(e, 0))
		sentry_push_done(e, 0);
}

void sentry_push_u8(struct sentry_evt *e, u8 v)
{
	sentry_push_raw(e, &v, sizeof(v));
}

void sentry_push_u16(struct sentry_evt *e, u16 v)
{
	sentry_push_raw(e, &v, sizeof(v));
}

void sentry_push_u32(struct sentry_evt *e, u32 v)
{
	sentry_push_raw(e, &v, sizeof(v));
}

void sentry_push_u64(struct sentry_evt *e, u64 v)
{
	sentry_push_raw(e, &v, sizeof(v));
}

/* A kernel string, NUL included. */
void sentry_push_kstr(struct sentry_evt *e, const char *s)
{
	sentry_push_raw(e, s, strnlen(s, SENTRY_MAX_PATH - 1) + 1);
}

/*
 * Probes run with preemption disabled: a fault on user memory must fail at
 * once instead of sleeping, hence pagefault_disable() around every access.
 */
long sentry_copy_user(void *dst, unsigned long uptr, u32 len)
{
	unsigned long left;

	pagefault_disable();
	left = copy_from_user(dst, (const void __user *)uptr, len);
	pagefault_enable();
	return left ? -EFAULT : 0;
}

/* A user string of at most max bytes with its NUL; empty if unreadable. */
void sentry_push_ustr(struct sentry_evt *e, unsigned long uptr, u32 max)
{
	u32 avail = e->room > e->len ? e->room - e->len : 0;
	u32 limit = min(avail, max);
	long n;
	u8 *dst;

	if (!uptr) {
		sentry_push_empty(e);
		return;
	}
	if (limit < 1) {
		e->overflow = true;
		return;
	}
	dst = sentry_push_reserve(e, limit);
	if (!dst)
		return;
	pagefault_disable();
	n = strncpy_from_user(dst, (const char __user *)uptr, limit - 1);
	pagefault_enable();
	if (n < 0) {
		e->pf = true;
		sentry_push_done(e, 0);
		return;
	}
	if (n == limit - 1 && limit < max) {	/* cut by ring space, not by max */
		e->overflow = true;
		return;
	}
	dst[n] = '\0';
	sentry_push_done(e, n + 1);
}

/* len bytes of user memory; empty if unreadable. */
void sentry_push_ubuf(struct sentry_evt *e, unsigned long uptr, u32 len)
{
	u8 *dst = sentry_push_reserve(e, len);

	if (!dst)
		return;
	if (len && sentry_copy_user(dst, uptr, len)) {
		e->pf = true;
		len = 0;
	}
	sentry_push_done(e, len);
}
