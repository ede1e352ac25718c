/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * sentry_abi.h - the one definition of Sentry's wire format and driver ABI.
 *
 * Included by the kernel module, the eBPF probe and fed to cffi's cdef by the
 * Python package (python/sentry/capture/_cffi/abi.py). Keep it free of preprocessor
 * logic that cffi cannot parse: plain structs, enums and #define constants.
 *
 * Event encoding (scap's): a packed little-endian header, then nparams lengths
 * (u16 each, u32 for "large payload" events), then the parameter bytes.
 */
#ifndef SENTRY_ABI_H
#define SENTRY_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#elif !defined(SENTRY_CDEF) && !defined(__bpf__)	/* the eBPF probe gets types from vmlinux.h */
#include <stdint.h>
#include <sys/ioctl.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int64_t __s64;
#endif

#define SENTRY_API_VERSION 1
/* Version of the event table (sentry_events.h): bumped when an event's parameters change. */
#define SENTRY_SCHEMA_VERSION 1

/* scap event header: 26 bytes, packed. */
struct sentry_evt_hdr {
	__u64 ts;	/* ns since the epoch */
	__u64 tid;	/* thread id of the event's thread */
	__u32 len;	/* whole event: header + lengths + parameters */
	__u16 type;	/* scap event number (enum sentry_event_type) */
	__u32 nparams;	/* number of parameters that follow */
} __attribute__((packed));

#define SENTRY_EVT_HDR_LEN 26
#define SENTRY_MAX_PARAMS 32
#define SENTRY_DEFAULT_SNAPLEN 80
#define SENTRY_MAX_SNAPLEN 65000
#define SENTRY_MAX_PATH 4096

/*
 * Ring control page: page 0 of each /dev/sentryN mmap. The producer (kernel)
 * writes head and the counters; the consumer writes only tail. Offsets are byte
 * positions modulo ring size; the data area that follows is mapped twice back
 * to back so a record that wraps can be read contiguously.
 */
struct sentry_ring_ctrl {
	__u64 head;		/* producer: next byte to write (free-running) */
	__u64 tail;		/* consumer: next byte to read (free-running) */
	__u64 size;		/* data area size in bytes, a power of two */
	__u64 n_evts;		/* events written */
	__u64 n_drops_buffer;	/* events lost: ring full */
	__u64 n_drops_pf;	/* events written with a user parameter left empty (not lost) */
	__u64 n_drops_bug;	/* events lost: internal error (should stay 0) */
	__u64 n_preemptions;	/* events lost: re-entered on the same CPU */
	__u64 n_suppressed;	/* events not written: interest set / sampling */
	__u32 api_version;	/* SENTRY_API_VERSION */
	__u32 flags;		/* SENTRY_RING_F_* */
};

#define SENTRY_RING_F_CAPTURING 0x1

/* Statistics as returned by SENTRY_IOCTL_GET_STATS (summed over CPUs). */
struct sentry_stats {
	__u64 n_evts;
	__u64 n_drops_buffer;
	__u64 n_drops_pf;
	__u64 n_drops_bug;
	__u64 n_preemptions;
	__u64 n_suppressed;
};

/*
 * Interest set: one bit per syscall number (x86_64 syscall table); bit
 * SENTRY_INTEREST_PROCEXIT (above every syscall) selects procexit events.
 */
#define SENTRY_SYSCALL_NR_MAX 512
#define SENTRY_INTEREST_PROCEXIT 511
struct sentry_interest {
	__u64 bits[SENTRY_SYSCALL_NR_MAX / 64];
};

/*
 * ioctls, on any /dev/sentryN; every setting applies to all CPUs. Settings
 * return to their defaults (not capturing, snaplen SENTRY_DEFAULT_SNAPLEN,
 * all interest bits, sampling 1, no excluded tgid) when the last device
 * closes. Unknown command: -ENOTTY; bad argument: -EINVAL (or -EFAULT).
 * SET_SAMPLING n in [1, 1024]: keep events of the first 1/n of each second,
 * except the syscalls sentry_sampling.h lists (process, fd and cwd state: always
 * kept; frequent stateless ones: never kept while n > 1), and procexit (always
 * kept); the others count as suppressed. EXCLUDE_TGID 0: none.
 * Each device can be open once at a time (second open: -EBUSY). mmap: offset
 * 0 is the control page (read-write, one page); offset PAGE_SIZE is the data
 * area, 2 * size bytes, read-only.
 */
#define SENTRY_IOCTL_MAGIC 's'
#define SENTRY_IOCTL_ENABLE_CAPTURE	_IO(SENTRY_IOCTL_MAGIC, 1)
#define SENTRY_IOCTL_DISABLE_CAPTURE	_IO(SENTRY_IOCTL_MAGIC, 2)
#define SENTRY_IOCTL_SET_SNAPLEN	_IOW(SENTRY_IOCTL_MAGIC, 3, __u32)
#define SENTRY_IOCTL_SET_INTEREST	_IOW(SENTRY_IOCTL_MAGIC, 4, struct sentry_interest)
#define SENTRY_IOCTL_SET_SAMPLING	_IOW(SENTRY_IOCTL_MAGIC, 5, __u32)
#define SENTRY_IOCTL_GET_STATS		_IOR(SENTRY_IOCTL_MAGIC, 6, struct sentry_stats)
#define SENTRY_IOCTL_GET_API_VERSION	_IOR(SENTRY_IOCTL_MAGIC, 7, __u32)
#define SENTRY_IOCTL_EXCLUDE_TGID	_IOW(SENTRY_IOCTL_MAGIC, 8, __u32)

#endif /* SENTRY_ABI_H */
