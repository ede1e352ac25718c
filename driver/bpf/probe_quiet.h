/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe_quiet.h - opens of "quiet" files (/dev/null ...) held back in the kernel.
 * Included once, by sentry.bpf.c.
 *
 * The consumer fills quiet_files with the files no loaded rule can match an event about
 * (python/sentry/rules/quiet.py proves it from the rules), each by absolute path and the
 * identity of the inode that path names (device of its filesystem, inode number).
 *
 * An open, openat or openat2 whose path argument is one of them, whose flags neither
 * create nor truncate (O_CREAT, O_TRUNC, O_TMPFILE) and that returns a descriptor of
 * that very inode is not written (enter nor exit): it is *held*, one per process
 * (quiet_held, keyed by tgid), with what its exit event would say. Then:
 *
 *  - its close (close(fd) of the held fd, by any thread of the process, the path still
 *    quiet) is not written either (enter and exit) and the hold ends: neither event ever
 *    existed for the consumer. That is the flood case, close(open("/dev/null")).
 *  - any other event the probe writes for the process (any thread: read/write/dup/
 *    fcntl/mmap on that fd or another, clone/fork/vfork, execve, a second open,
 *    procexit ...) is preceded by the held open, written then as an openat exit
 *    (fd, dirfd, name, flags, mode, dev): the consumer's fd table has the descriptor
 *    before any event that could use it, copy it (dup, fork: the child inherits the
 *    table the parent had at clone's enter) or keep it across exec (O_CLOEXEC is in its
 *    flags). Events the probe does not write (outside the interest set) change no state
 *    the consumer keeps, so they need no open before them.
 *
 * So every event the consumer gets is one it would have got without the filter, with
 * the same fd state; what it does not get is the open/close pairs of quiet files with
 * nothing written in between, which no rule can match (the proof) and which leave the
 * fd table as it was. Checks that keep that true:
 *  - the path is read at the enter, but the kernel copies it after: a thread may change
 *    it in between. The exit checks the returned file's inode against the quiet file's,
 *    so what was opened is the quiet file whatever the name said; a failed open (no
 *    file to check) is written (its exit: the enter is gone, the exit has every field).
 *  - a hold is taken with BPF_NOEXIST: a second quiet open while one is held is written
 *    (its enter makes the held one written first), and two threads racing take one hold
 *    at most; the loser's exit is written. Ending a hold is bpf_map_delete_elem()
 *    succeeding, so a close and a flush on two CPUs cannot both claim it.
 *  - a path made loud by a rules reload: its held opens are written at their close.
 *  - the one way to a held descriptor without the holder making an event is another
 *    process's pidfd_getfd(2): the copy is unknown to the consumer (as a descriptor
 *    opened before the capture began). The proof counts pidfd_getfd events as events
 *    about the file, so a rule looking at them keeps the path loud.
 * Counted (per CPU, quiet_stats): events left out (also in n_suppressed: suppressed is
 * not dropped), held opens written late.
 */
#ifndef SENTRY_PROBE_QUIET_H
#define SENTRY_PROBE_QUIET_H

#define QUIET_PATH_LEN 32		/* paths up to 30 bytes: a longer one never matches */
#define QUIET_FILES_MAX 64
#define QUIET_HELD_MAX 65536
#define K_O_TMPFILE_ALL 020000000	/* __O_TMPFILE (O_TMPFILE is it | O_DIRECTORY) */
#define K_AT_FDCWD -100
#define QUIET_OPENAT_X_NPARAMS 6	/* fd, dirfd, name, flags, mode, dev */

struct quiet_key {
	char path[QUIET_PATH_LEN];
};

struct quiet_file {
	__u64 ino;
	__u32 dev;			/* scap's encoding, as file_dev() gives it */
	__u32 pad;
};

/* What the exit of a held open would have said. */
struct quiet_open {
	__s64 fd;
	__s64 dirfd;
	__u32 flags;			/* scap encoding */
	__u32 mode;
	__u32 dev;
	__u32 pad;
	struct quiet_key name;
};

enum { QP_OPEN = 1, QP_CLOSE = 2 };

/* A thread between the enter and the exit of a call whose enter was left out. */
struct quiet_pending {
	__u32 kind;
	__u32 pad;
	__s64 dirfd;
	__u64 flags;			/* the raw open flags the enter checked */
	__u64 mode;
	struct quiet_file file;		/* the inode the open must return */
	struct quiet_key name;
};

struct quiet_counts {
	__u64 n_quiet;			/* events left out */
	__u64 n_held_written;		/* held opens written before another event */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, QUIET_FILES_MAX);
	__type(key, struct quiet_key);
	__type(value, struct quiet_file);
} quiet_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);	/* full: the open is written, never evicted */
	__uint(max_entries, QUIET_HELD_MAX);
	__type(key, __u32);
	__type(value, struct quiet_open);
} quiet_held SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);	/* an evicted entry: an exit written alone */
	__uint(max_entries, QUIET_HELD_MAX);
	__type(key, __u64);
	__type(value, struct quiet_pending);
} quiet_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct quiet_counts);
} quiet_stats SEC(".maps");

static __always_inline void quiet_count(bool written)
{
	__u32 zero = 0;
	struct quiet_counts *c = bpf_map_lookup_elem(&quiet_stats, &zero);

	if (!c)
		return;
	if (written) {
		c->n_held_written++;
	} else {
		c->n_quiet++;
		count_suppressed();
	}
}

