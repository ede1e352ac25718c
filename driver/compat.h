/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel API differences sentry.ko meets between 5.4 and the
 * newest kernels, in one place: every version test of the module is here, the
 * rest of the code calls the sentry_* helpers below.
 *
 * Tested kernels (builds with -Werror, module suite in qemu): Debian 5.10, 6.1,
 * 6.12. The version bounds are those of mainline; where a distribution backports
 * an API the old spelling still compiles, so a bound may only err towards the
 * older form.
 */
#ifndef SENTRY_COMPAT_H
#define SENTRY_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/device.h>
#include <linux/net.h>
#include <linux/fs.h>
#include <linux/fdtable.h>
#include <linux/capability.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 4, 0)
#error "sentry.ko needs Linux 5.4 or newer"
#endif

/* Linux 6.12 moved the unaligned access helpers out of asm/. */
#if __has_include(<linux/unaligned.h>)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* 6.3 made vma->vm_flags read-only: changes go through vm_flags_{set,clear}. */
static inline void sentry_vm_flags_set(struct vm_area_struct *vma, unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void sentry_vm_flags_clear(struct vm_area_struct *vma, unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/* 6.4 dropped class_create()'s owner argument. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define sentry_class_create(name) class_create(name)
#else
#define sentry_class_create(name) class_create(THIS_MODULE, name)
#endif

/* 6.2 made the class devnode callback take a const device. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define SENTRY_DEVNODE_CONST const
#else
#define SENTRY_DEVNODE_CONST
#endif

/* sock_from_file() lost its error out-argument in 5.12. */
static inline struct socket *sentry_sock_from_file(struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 12, 0)
	return sock_from_file(file);
#else
	int err;

	return sock_from_file(file, &err);
#endif
}

/*
 * The file behind fd, under rcu_read_lock(), without a reference. Kernels up
 * to 5.10 name the raw lookup __fcheck_files (and define the fcheck() macro);
 * 5.11 renamed it files_lookup_fd_raw (and stable 5.10 trees carry the rename).
 */
static inline struct file *sentry_lookup_fd(struct files_struct *files, unsigned int fd)
{
#ifdef fcheck
	return __fcheck_files(files, fd);
#else
	return files_lookup_fd_raw(files, fd);
#endif
}

/* 6.3 made kernel_cap_t one u64 (it was two u32 words). */
static inline u64 sentry_caps64(kernel_cap_t c)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return c.val;
#else
	return ((u64)c.cap[1] << 32) | c.cap[0];
#endif
}

/* Inode times behind accessors: ctime since 6.6, mtime since 6.7. */
static inline struct timespec64 sentry_inode_ctime(const struct inode *inode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return inode_get_ctime(inode);
#else
	return inode->i_ctime;
#endif
}

static inline struct timespec64 sentry_inode_mtime(const struct inode *inode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	return inode_get_mtime(inode);
#else
	return inode->i_mtime;
#endif
}

#endif /* SENTRY_COMPAT_H */
