/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * sentry_bpf.h - what the eBPF probe and its Python consumer share besides the
 * event encoding (which is sentry_abi.h's): the settings block the consumer
 * writes into the probe's .bss, and the configuration it writes before load.
 * Fed to cffi's cdef as is: plain structs and #define constants only.
 */
#ifndef SENTRY_BPF_H
#define SENTRY_BPF_H

/* Largest event the probe writes; bigger parameters are truncated. */
#define SENTRY_BPF_MAX_EVENT 65536

/* One ring per CPU; the consumer may size them (bytes, a power of two). */
#define SENTRY_BPF_DEFAULT_RING_BYTES 8388608

/* Unread bytes past which the probe wakes a sleeping reader (it polls otherwise). */
#define SENTRY_BPF_WAKEUP_BYTES 65536

struct sentry_bpf_settings {
	__u64 boot_to_epoch_ns;	/* added to bpf_ktime_get_boot_ns() for scap's epoch ts */
	__u32 capturing;	/* 0: the probe writes nothing */
	__u32 snaplen;		/* bytes of I/O buffers copied */
	__u32 exclude_tgid;	/* the consumer's own process */
	__u32 target_tgid;	/* non-zero: only this process and its descendants */
	__u32 all_syscalls;	/* non-zero: interest ignored, every syscall captured */
	__u32 sampling;		/* > 1: keep 1/sampling of each second (sentry_sampling.h) */
	__u64 interest[8];	/* one bit per syscall number (SENTRY_SYSCALL_NR_MAX) */
	__u32 quiet_on;		/* non-zero: opens of quiet files held back (probe_quiet.h) */
	__u32 quiet_held;	/* opens held now, over all processes (the probe's count) */
};

/*
 * Written by the consumer before load into the probe's .rodata.sc: the verifier
 * then knows these values, and drops the code a flag turns off.
 */
struct sentry_bpf_config {
	__u16 ppm_sc_codes[512];	/* scap's portable syscall code per native number */
	__u32 direct_reads;	/* the kernel has bpf_rdonly_cast (6.2+): files read directly */
};

#endif /* SENTRY_BPF_H */
