// SPDX-License-Identifier: GPL-2.0
/*
 * ring.c - per-CPU rings of scap events.
 *
 * Every possible CPU gets its ring at load time and keeps it until unload, so
 * CPU hotplug needs no callback: an offline CPU simply stops producing and its
 * consumer drains what is left. The data pages are vmap'ed twice back to back
 * so that the producer (and, through mmap, the consumer) sees a record that
 * wraps around the end of the ring as one contiguous span.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/cpumask.h>
#include <linux/topology.h>
#include "sentry.h"

static struct sentry_ring **rings;	/* indexed by CPU, nr_cpu_ids entries */

struct sentry_ring *sentry_ring_get(unsigned int cpu)
{
	return cpu < nr_cpu_ids ? rings[cpu] : NULL;
}

static void ring_free(struct sentry_ring *ring)
{
	unsigned int i;

	if (ring->data)
		vunmap(ring->data);
	if (ring->pages) {
		for (i = 0; i < ring->npages; i++)
			if (ring->pages[i])
				__free_page(ring->pages[i]);
		kvfree(ring->pages);
	}
	if (ring->ctrl_page)
		__free_page(ring->ctrl_page);
	kfree(ring);
}

static struct sentry_ring *ring_alloc(unsigned int cpu, unsigned long bytes)
{
	int node = cpu_to_node(cpu);
	struct sentry_ring *ring;
	struct page **twice;
	unsigned int i;

	ring = kzalloc_node(sizeof(*ring), GFP_KERNEL, node);
	if (!ring)
		return NULL;
	ring->npages = bytes >> PAGE_SHIFT;
	ring->mask = bytes - 1;
	ring->ctrl_page = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);
	ring->pages = kvcalloc(ring->npages, sizeof(*ring->pages), GFP_KERNEL);
	if (!ring->ctrl_page || !ring->pages)
		goto fail;
	for (i = 0; i < ring->npages; i++) {
		/* A ring too big for memory fails the load; it must not wake the OOM killer. */
		ring->pages[i] = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO |
						  __GFP_NORETRY | __GFP_NOWARN, 0);
		if (!ring->pages[i])
			goto fail;
	}
	twice = kvcalloc(2 * ring->npages, sizeof(*twice), GFP_KERNEL);
	if (!twice)
		goto fail;
	for (i = 0; i < 2 * ring->npages; i++)
		twice[i] = ring->pages[i % ring->npages];
	ring->data = vmap(twice, 2 * ring->npages, VM_MAP, PAGE_KERNEL);
	kvfree(twice);
	if (!ring->data)
		goto fail;
	ring->ctrl = page_address(ring->ctrl_page);
	ring->ctrl->size = bytes;
	ring->ctrl->api_version = SENTRY_API_VERSION;
	return ring;
fail:
	ring_free(ring);
	return NULL;
}

int sentry_rings_alloc(void)
{
	unsigned int cpu;

	rings = kcalloc(nr_cpu_ids, sizeof(*rings), GFP_KERNEL);
	if (!rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		rings[cpu] = ring_alloc(cpu, ring_bytes);
		if (!rings[cpu]) {
			sentry_rings_free();
			return -ENOMEM;
		}
	}
	return 0;
}

void sentry_rings_free(void)
{
	unsigned int cpu;

	if (!rings)
		return;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (rings[cpu])
			ring_free(rings[cpu]);
	kfree(rings);
	rings = NULL;
}

/*
 * Start a capture session from empty rings. Called with the tracepoints
 * detached (no producer) and before any consumer could map the new session.
 */
void sentry_rings_reset(void)
{
	unsigned int cpu;
	struct sentry_ring_ctrl *c;

	for_each_possible_cpu(cpu) {
		c = rings[cpu]->ctrl;
		c->head = 0;
		c->tail = 0;
		c->n_evts = 0;
		c->n_drops_buffer = 0;
		c->n_drops_pf = 0;
		c->n_drops_bug = 0;
		c->n_preemptions = 0;
		c->n_suppressed = 0;
		c->flags = 0;
	}
}

void sentry_stats_sum(struct sentry_stats *out)
{
	unsigned int cpu;
	struct sentry_ring_ctrl *c;

	memset(out, 0, sizeof(*out));
	for_each_possible_cpu(cpu) {
		c = rings[cpu]->ctrl;
		/* Counters are single-writer per CPU; a torn sum is only stale. */
		out->n_evts += READ_ONCE(c->n_evts);
		out->n_drops_buffer += READ_ONCE(c->n_drops_buffer);
		out->n_drops_pf += READ_ONCE(c->n_drops_pf);
		out->n_drops_bug += READ_ONCE(c->n_drops_bug);
		out->n_preemptions += READ_ONCE(c->n_preemptions);
		out->n_suppressed += READ_ONCE(c->n_suppressed);
	}
}
