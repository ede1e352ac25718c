/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scapscan.c - walk the event blocks of an in-memory scap capture.
 *
 * The Python reader (scapreader.py) hands over the decompressed file; this walks
 * plain V2 event blocks, checks each block and event length, and writes one
 * fixed-size record per event so that Python builds Event objects without
 * parsing headers itself. When the event table says parameter 0 is an integer,
 * its value comes along too (the fd of fd-using enters, most exits' result).
 * Anything else (metadata blocks, V1 or flagged event blocks, errors) stops the
 * walk and is left to Python at *off.
 */
#include <stdint.h>
#include <string.h>
#include <linux/types.h>
#define SENTRY_CDEF	/* types from linux/types.h; no static asserts (the drivers have them) */
#include "sentry_wire.h"	/* event header, block head and types: driver/gen_headers.py */

#define SCAN_EVT_HDR_LEN	SENTRY_EVT_HDR_LEN
#define SCAN_BLOCK_EVT		SENTRY_EVB_HDR_LEN	/* an event block: type, len, cpu, then the event */

/* arg0_kind[type]: how parameter 0 decodes */
#define SCAN_ARG0_SIGNED	1
#define SCAN_ARG0_UNSIGNED	2
#define SCAN_ARG0_WIDE		4	/* u32 parameter lengths (large payload) */

enum scan_status {
	SCAN_FULL = 0,		/* out[] is full; call again from *off */
	SCAN_END = 1,		/* reached the end of the buffer */
	SCAN_OTHER = 2,		/* a block Python must handle starts at *off */
	SCAN_BAD = 3,		/* the block at *off is malformed */
};

/* One event, in the order Event() takes its arguments. */
struct scan_rec {
	uint64_t off;		/* offset of the event header in the buffer */
	uint64_t num;		/* 1-based event number */
	uint64_t ts;
	uint64_t tid;
	uint32_t len;
	uint32_t nparams;
	uint16_t type;
	uint16_t cpu;
	uint32_t arg0_ok;	/* 1: arg0 is parameter 0's value */
	int64_t arg0;
};

static inline uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Parameter 0 of the event at e (elen bytes) as an integer, if its kind is an
 * integer one, its length 1, 2, 4 or 8 and the lengths fit in the event.
 * Unsigned values past INT64_MAX are left to Python.
 */
static int scan_arg0(const uint8_t *e, uint32_t elen, uint8_t kind, int64_t *val)
{
	uint32_t nparams = rd32(e + SENTRY_EVT_OFF_NPARAMS);
	uint32_t width = kind & SCAN_ARG0_WIDE ? 4 : 2;
	uint64_t data, size;
	const uint8_t *p;

	if (!(kind & (SCAN_ARG0_SIGNED | SCAN_ARG0_UNSIGNED)) || !nparams ||
	    nparams > (elen - SCAN_EVT_HDR_LEN) / width)
		return 0;
	size = width == 4 ? rd32(e + SCAN_EVT_HDR_LEN) : rd16(e + SCAN_EVT_HDR_LEN);
	data = SCAN_EVT_HDR_LEN + (uint64_t)nparams * width;
	if (data + size > elen)
		return 0;
	p = e + data;
	switch (size) {
	case 1:
		*val = kind & SCAN_ARG0_SIGNED ? (int8_t)p[0] : p[0];
		return 1;
	case 2:
		*val = kind & SCAN_ARG0_SIGNED ? (int16_t)rd16(p) : rd16(p);
		return 1;
	case 4:
		*val = kind & SCAN_ARG0_SIGNED ? (int64_t)(int32_t)rd32(p) :
						  (int64_t)rd32(p);
		return 1;
	case 8:
		if (!(kind & SCAN_ARG0_SIGNED) && rd64(p) > INT64_MAX)
			return 0;
		*val = (int64_t)rd64(p);
		return 1;
	}
	return 0;
}

/*
 * Walk from *off. Events whose type is >= ntypes are unknown: skipped and
 * counted in *unknown, without a number (as libscap does). Events whose
 * want[type] is 0 are numbered but not reported. arg0_kind (ntypes entries,
 * or NULL) says which types carry an integer parameter 0. Returns the record
 * count.
 */
int scap_scan(const uint8_t *buf, uint64_t size, uint64_t *off, uint64_t *num,
	      uint64_t *unknown, const uint8_t *want, const uint8_t *arg0_kind,
	      uint32_t ntypes, struct scan_rec *out, int max, int *status)
{
	uint64_t pos = *off;
	uint64_t n = *num;
	int count = 0;

	*status = SCAN_END;
	while (pos < size) {
		const uint8_t *b = buf + pos;
		uint32_t btype, blen, elen;
		uint16_t etype;

		if (count == max) {
			*status = SCAN_FULL;
			break;
		}
		if (size - pos < SENTRY_BLOCK_MIN_LEN) {
			*status = SCAN_BAD;
			break;
		}
		btype = rd32(b + SENTRY_EVB_OFF_TYPE);
		blen = rd32(b + SENTRY_EVB_OFF_LEN);
		if (btype != SENTRY_BT_EV_V2 && btype != SENTRY_BT_EV_V2_LARGE) {
			*status = SCAN_OTHER;
			break;
		}
		/* block: type, len, cpu; an event of at least its header; trailer */
		if (blen < SCAN_BLOCK_EVT + SCAN_EVT_HDR_LEN + SENTRY_BLOCK_TRAILER_LEN ||
		    blen > size - pos || rd32(b + blen - SENTRY_BLOCK_TRAILER_LEN) != blen) {
			*status = SCAN_BAD;
			break;
		}
		elen = rd32(b + SCAN_BLOCK_EVT + SENTRY_EVT_OFF_LEN);
		if (elen < SCAN_EVT_HDR_LEN ||
		    elen > blen - SCAN_BLOCK_EVT - SENTRY_BLOCK_TRAILER_LEN) {
			*status = SCAN_BAD;
			break;
		}
		etype = rd16(b + SCAN_BLOCK_EVT + SENTRY_EVT_OFF_TYPE);
		if (etype >= ntypes) {
			(*unknown)++;
		} else {
			n++;
			if (!want || want[etype]) {
				struct scan_rec *r = &out[count++];

				r->off = pos + SCAN_BLOCK_EVT;
				r->num = n;
				r->ts = rd64(b + SCAN_BLOCK_EVT + SENTRY_EVT_OFF_TS);
				r->tid = rd64(b + SCAN_BLOCK_EVT + SENTRY_EVT_OFF_TID);
				r->len = elen;
				r->nparams = rd32(b + SCAN_BLOCK_EVT + SENTRY_EVT_OFF_NPARAMS);
				r->type = etype;
				r->cpu = rd16(b + SENTRY_EVB_OFF_CPU);
				r->arg0 = 0;
				r->arg0_ok = arg0_kind &&
					scan_arg0(b + SCAN_BLOCK_EVT, elen, arg0_kind[etype],
						  &r->arg0);
			}
		}
		pos += blen;
	}
	*off = pos;
	*num = n;
	return count;
}

/* A BPF ring buffer's record header (include/uapi/linux/bpf.h, BPF_RINGBUF_*) */
#define SCAN_RING_BUSY		(1U << 31)
#define SCAN_RING_DISCARD	(1U << 30)
#define SCAN_RING_HDR		8

/*
 * Walk one CPU's BPF ring buffer (the eBPF probe's) from *pos towards prod,
 * the producer position read by the caller: data is the ring's data area,
 * mapped twice in a row by the kernel so that a record wrapping around the end
 * reads in one piece; mask is its size - 1. Reads at most budget records
 * (*taken says how many, discarded ones included) and reports at most max of
 * them in out[] (num 0: the caller numbers them once merged). Records of a
 * type >= ntypes or with want[type] 0 are consumed, not reported. *pos ends
 * after the last record read; nothing is given back to the producer here.
 */
int ring_scan(const uint8_t *data, uint64_t mask, uint64_t *pos, uint64_t prod,
	      int budget, const uint8_t *want, const uint8_t *arg0_kind,
	      uint32_t ntypes, uint16_t cpu, struct scan_rec *out, int max,
	      int *taken)
{
	uint64_t p = *pos;
	int count = 0, n = 0;

	while (p < prod && n < budget && count < max) {
		uint64_t off = p & mask;
		const uint8_t *e = data + off + SCAN_RING_HDR;
		struct scan_rec *r;
		uint32_t hdr, len, elen;
		uint16_t etype;

		/* Acquire: pairs with the kernel's release of the committed header
		 * (bpf_ringbuf_commit), so the record's bytes read below are whole. */
		hdr = __atomic_load_n((const uint32_t *)(data + off), __ATOMIC_ACQUIRE);
		if (hdr & SCAN_RING_BUSY)
			break;
		len = hdr & ~(SCAN_RING_BUSY | SCAN_RING_DISCARD);
		p += (len + SCAN_RING_HDR + 7) & ~7ULL;
		n++;
		if (hdr & SCAN_RING_DISCARD || len < SCAN_EVT_HDR_LEN)
			continue;
		etype = rd16(e + SENTRY_EVT_OFF_TYPE);
		if (etype >= ntypes || (want && !want[etype]))
			continue;
		elen = rd32(e + SENTRY_EVT_OFF_LEN);
		r = &out[count++];
		r->off = off + SCAN_RING_HDR;
		r->num = 0;
		r->ts = rd64(e + SENTRY_EVT_OFF_TS);
		r->tid = rd64(e + SENTRY_EVT_OFF_TID);
		r->len = elen;
		r->nparams = rd32(e + SENTRY_EVT_OFF_NPARAMS);
		r->type = etype;
		r->cpu = cpu;
		r->arg0 = 0;
		/* arg0 only from a record that holds the whole event */
		r->arg0_ok = arg0_kind && elen >= SCAN_EVT_HDR_LEN && elen <= len &&
			     scan_arg0(e, elen, arg0_kind[etype], &r->arg0);
	}
	*pos = p;
	*taken = n;
	return count;
}
