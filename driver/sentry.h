/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sentry.h - internal declarations shared by the files of sentry.ko.
 *
 * The module is split by job: main.c (load/unload, tracepoint probes),
 * ring.c (per-CPU rings), device.c (/dev/sentryN: open, mmap, ioctl),
 * encode.c (scap event builder), fill_recipe.c (parameters, by the recipe
 * table include/sentry_syscall_specs.h, with the helpers of fill_common.c,
 * fill_net.c and the process records of fill_proc.c) and syscall_events.h
 * (generated: scap's syscall codes for generic events).
 */
#ifndef SENTRY_H
#define SENTRY_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/mm_types.h>
#include <linux/ptrace.h>
#include "sentry_abi.h"
#include "sentry_events.h"
#include "compat.h"

#define SENTRY_NAME "sentry"

/* One ring per possible CPU; all allocated at load, freed at unload. */
struct sentry_ring {
	struct sentry_ring_ctrl *ctrl;	/* page 0 of the mapping */
	struct page *ctrl_page;
	struct page **pages;		/* npages data pages */
	unsigned int npages;
	u8 *data;			/* vmap of the data pages twice, back to back */
	u64 mask;			/* size - 1 */
	atomic_t in_use;		/* producer re-entry guard on this CPU */
	atomic_t opened;		/* one consumer at a time: 0 or 1 */
};

/* Capture settings shared by every CPU; written under sentry_lock. */
struct sentry_config {
	bool capturing;
	u32 snaplen;
	u32 sampling;			/* keep 1/sampling of each second; 1 = all */
	pid_t exclude_tgid;		/* 0 = none */
	/* bit per syscall; SENTRY_INTEREST_PROCEXIT for procexit */
	unsigned long interest[BITS_TO_LONGS(SENTRY_SYSCALL_NR_MAX)];
};

extern struct sentry_config sentry_cfg;
extern unsigned long ring_bytes;

/* ring.c */
int sentry_rings_alloc(void);
void sentry_rings_free(void);
void sentry_rings_reset(void);
struct sentry_ring *sentry_ring_get(unsigned int cpu);
void sentry_stats_sum(struct sentry_stats *out);

/* main.c: tracepoints are attached while at least one device is open. */
int sentry_capture_get(void);
void sentry_capture_put(void);
void sentry_set_capturing(bool on);
void sentry_set_interest(const struct sentry_interest *in);

/* device.c */
int sentry_devices_create(void);
void sentry_devices_destroy(void);

/* encode.c: build one event in place in the ring of this CPU. */
struct sentry_evt {
	struct sentry_ring *ring;
	u8 *start;		/* header of the event being built */
	u16 *lens;		/* nparams lengths after the header */
	u32 nparams;
	u32 pushed;		/* parameters written so far */
	u32 len;		/* bytes used so far, header included */
	u32 room;		/* bytes free in the ring (bounded) */
	bool overflow;		/* a parameter did not fit: drop the event */
	bool pf;		/* a user read failed (param left empty) */
};

bool sentry_evt_begin(struct sentry_evt *e, struct sentry_ring *ring, u16 type,
		      u32 nparams, u64 ts);
void sentry_evt_commit(struct sentry_evt *e);
void sentry_push_raw(struct sentry_evt *e, const void *src, u32 len);
void sentry_push_empty(struct sentry_evt *e);
void sentry_push_u8(struct sentry_evt *e, u8 v);
void sentry_push_u16(struct sentry_evt *e, u16 v);
void sentry_push_u32(struct sentry_evt *e, u32 v);
void sentry_push_u64(struct sentry_evt *e, u64 v);
void sentry_push_kstr(struct sentry_evt *e, const char *s);
void sentry_push_ustr(struct sentry_evt *e, unsigned long uptr, u32 max);
void sentry_push_ubuf(struct sentry_evt *e, unsigned long uptr, u32 len);
/* Reserve len bytes for the next parameter; returns NULL if it does not fit. */
u8 *sentry_push_reserve(struct sentry_evt *e, u32 len);
void sentry_push_done(struct sentry_evt *e, u32 used);
long sentry_copy_user(void *dst, unsigned long uptr, u32 len);

/* fill_*.c: what the parameters are read from. */
struct sentry_args {
	struct pt_regs *regs;
	long nr;		/* syscall number */
	long ret;		/* return value (exit only) */
	unsigned long a[6];	/* syscall arguments */
	u64 ts;
};

/*
 * fill_recipe.c: the table of include/sentry_syscall_specs.h. The dedicated event of
 * syscall nr's enter or exit (false: none, the generic event), and its parameters.
 */
bool sentry_spec_event(long nr, bool is_exit, u16 *type, u32 *nparams);
void sentry_fill_spec(struct sentry_evt *e, struct sentry_args *a, bool is_exit);

void sentry_fill_procexit(struct sentry_evt *e, struct task_struct *p);

#endif /* SENTRY_H */