/* Is this open (enter, arguments in s) of a quiet file? Then it is left out. */
static __always_inline bool quiet_open_enter(struct scratch *s, __u32 nr, __u64 pid_tgid)
{
	struct quiet_pending p = {};
	struct quiet_file *qf;
	__u32 tgid = pid_tgid >> 32;
	__u64 uname;
	long n;

	if (nr == __NR_open) {
		uname = s->args[0];
		p.dirfd = K_AT_FDCWD;
		p.flags = s->args[1];
		p.mode = s->args[2];
	} else {
		uname = s->args[1];
		p.dirfd = (__s32)s->args[0];
		if (nr == __NR_openat2) {
			p.flags = uptr_u64(s->args[2], 0);
			p.mode = uptr_u64(s->args[2], 1);
		} else {
			p.flags = s->args[2];
			p.mode = s->args[3];
		}
	}
	if (p.flags & (K_O_CREAT | K_O_TRUNC | K_O_TMPFILE_ALL))
		return false;
	n = bpf_probe_read_user_str(p.name.path, QUIET_PATH_LEN, (void *)uname);
	if (n < 2 || n >= QUIET_PATH_LEN || p.name.path[0] != '/')
		return false;
	qf = bpf_map_lookup_elem(&quiet_files, &p.name);
	if (!qf || bpf_map_lookup_elem(&quiet_held, &tgid))
		return false;	/* one held at a time: this enter writes the held one first */
	p.file = *qf;
	p.kind = QP_OPEN;
	if (bpf_map_update_elem(&quiet_pending, &pid_tgid, &p, BPF_ANY))
		return false;
	return true;
}

/* A close of the held descriptor of a still quiet file: left out, the hold ends. */
static __always_inline bool quiet_close_enter(struct scratch *s, __u64 pid_tgid)
{
	struct quiet_pending p = {};
	struct quiet_open *held;
	struct quiet_key name;
	__u32 tgid = pid_tgid >> 32;

	held = bpf_map_lookup_elem(&quiet_held, &tgid);
	if (!held || held->fd != (__s32)s->args[0])
		return false;
	name = held->name;
	if (!bpf_map_lookup_elem(&quiet_files, &name))
		return false;	/* loud since: the flush writes the open, then the close */
	if (bpf_map_delete_elem(&quiet_held, &tgid))
		return false;
	__sync_fetch_and_add(&settings.quiet_held, -1);
	p.kind = QP_CLOSE;
	if (bpf_map_update_elem(&quiet_pending, &pid_tgid, &p, BPF_ANY))
		return false;	/* (not reached in practice: LRU) the close is written */
	return true;
}

/* At sys_enter: true when this event is left out (counted). */
static __always_inline bool quiet_enter(struct scratch *s, __u32 nr, __u64 pid_tgid)
{
	bool quiet;

	if (!settings.quiet_on)
		return false;
	switch (nr) {
	case __NR_open:
	case __NR_openat:
	case __NR_openat2:
		quiet = quiet_open_enter(s, nr, pid_tgid);
		break;
	case __NR_close:
		quiet = settings.quiet_held && quiet_close_enter(s, pid_tgid);
		break;
	default:
		return false;
	}
	if (quiet)
		quiet_count(false);
	return quiet;
}

/* At sys_exit: true when this exit is left out (its enter was; counted). */
static __always_inline bool quiet_exit(struct ev *e, __u64 pid_tgid, long ret)
{
	struct quiet_pending *pp, p;
	struct quiet_open held = {};
	struct file *f;
	__u32 tgid = pid_tgid >> 32;

	if (!settings.quiet_on)
		return false;
	pp = bpf_map_lookup_elem(&quiet_pending, &pid_tgid);
	if (!pp)
		return false;
	p = *pp;
	bpf_map_delete_elem(&quiet_pending, &pid_tgid);
	if (p.kind == QP_CLOSE) {
		quiet_count(false);
		return true;
	}
	if (ret < 0)
		return false;	/* a failed open: its exit is written */
	f = fd_file(e, ret);
	if (!f || file_ino(f) != p.file.ino || file_dev(f) != p.file.dev)
		return false;	/* not the quiet file (the name changed under us) */
	held.fd = ret;
	held.dirfd = p.dirfd;
	held.flags = scap_open_flags(p.flags);
	held.mode = scap_open_mode(p.flags, p.mode);
	held.dev = p.file.dev;
	held.name = p.name;
	if (bpf_map_update_elem(&quiet_held, &tgid, &held, BPF_NOEXIST))
		return false;	/* another thread holds one: written */
	__sync_fetch_and_add(&settings.quiet_held, 1);
	quiet_count(false);
	return true;
}

/*
 * Before any other event of this process is written: its held open, if any, as the
 * openat exit it stands for (the scratch area is the caller's, kept claimed).
 */
static __always_inline void quiet_flush(struct scratch *s, __u64 pid_tgid, __u64 ts)
{
	struct quiet_open *hp, held;
	__u32 tgid = pid_tgid >> 32;
	struct ev e;

	if (!settings.quiet_held)
		return;
	hp = bpf_map_lookup_elem(&quiet_held, &tgid);
	if (!hp)
		return;
	held = *hp;
	if (bpf_map_delete_elem(&quiet_held, &tgid))
		return;		/* taken by its close or another flush meanwhile */
	__sync_fetch_and_add(&settings.quiet_held, -1);
	ev_begin(&e, s, SE_SYSCALL_OPENAT_2_X, QUIET_OPENAT_X_NPARAMS, (__u32)pid_tgid,
		 ts ? ts - 1 : 0);
	ev_int(&e, held.fd, 8);
	ev_int(&e, held.dirfd, 8);
	ev_kstr(&e, held.name.path);
	ev_int(&e, held.flags, 4);
	ev_int(&e, held.mode, 4);
	ev_int(&e, held.dev, 4);
	ev_write(&e);
	quiet_count(true);
}

#endif /* SENTRY_PROBE_QUIET_H */
