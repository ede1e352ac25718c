// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - /dev/sentryN, one per possible CPU: open, mmap, ioctl.
 *
 * Consumer policy: one open per device at a time (a second open gets
 * -EBUSY), so every ring has exactly one consumer advancing its tail. The
 * mapping is faulted in page by page from the ring's own pages; the pages
 * stay allocated until unload, which cannot happen while a mapping exists
 * (the mapping holds the file, the file holds the module).
 */
#include <linux/module.h>
#include <linux/fs.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include "sentry.h"

static dev_t sentry_devt;
static struct cdev sentry_cdev;
static struct class *sentry_class;

static int sentry_open(struct inode *inode, struct file *filp)
{
	struct sentry_ring *ring = sentry_ring_get(iminor(inode));
	int err;

	if (!ring)
		return -ENODEV;
	if (atomic_cmpxchg(&ring->opened, 0, 1) != 0)
		return -EBUSY;
	err = sentry_capture_get();
	if (err) {
		atomic_set(&ring->opened, 0);
		return err;
	}
	filp->private_data = ring;
	return 0;
}

static int sentry_release(struct inode *inode, struct file *filp)
{
	struct sentry_ring *ring = filp->private_data;

	sentry_capture_put();
	atomic_set(&ring->opened, 0);
	return 0;
}

static vm_fault_t sentry_vm_fault(struct vm_fault *vmf)
{
	struct sentry_ring *ring = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = ring->ctrl_page;
	else if (vmf->pgoff <= 2 * ring->npages)
		page = ring->pages[(vmf->pgoff - 1) % ring->npages];
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct sentry_vm_ops = {
	.fault = sentry_vm_fault,
};

static int sentry_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct sentry_ring *ring = filp->private_data;
	unsigned long first = vma->vm_pgoff, n = vma_pages(vma);

	if (first + n > 1 + 2UL * ring->npages || first + n < first)
		return -EINVAL;
	/* Only the control page (for tail) may be written by the consumer. */
	if (first + n > 1) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		sentry_vm_flags_clear(vma, VM_MAYWRITE);
	}
	sentry_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = ring;
	vma->vm_ops = &sentry_vm_ops;
	return 0;
}

static long sentry_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct sentry_interest in;
	struct sentry_stats st;
	u32 v;

	switch (cmd) {
	case SENTRY_IOCTL_ENABLE_CAPTURE:
		sentry_set_capturing(true);
		return 0;
	case SENTRY_IOCTL_DISABLE_CAPTURE:
		sentry_set_capturing(false);
		return 0;
	case SENTRY_IOCTL_SET_SNAPLEN:
		if (get_user(v, (u32 __user *)uarg))
			return -EFAULT;
		if (v < 1 || v > SENTRY_MAX_SNAPLEN)
			return -EINVAL;
		WRITE_ONCE(sentry_cfg.snaplen, v);
		return 0;
	case SENTRY_IOCTL_SET_INTEREST:
		if (copy_from_user(&in, uarg, sizeof(in)))
			return -EFAULT;
		sentry_set_interest(&in);
		return 0;
	case SENTRY_IOCTL_SET_SAMPLING:
		if (get_user(v, (u32 __user *)uarg))
			return -EFAULT;
		if (v < 1 || v > SENTRY_SAMPLING_MAX)
			return -EINVAL;
		WRITE_ONCE(sentry_cfg.sampling, v);
		return 0;
	case SENTRY_IOCTL_GET_STATS:
		sentry_stats_sum(&st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	case SENTRY_IOCTL_GET_API_VERSION:
		return put_user((u32)SENTRY_API_VERSION, (u32 __user *)uarg);
	case SENTRY_IOCTL_EXCLUDE_TGID:
		if (get_user(v, (u32 __user *)uarg))
			return -EFAULT;
		if (v > PID_MAX_LIMIT)
			return -EINVAL;
		WRITE_ONCE(sentry_cfg.exclude_tgid, v);
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations sentry_fops = {
	.owner = THIS_MODULE,
	.open = sentry_open,
	.release = sentry_release,
	.mmap = sentry_mmap,
	.unlocked_ioctl = sentry_ioctl,
	.llseek = noop_llseek,
};

static char *sentry_devnode(SENTRY_DEVNODE_CONST struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0400;
	return NULL;
}

static void devices_remove(unsigned int upto)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		if (cpu < upto)
			device_destroy(sentry_class, MKDEV(MAJOR(sentry_devt), cpu));
}

int sentry_devices_create(void)
{
	struct device *dev;
	unsigned int cpu;
	int err;

	err = alloc_chrdev_region(&sentry_devt, 0, nr_cpu_ids, SENTRY_NAME);
	if (err)
		return err;
	cdev_init(&sentry_cdev, &sentry_fops);
	sentry_cdev.owner = THIS_MODULE;
	err = cdev_add(&sentry_cdev, sentry_devt, nr_cpu_ids);
	if (err)
		goto undo_region;
	sentry_class = sentry_class_create(SENTRY_NAME);
	if (IS_ERR(sentry_class)) {
		err = PTR_ERR(sentry_class);
		goto undo_cdev;
	}
	sentry_class->devnode = sentry_devnode;
	for_each_possible_cpu(cpu) {
		dev = device_create(sentry_class, NULL, MKDEV(MAJOR(sentry_devt), cpu),
				    NULL, SENTRY_NAME "%u", cpu);
		if (IS_ERR(dev)) {
			err = PTR_ERR(dev);
			devices_remove(cpu);
			goto undo_class;
		}
	}
	return 0;
undo_class:
	class_destroy(sentry_class);
undo_cdev:
	cdev_del(&sentry_cdev);
undo_region:
	unregister_chrdev_region(sentry_devt, nr_cpu_ids);
	return err;
}

void sentry_devices_destroy(void)
{
	devices_remove(nr_cpu_ids);
	class_destroy(sentry_class);
	cdev_del(&sentry_cdev);
	unregister_chrdev_region(sentry_devt, nr_cpu_ids);
}
