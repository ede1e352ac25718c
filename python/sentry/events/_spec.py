"""scap's event table as data: one pair header per event pair, then its enter and exit lines.

Read by :mod:`sentry.events.table`. Facts (numbers, names, categories, flags, parameter
names, types, print formats) are scap's; the notation is ours:

``= IDENT`` starts pair number N (enter 2N, exit 2N+1), named ``SE_IDENT_E`` / ``SE_IDENT_X``.
``> name CATEGORY FLAGS | params`` and ``< ...`` describe the enter and exit events.
FLAGS letters: C creates fd, D destroys fd, U uses fd, R reads, W writes, M modifies state,
X unused, A waits, S skips parser reset, O old version, P droppable by simple consumers,
L large payload, ``-`` none. A param is ``name:TYPE[:FMT[:INFO]]``; FMT is D dec, H hex,
O oct, N n/a (default: D for numbers, N for strings and buffers); INFO names a flag table,
a dynamic-type table, or (FSRELPATH) the index of its dirfd parameter.
"""

# ruff: noqa: E501  (one event per line reads better than wrapped data)

EVENT_SPEC = """
= GENERIC
> syscall OTHER - | ID:SYSCALLID, nativeID:UINT16
< syscall OTHER - | ID:SYSCALLID
= SYSCALL_OPEN
> open FILE CM | name:FSPATH, flags:FLAGS32:H:file_flags, mode:UINT32:O
< open FILE CM | fd:FD, name:FSPATH, flags:FLAGS32:H:file_flags, mode:UINT32:O, dev:UINT32:H
= SYSCALL_CLOSE
> close IO_OTHER DUMP | fd:FD
< close IO_OTHER DUMP | res:ERRNO
= SYSCALL_READ
> read IO_READ URP | fd:FD, size:UINT32
< read IO_READ URP | res:ERRNO, data:BYTEBUF
= SYSCALL_WRITE
> write IO_WRITE UWP | fd:FD, size:UINT32
< write IO_WRITE UWP | res:ERRNO, data:BYTEBUF
= SYSCALL_BRK_1
> brk MEMORY O | size:UINT32
< brk MEMORY O | res:UINT64:H
= SYSCALL_EXECVE_8
> execve PROCESS MO |
< execve PROCESS MO | res:ERRNO, exe:CHARBUF, args:BYTEBUF, tid:PID, pid:PID, ptid:PID, cwd:CHARBUF, fdlimit:UINT64
= SYSCALL_CLONE_11
> clone PROCESS MO |
< clone PROCESS MO | res:PID, exe:CHARBUF, args:BYTEBUF, tid:PID, pid:PID, ptid:PID, cwd:CHARBUF, fdlimit:INT64, flags:FLAGS32:H:clone_flags, uid:UINT32, gid:UINT32
= PROCEXIT
> procexit PROCESS MO |
< NA1 PROCESS X |
= SOCKET_SOCKET
> socket NET CM | domain:FLAGS32:D:socket_families, type:UINT32, proto:UINT32
< socket NET CM | fd:FD
= SOCKET_BIND
> bind NET UM | fd:FD
< bind NET UM | res:ERRNO, addr:SOCKADDR
= SOCKET_CONNECT
> connect NET UM | fd:FD, addr:SOCKADDR
< connect NET UM | res:ERRNO, tuple:SOCKTUPLE
= SOCKET_LISTEN
> listen NET U | fd:FD, backlog:UINT32
< listen NET U | res:ERRNO
= SOCKET_ACCEPT
> accept NET CMO |
< accept NET CMO | fd:FD, tuple:SOCKTUPLE, queuepct:UINT8
= SOCKET_SEND
> send IO_WRITE UWP | fd:FD, size:UINT32
< send IO_WRITE UWP | res:ERRNO, data:BYTEBUF
= SOCKET_SENDTO
> sendto IO_WRITE UWM | fd:FD, size:UINT32, tuple:SOCKTUPLE
< sendto IO_WRITE UWM | res:ERRNO, data:BYTEBUF
= SOCKET_RECV
> recv IO_READ URP | fd:FD, size:UINT32
< recv IO_READ URP | res:ERRNO, data:BYTEBUF
= SOCKET_RECVFROM
> recvfrom IO_READ URM | fd:FD, size:UINT32
< recvfrom IO_READ URM | res:ERRNO, data:BYTEBUF, tuple:SOCKTUPLE
= SOCKET_SHUTDOWN
> shutdown NET UMP | fd:FD, how:FLAGS8:H:shutdown_how
< shutdown NET UMP | res:ERRNO
= SOCKET_GETSOCKNAME
> getsockname NET P |
< getsockname NET P |
= SOCKET_GETPEERNAME
> getpeername NET P |
< getpeername NET P |
= SOCKET_SOCKETPAIR
> socketpair IPC CM | domain:FLAGS32:D:socket_families, type:UINT32, proto:UINT32
< socketpair IPC CM | res:ERRNO, fd1:FD, fd2:FD, source:UINT64:H, peer:UINT64:H
= SOCKET_SETSOCKOPT
> setsockopt NET - |
< setsockopt NET U | res:ERRNO, fd:FD, level:FLAGS8:D:sockopt_levels, optname:FLAGS8:D:sockopt_options, val:DYN:D:sockopt_dynamic, optlen:UINT32
= SOCKET_GETSOCKOPT
> getsockopt NET MP |
< getsockopt NET UMP | res:ERRNO, fd:FD, level:FLAGS8:D:sockopt_levels, optname:FLAGS8:D:sockopt_options, val:DYN:D:sockopt_dynamic, optlen:UINT32
= SOCKET_SENDMSG
> sendmsg IO_WRITE UWM | fd:FD, size:UINT32, tuple:SOCKTUPLE
< sendmsg IO_WRITE UWM | res:ERRNO, data:BYTEBUF
= SOCKET_SENDMMSG
> sendmmsg IO_WRITE P |
< sendmmsg IO_WRITE P |
= SOCKET_RECVMSG
> recvmsg IO_READ URM | fd:FD
< recvmsg IO_READ URM | res:ERRNO, size:UINT32, data:BYTEBUF, tuple:SOCKTUPLE
= SOCKET_RECVMMSG
> recvmmsg IO_READ P |
< recvmmsg IO_READ P |
= SOCKET_ACCEPT4
> accept NET CMO | flags:INT32:H
< accept NET CMO | fd:FD, tuple:SOCKTUPLE, queuepct:UINT8
= SYSCALL_CREAT
> creat FILE CM | name:FSPATH, mode:UINT32:O
< creat FILE CM | fd:FD, name:FSPATH, mode:UINT32:O, dev:UINT32:H
= SYSCALL_PIPE
> pipe IPC CM |
< pipe IPC CM | res:ERRNO, fd1:FD, fd2:FD, ino:UINT64
= SYSCALL_EVENTFD
> eventfd IPC CMP | initval:UINT64, flags:FLAGS32:H
< eventfd IPC CMP | res:FD
= SYSCALL_FUTEX
> futex IPC P | addr:UINT64:H, op:FLAGS16:H:futex_operations, val:UINT64
< futex IPC P | res:ERRNO
= SYSCALL_STAT
> stat FILE P |
< stat FILE P | res:ERRNO, path:FSPATH
= SYSCALL_LSTAT
> lstat FILE P |
< lstat FILE P | res:ERRNO, path:FSPATH
= SYSCALL_FSTAT
> fstat FILE UP | fd:FD:N
< fstat FILE UP | res:ERRNO
= SYSCALL_STAT64
> stat64 FILE P |
< stat64 FILE P | res:ERRNO, path:FSPATH
= SYSCALL_LSTAT64
> lstat64 FILE P |
< lstat64 FILE P | res:ERRNO, path:FSPATH
= SYSCALL_FSTAT64
> fstat64 FILE UP | fd:FD:N
< fstat64 FILE UP | res:ERRNO
= SYSCALL_EPOLLWAIT
> epoll_wait WAIT AP | maxevents:ERRNO
< epoll_wait WAIT AP | res:ERRNO
= SYSCALL_POLL
> poll WAIT AP | fds:FDLIST, timeout:INT64
< poll WAIT AP | res:ERRNO, fds:FDLIST
= SYSCALL_SELECT
> select WAIT AP |
< select WAIT AP | res:ERRNO
= SYSCALL_NEWSELECT
> select WAIT AP |
< select WAIT AP | res:ERRNO
= SYSCALL_LSEEK
> lseek FILE UP | fd:FD, offset:UINT64, whence:FLAGS8:D:lseek_whence
< lseek FILE UP | res:ERRNO
= SYSCALL_LLSEEK
> llseek FILE UP | fd:FD, offset:UINT64, whence:FLAGS8:D:lseek_whence
< llseek FILE UP | res:ERRNO
= SYSCALL_IOCTL_2
> ioctl IO_OTHER UO | fd:FD, request:UINT64:H
< ioctl IO_OTHER UO | res:ERRNO
= SYSCALL_GETCWD
> getcwd FILE P |
< getcwd FILE P | res:ERRNO, path:CHARBUF
= SYSCALL_CHDIR
> chdir FILE M |
< chdir FILE M | res:ERRNO, path:CHARBUF
= SYSCALL_FCHDIR
> fchdir FILE UM | fd:FD:N
< fchdir FILE UM | res:ERRNO
= SYSCALL_MKDIR
> mkdir FILE - | path:FSPATH, mode:UINT32:H
< mkdir FILE - | res:ERRNO
= SYSCALL_RMDIR
> rmdir FILE - | path:FSPATH
< rmdir FILE - | res:ERRNO
= SYSCALL_OPENAT
> openat FILE CMO | dirfd:FD, name:CHARBUF, flags:FLAGS32:H:file_flags, mode:UINT32:O
< openat FILE CMO | fd:FD
= SYSCALL_LINK
> link FILE O | oldpath:FSPATH, newpath:FSPATH
< link FILE O | res:ERRNO
= SYSCALL_LINKAT
> linkat FILE O | olddir:FD, oldpath:CHARBUF, newdir:FD, newpath:CHARBUF
< linkat FILE O | res:ERRNO
= SYSCALL_UNLINK
> unlink FILE O | path:FSPATH
< unlink FILE O | res:ERRNO
= SYSCALL_UNLINKAT
> unlinkat FILE O | dirfd:FD, name:CHARBUF
< unlinkat FILE O | res:ERRNO
= SYSCALL_PREAD
> pread IO_READ URP | fd:FD, size:UINT32, pos:UINT64
< pread IO_READ URP | res:ERRNO, data:BYTEBUF
= SYSCALL_PWRITE
> pwrite IO_WRITE UWP | fd:FD, size:UINT32, pos:UINT64
< pwrite IO_WRITE UWP | res:ERRNO, data:BYTEBUF
= SYSCALL_READV
> readv IO_READ URP | fd:FD
< readv IO_READ URP | res:ERRNO, size:UINT32, data:BYTEBUF
= SYSCALL_WRITEV
> writev IO_WRITE UWP | fd:FD, size:UINT32
< writev IO_WRITE UWP | res:ERRNO, data:BYTEBUF
= SYSCALL_PREADV
> preadv IO_READ URP | fd:FD, pos:UINT64
< preadv IO_READ URP | res:ERRNO, size:UINT32, data:BYTEBUF
= SYSCALL_PWRITEV
> pwritev IO_WRITE UWP | fd:FD, size:UINT32, pos:UINT64
< pwritev IO_WRITE UWP | res:ERRNO, data:BYTEBUF
= SYSCALL_DUP
> dup IO_OTHER CUM | fd:FD
< dup IO_OTHER CUM | res:FD
= SYSCALL_SIGNALFD
> signalfd SIGNAL CM | fd:FD, mask:UINT32:H, flags:FLAGS8:H
< signalfd SIGNAL CM | res:FD
= SYSCALL_KILL
> kill SIGNAL - | pid:PID, sig:SIGTYPE
< kill SIGNAL - | res:ERRNO
= SYSCALL_TKILL
> tkill SIGNAL - | tid:PID, sig:SIGTYPE
< tkill SIGNAL - | res:ERRNO
= SYSCALL_TGKILL
> tgkill SIGNAL - | pid:PID, tid:PID, sig:SIGTYPE
< tgkill SIGNAL - | res:ERRNO
= SYSCALL_NANOSLEEP
> nanosleep SLEEP AP | interval:RELTIME
< nanosleep SLEEP AP | res:ERRNO
= SYSCALL_TIMERFD_CREATE
> timerfd_create TIME CMP | clockid:UINT8, flags:FLAGS8:H
< timerfd_create TIME CMP | res:FD
= SYSCALL_INOTIFY_INIT
> inotify_init IPC CM | flags:FLAGS8:H
< inotify_init IPC CM | res:FD
= SYSCALL_GETRLIMIT
> getrlimit PROCESS P | resource:FLAGS8:D:rlimit_resources
< getrlimit PROCESS P | res:ERRNO, cur:INT64, max:INT64
= SYSCALL_SETRLIMIT
> setrlimit PROCESS P | resource:FLAGS8:D:rlimit_resources
< setrlimit PROCESS P | res:ERRNO, cur:INT64, max:INT64
= SYSCALL_PRLIMIT
> prlimit PROCESS - | pid:PID, resource:FLAGS8:D:rlimit_resources
< prlimit PROCESS - | res:ERRNO, newcur:INT64, newmax:INT64, oldcur:INT64, oldmax:INT64
= SCHEDSWITCH_1
> switch SCHEDULER SOP | next:PID
< NA2 SCHEDULER SXO |
= DROP
> drop INTERNAL S | ratio:UINT32
< drop INTERNAL S | ratio:UINT32
= SYSCALL_FCNTL
> fcntl IO_OTHER UMP | fd:FD, cmd:FLAGS8:D:fcntl_commands
< fcntl IO_OTHER UMP | res:FD
= SCHEDSWITCH_6
> switch SCHEDULER P | next:PID, pgft_maj:UINT64, pgft_min:UINT64, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32
< NA2 SCHEDULER X |
= SYSCALL_EXECVE_13
> execve PROCESS MO |
< execve PROCESS MO | res:ERRNO, exe:CHARBUF, args:BYTEBUF, tid:PID, pid:PID, ptid:PID, cwd:CHARBUF, fdlimit:UINT64, pgft_maj:UINT64, pgft_min:UINT64, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32
= SYSCALL_CLONE_16
> clone PROCESS MO |
< clone PROCESS MO | @FORK16
= SYSCALL_BRK_4
> brk MEMORY P | addr:UINT64:H
< brk MEMORY P | res:UINT64:H, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32
= SYSCALL_MMAP
> mmap MEMORY P | addr:UINT64:H, length:UINT64, prot:FLAGS32:H:prot_flags, flags:FLAGS32:H:mmap_flags, fd:FD, offset:UINT64
< mmap MEMORY P | res:UINT64:H, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32
= SYSCALL_MMAP2
> mmap2 MEMORY P | addr:UINT64:H, length:UINT64, prot:FLAGS32:H:prot_flags, flags:FLAGS32:H:mmap_flags, fd:FD, pgoffset:UINT64
< mmap2 MEMORY P | res:UINT64:H, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32
= SYSCALL_MUNMAP
> munmap MEMORY P | addr:UINT64:H, length:UINT64
< munmap MEMORY P | res:ERRNO, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32
= SYSCALL_SPLICE
> splice IO_OTHER UP | fd_in:FD, fd_out:FD, size:UINT64, flags:FLAGS32:H:splice_flags
< splice IO_OTHER UP | res:ERRNO
= SYSCALL_PTRACE
> ptrace PROCESS - | request:FLAGS16:D:ptrace_requests, pid:PID
< ptrace PROCESS - | res:ERRNO, addr:DYN:H:ptrace_dynamic, data:DYN:H:ptrace_dynamic
= SYSCALL_IOCTL_3
> ioctl IO_OTHER U | fd:FD, request:UINT64:H, argument:UINT64:H
< ioctl IO_OTHER U | res:ERRNO
= SYSCALL_EXECVE_14
> execve PROCESS MO |
< execve PROCESS MO | res:ERRNO, exe:CHARBUF, args:BYTEBUF, tid:PID, pid:PID, ptid:PID, cwd:CHARBUF, fdlimit:UINT64, pgft_maj:UINT64, pgft_min:UINT64, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32, env:BYTEBUF
= SYSCALL_RENAME
> rename FILE - |
< rename FILE - | res:ERRNO, oldpath:FSPATH, newpath:FSPATH
= SYSCALL_RENAMEAT
> renameat FILE - |
< renameat FILE - | res:ERRNO, olddirfd:FD, oldpath:FSRELPATH:N:1, newdirfd:FD, newpath:FSRELPATH:N:3
= SYSCALL_SYMLINK
> symlink FILE - |
< symlink FILE - | res:ERRNO, target:CHARBUF, linkpath:FSPATH
= SYSCALL_SYMLINKAT
> symlinkat FILE - |
< symlinkat FILE - | res:ERRNO, target:CHARBUF, linkdirfd:FD, linkpath:FSRELPATH:N:2
= SYSCALL_FORK
> fork PROCESS MO |
< fork PROCESS MO | @FORK16
= SYSCALL_VFORK
> vfork PROCESS MO |
< vfork PROCESS MO | @FORK16
= PROCEXIT_1
> procexit PROCESS M | status:ERRNO, ret:ERRNO, sig:SIGTYPE, core:UINT8
< NA1 PROCESS X |
= SYSCALL_SENDFILE
> sendfile IO_WRITE UP | out_fd:FD, in_fd:FD, offset:UINT64, size:UINT64
< sendfile IO_WRITE UP | res:ERRNO, offset:UINT64
= SYSCALL_QUOTACTL
> quotactl USER - | cmd:FLAGS16:D:quotactl_cmds, type:FLAGS8:D:quotactl_types, id:UINT32, quota_fmt:FLAGS8:D:quotactl_quota_fmts
< quotactl USER - | res:ERRNO, special:CHARBUF, quotafilepath:CHARBUF, dqb_bhardlimit:UINT64, dqb_bsoftlimit:UINT64, dqb_curspace:UINT64, dqb_ihardlimit:UINT64, dqb_isoftlimit:UINT64, dqb_btime:RELTIME, dqb_itime:RELTIME, dqi_bgrace:RELTIME, dqi_igrace:RELTIME, dqi_flags:FLAGS8:D:quotactl_dqi_flags, quota_fmt_out:FLAGS8:D:quotactl_quota_fmts
= SYSCALL_SETRESUID
> setresuid USER M | ruid:UID, euid:UID, suid:UID
< setresuid USER M | res:ERRNO
= SYSCALL_SETRESGID
> setresgid USER M | rgid:GID, egid:GID, sgid:GID
< setresgid USER M | res:ERRNO
= SCAPEVENT
> scapevent INTERNAL S | event_type:UINT32, event_data:UINT64
< scapevent INTERNAL X |
= SYSCALL_SETUID
> setuid USER M | uid:UID
< setuid USER M | res:ERRNO
= SYSCALL_SETGID
> setgid USER M | gid:GID
< setgid USER M | res:ERRNO
= SYSCALL_GETUID
> getuid USER P |
< getuid USER P | uid:UID
= SYSCALL_GETEUID
> geteuid USER P |
< geteuid USER P | euid:UID
= SYSCALL_GETGID
> getgid USER P |
< getgid USER P | gid:GID
= SYSCALL_GETEGID
> getegid USER P |
< getegid USER P | egid:GID
= SYSCALL_GETRESUID
> getresuid USER P |
< getresuid USER P | res:ERRNO, ruid:UID, euid:UID, suid:UID
= SYSCALL_GETRESGID
> getresgid USER P |
< getresgid USER P | res:ERRNO, rgid:GID, egid:GID, sgid:GID
= SYSCALL_EXECVE_15
> execve PROCESS MO |
< execve PROCESS MO | res:ERRNO, exe:CHARBUF, args:BYTEBUF, tid:PID, pid:PID, ptid:PID, cwd:CHARBUF, fdlimit:UINT64, pgft_maj:UINT64, pgft_min:UINT64, vm_size:UINT32, vm_rss:UINT32, vm_swap:UINT32, comm:CHARBUF, env:BYTEBUF
= SYSCALL_CLONE_17
> clone PROCESS MO |
< clone PROCESS MO | @FORK17
= SYSCALL_FORK_17
> fork PROCESS MO |
< fork PROCESS MO | @FORK17
= SYSCALL_VFORK_17
> vfork PROCESS MO |
< vfork PROCESS MO | @FORK17
= SYSCALL_CLONE_20
> clone PROCESS M |
< clone PROCESS M | @FORK20
= SYSCALL_FORK_20
> fork PROCESS M |
< fork PROCESS M | @FORK20
= SYSCALL_VFORK_20
> vfork PROCESS M |
< vfork PROCESS M | @FORK20
= CONTAINER
> container INTERNAL SMO | id:CHARBUF, type:UINT32, name:CHARBUF, image:CHARBUF
< container INTERNAL XO |
= SYSCALL_EXECVE_16
> execve PROCESS M |
< execve PROCESS M | @EXEC16
= SIGNALDELIVER
> signaldeliver SIGNAL P | spid:PID, dpid:PID, sig:SIGTYPE
< signaldeliver SIGNAL X |
= PROCINFO
> procinfo INTERNAL SP | cpu_usr:UINT64, cpu_sys:UINT64
< NA2 INTERNAL X |
= SYSCALL_GETDENTS
> getdents FILE UP | fd:FD:N
< getdents FILE UP | res:ERRNO
= SYSCALL_GETDENTS64
> getdents64 FILE UP | fd:FD:N
< getdents64 FILE UP | res:ERRNO
= SYSCALL_SETNS
> setns PROCESS U | fd:FD:N, nstype:FLAGS32:H:clone_flags
< setns PROCESS U | res:ERRNO
= SYSCALL_FLOCK
> flock FILE U | fd:FD:N, operation:FLAGS32:H:flock_flags
< flock FILE U | res:ERRNO
= CPU_HOTPLUG
> cpu_hotplug SYSTEM SM | cpu:UINT32, action:UINT32
< NA2 SYSTEM X |
= SOCKET_ACCEPT_5
> accept NET CM |
< accept NET CM | fd:FD, tuple:SOCKTUPLE, queuepct:UINT8, queuelen:UINT32, queuemax:UINT32
= SOCKET_ACCEPT4_5
> accept NET CM | flags:INT32:H
< accept NET CM | fd:FD, tuple:SOCKTUPLE, queuepct:UINT8, queuelen:UINT32, queuemax:UINT32
= SYSCALL_SEMOP
> semop PROCESS P | semid:INT32
< semop PROCESS P | res:ERRNO, nsops:UINT32, sem_num_0:UINT16, sem_op_0:INT16, sem_flg_0:FLAGS16:H:semop_flags, sem_num_1:UINT16, sem_op_1:INT16, sem_flg_1:FLAGS16:H:semop_flags
= SYSCALL_SEMCTL
> semctl PROCESS P | semid:INT32, semnum:INT32, cmd:FLAGS16:H:semctl_commands, val:INT32
< semctl PROCESS P | res:ERRNO
= SYSCALL_PPOLL
> ppoll WAIT AP | fds:FDLIST, timeout:RELTIME, sigmask:SIGSET
< ppoll WAIT AP | res:ERRNO, fds:FDLIST
= SYSCALL_MOUNT
> mount FILE M | flags:FLAGS32:H:mount_flags
< mount FILE M | res:ERRNO, dev:CHARBUF, dir:FSPATH, type:CHARBUF
= SYSCALL_UMOUNT
> umount FILE M | flags:FLAGS32:H:umount_flags
< umount FILE M | res:ERRNO, name:FSPATH
= K8S
> k8s INTERNAL SM | json:CHARBUF
< NA3 SYSTEM X |
= SYSCALL_SEMGET
> semget PROCESS P | key:INT32:H, nsems:INT32, semflg:FLAGS32:H:semget_flags
< semget PROCESS P | res:ERRNO
= SYSCALL_ACCESS
> access FILE P | mode:FLAGS32:H:access_flags
< access FILE P | res:ERRNO, name:FSPATH
= SYSCALL_CHROOT
> chroot PROCESS M |
< chroot PROCESS M | res:ERRNO, path:FSPATH
= TRACER
> tracer OTHER - | id:INT64, tags:CHARBUFARRAY, args:CHARBUF_PAIR_ARRAY
< tracer OTHER - | id:INT64, tags:CHARBUFARRAY, args:CHARBUF_PAIR_ARRAY
= MESOS
> mesos INTERNAL SM | json:CHARBUF
< NA4 SYSTEM X |
= CONTAINER_JSON
> container PROCESS M | json:CHARBUF
< container PROCESS X |
= SYSCALL_SETSID
> setsid PROCESS M |
< setsid PROCESS M | res:PID
= SYSCALL_MKDIR_2
> mkdir FILE - | mode:UINT32:H
< mkdir FILE - | res:ERRNO, path:FSPATH
= SYSCALL_RMDIR_2
> rmdir FILE - |
< rmdir FILE - | res:ERRNO, path:FSPATH
= NOTIFICATION
> notification OTHER S | id:CHARBUF:D, desc:CHARBUF
< NA4 SYSTEM X |
= SYSCALL_EXECVE_17
> execve PROCESS MO |
< execve PROCESS MO | @EXEC16, tty:INT32
= SYSCALL_UNSHARE
> unshare PROCESS - | flags:FLAGS32:H:clone_flags
< unshare PROCESS - | res:ERRNO
= INFRASTRUCTURE_EVENT
> infra INTERNAL S | source:CHARBUF:D, name:CHARBUF, description:CHARBUF, scope:CHARBUF
< NA4 SYSTEM X |
= SYSCALL_EXECVE_18
> execve PROCESS MO | filename:FSPATH
< execve PROCESS MO | @EXEC16, tty:INT32
= PAGE_FAULT
> page_fault OTHER SP | addr:UINT64:H, ip:UINT64:H, error:FLAGS32:H:pf_flags
< NA5 OTHER X |
= SYSCALL_EXECVE_19
> execve PROCESS M | filename:FSPATH
< execve PROCESS M | @EXEC20
= SYSCALL_SETPGID
> setpgid PROCESS M | pid:PID, pgid:PID
< setpgid PROCESS M | res:PID
= SYSCALL_BPF
> bpf OTHER C | cmd:INT64
< bpf OTHER C | res_or_fd:DYN:D:bpf_dynamic
= SYSCALL_SECCOMP
> seccomp OTHER - | op:UINT64
< seccomp OTHER - | res:ERRNO
= SYSCALL_UNLINK_2
> unlink FILE - |
< unlink FILE - | res:ERRNO, path:FSPATH
= SYSCALL_UNLINKAT_2
> unlinkat FILE - |
< unlinkat FILE - | res:ERRNO, dirfd:FD, name:FSRELPATH:N:1, flags:FLAGS32:H:unlinkat_flags
= SYSCALL_MKDIRAT
> mkdirat FILE - |
< mkdirat FILE - | res:ERRNO, dirfd:FD, path:FSRELPATH:N:1, mode:UINT32:H
= SYSCALL_OPENAT_2
> openat FILE CM | dirfd:FD, name:FSRELPATH:N:0, flags:FLAGS32:H:file_flags, mode:UINT32:O
< openat FILE CM | fd:FD, dirfd:FD, name:FSRELPATH:N:1, flags:FLAGS32:H:file_flags, mode:UINT32:O, dev:UINT32:H
= SYSCALL_LINK_2
> link FILE - |
< link FILE - | res:ERRNO, oldpath:FSPATH, newpath:FSPATH
= SYSCALL_LINKAT_2
> linkat FILE - |
< linkat FILE - | res:ERRNO, olddir:FD, oldpath:FSRELPATH:N:1, newdir:FD, newpath:FSRELPATH:N:3, flags:FLAGS32:H:linkat_flags
= SYSCALL_FCHMODAT
> fchmodat FILE - |
< fchmodat FILE - | res:ERRNO, dirfd:FD, filename:FSRELPATH:N:1, mode:MODE:O:chmod_mode
= SYSCALL_CHMOD
> chmod FILE - |
< chmod FILE - | res:ERRNO, filename:FSPATH, mode:MODE:O:chmod_mode
= SYSCALL_FCHMOD
> fchmod FILE - |
< fchmod FILE - | res:ERRNO, fd:FD, mode:MODE:O:chmod_mode
= SYSCALL_RENAMEAT2
> renameat2 FILE - |
< renameat2 FILE - | res:ERRNO, olddirfd:FD, oldpath:FSRELPATH:N:1, newdirfd:FD, newpath:FSRELPATH:N:3, flags:FLAGS32:H:renameat2_flags
= SYSCALL_USERFAULTFD
> userfaultfd FILE CM |
< userfaultfd FILE CM | res:ERRNO, flags:FLAGS32:H:file_flags
= PLUGINEVENT
> pluginevent OTHER L | plugin ID:UINT32, event_data:BYTEBUF
< pluginevent OTHER X |
= CONTAINER_JSON_2
> container PROCESS ML | json:CHARBUF
< container PROCESS X |
= SYSCALL_OPENAT2
> openat2 FILE CM | dirfd:FD, name:FSRELPATH:N:0, flags:FLAGS32:H:file_flags, mode:UINT32:O, resolve:FLAGS32:H:openat2_flags
< openat2 FILE CM | fd:FD, dirfd:FD, name:FSRELPATH:N:1, flags:FLAGS32:H:file_flags, mode:UINT32:O, resolve:FLAGS32:H:openat2_flags
= SYSCALL_MPROTECT
> mprotect MEMORY P | addr:UINT64:H, length:UINT64, prot:FLAGS32:H:prot_flags
< mprotect MEMORY P | res:ERRNO
= SYSCALL_EXECVEAT
> execveat PROCESS M | dirfd:FD, pathname:FSRELPATH:N:0, flags:FLAGS32:H:execveat_flags
< execveat PROCESS M | @EXEC20
= SYSCALL_COPY_FILE_RANGE
> copy_file_range FILE URW | fdin:FD, offin:UINT64, len:UINT64
< copy_file_range FILE URW | res:ERRNO, fdout:FD, offout:UINT64
= SYSCALL_CLONE3
> clone3 PROCESS M |
< clone3 PROCESS M | @FORK20
= SYSCALL_OPEN_BY_HANDLE_AT
> open_by_handle_at FILE CM |
< open_by_handle_at FILE CM | fd:FD, mountfd:FD, flags:FLAGS32:H:file_flags, path:FSPATH, dev:UINT32:H, ino:UINT64
= SYSCALL_IO_URING_SETUP
> io_uring_setup OTHER CM |
< io_uring_setup OTHER CM | res:ERRNO, entries:UINT32, sq_entries:UINT32, cq_entries:UINT32, flags:FLAGS32:H:io_uring_setup_flags, sq_thread_cpu:UINT32, sq_thread_idle:UINT32, features:FLAGS32:H:io_uring_setup_feats
= SYSCALL_IO_URING_ENTER
> io_uring_enter IO_OTHER UW |
< io_uring_enter IO_OTHER UW | res:ERRNO, fd:FD, to_submit:UINT32, min_complete:UINT32, flags:FLAGS32:H:io_uring_enter_flags, sig:SIGSET
= SYSCALL_IO_URING_REGISTER
> io_uring_register OTHER UM |
< io_uring_register OTHER UM | res:ERRNO, fd:FD, opcode:FLAGS16:D:io_uring_register_opcodes, arg:UINT64:H, nr_args:UINT32
= SYSCALL_MLOCK
> mlock MEMORY P |
< mlock MEMORY P | res:ERRNO, addr:UINT64:H, len:UINT64
= SYSCALL_MUNLOCK
> munlock MEMORY P |
< munlock MEMORY P | res:ERRNO, addr:UINT64:H, len:UINT64
= SYSCALL_MLOCKALL
> mlockall MEMORY P |
< mlockall MEMORY P | res:ERRNO, flags:FLAGS32:H:mlockall_flags
= SYSCALL_MUNLOCKALL
> munlockall MEMORY P |
< munlockall MEMORY P | res:ERRNO
= SYSCALL_CAPSET
> capset PROCESS M |
< capset PROCESS M | res:ERRNO, cap_inheritable:UINT64:H, cap_permitted:UINT64:H, cap_effective:UINT64:H
= USER_ADDED
> useradded PROCESS M | uid:UINT32, gid:UINT32, name:CHARBUF, home:CHARBUF, shell:CHARBUF, container_id:CHARBUF
< NA OTHER X |
= USER_DELETED
> userdeleted PROCESS M | uid:UINT32, gid:UINT32, name:CHARBUF, home:CHARBUF, shell:CHARBUF, container_id:CHARBUF
< NA OTHER X |
= GROUP_ADDED
> groupadded PROCESS M | gid:UINT32, name:CHARBUF, container_id:CHARBUF
< NA OTHER X |
= GROUP_DELETED
> groupdeleted PROCESS M | gid:UINT32, name:CHARBUF, container_id:CHARBUF
< NA OTHER X |
= SYSCALL_DUP2
> dup2 IO_OTHER CUM | fd:FD
< dup2 IO_OTHER CUM | res:FD, oldfd:FD, newfd:FD
= SYSCALL_DUP3
> dup3 IO_OTHER CUM | fd:FD
< dup3 IO_OTHER CUM | res:FD, oldfd:FD, newfd:FD, flags:FLAGS32:H:file_flags
= SYSCALL_DUP_1
> dup IO_OTHER CUM | fd:FD
< dup IO_OTHER CUM | res:FD, oldfd:FD
= SYSCALL_BPF_2
> bpf OTHER C | cmd:INT64
< bpf OTHER C | fd:FD, cmd:INT32
= SYSCALL_MLOCK2
> mlock2 MEMORY - |
< mlock2 MEMORY - | res:ERRNO, addr:UINT64:H, len:UINT64, flags:UINT32:H
= SYSCALL_FSCONFIG
> fsconfig SYSTEM - |
< fsconfig SYSTEM U | res:ERRNO, fd:FD, cmd:UINT32, key:CHARBUF, value_bytebuf:BYTEBUF, value_charbuf:CHARBUF, aux:INT32
= SYSCALL_EPOLL_CREATE
> epoll_create WAIT CM | size:INT32
< epoll_create WAIT CM | res:ERRNO
= SYSCALL_EPOLL_CREATE1
> epoll_create1 WAIT CM | flags:FLAGS32:H
< epoll_create1 WAIT CM | res:ERRNO
= SYSCALL_CHOWN
> chown FILE - |
< chown FILE - | res:ERRNO, path:FSPATH, uid:UINT32, gid:UINT32
= SYSCALL_LCHOWN
> lchown FILE - |
< lchown FILE - | res:ERRNO, path:FSPATH, uid:UINT32, gid:UINT32
= SYSCALL_FCHOWN
> fchown FILE - |
< fchown FILE U | res:ERRNO, fd:FD, uid:UINT32, gid:UINT32
= SYSCALL_FCHOWNAT
> fchownat FILE - |
< fchownat FILE - | res:ERRNO, dirfd:FD, pathname:FSRELPATH:N:1, uid:UINT32, gid:UINT32, flags:FLAGS32:H
= SYSCALL_UMOUNT_1
> umount FILE M |
< umount FILE M | res:ERRNO, name:FSPATH
= SOCKET_ACCEPT4_6
> accept4 NET CM | flags:INT32:H
< accept4 NET CM | fd:FD, tuple:SOCKTUPLE, queuepct:UINT8, queuelen:UINT32, queuemax:UINT32
= SYSCALL_UMOUNT2
> umount2 FILE M | flags:FLAGS32:H:umount_flags
< umount2 FILE M | res:ERRNO, name:FSPATH
= SYSCALL_PIPE2
> pipe2 IPC CM |
< pipe2 IPC CM | res:ERRNO, fd1:FD, fd2:FD, ino:UINT64, flags:FLAGS32:H:file_flags
= SYSCALL_INOTIFY_INIT1
> inotify_init1 IPC CM |
< inotify_init1 IPC CM | res:FD, flags:FLAGS16:H:file_flags
= SYSCALL_EVENTFD2
> eventfd2 IPC CM | initval:UINT64
< eventfd2 IPC CM | res:FD, flags:FLAGS16:H:file_flags
= SYSCALL_SIGNALFD4
> signalfd4 SIGNAL CM | fd:FD, mask:UINT32:H
< signalfd4 SIGNAL CM | res:FD, flags:FLAGS16:H
= SYSCALL_PRCTL
> prctl PROCESS M |
< prctl PROCESS M | res:ERRNO, option:UINT32, arg2_str:CHARBUF, arg2_int:INT64
= ASYNCEVENT
> asyncevent OTHER L | plugin_id:UINT32, name:CHARBUF, data:BYTEBUF
< NA OTHER X |
= SYSCALL_MEMFD_CREATE
> memfd_create MEMORY CM |
< memfd_create MEMORY CM | fd:FD, name:CHARBUF, flags:FLAGS32:H:memfd_create_flags
= SYSCALL_PIDFD_GETFD
> pidfd_getfd PROCESS CM |
< pidfd_getfd PROCESS CM | fd:FD, pid_fd:FD, target_fd:FD, flags:FLAGS32:H
= SYSCALL_PIDFD_OPEN
> pidfd_open PROCESS CM |
< pidfd_open PROCESS CM | fd:FD, pid:PID, flags:FLAGS32:H
= SYSCALL_INIT_MODULE
> init_module OTHER - |
< init_module OTHER - | res:ERRNO, img:BYTEBUF, length:UINT64, uargs:CHARBUF
= SYSCALL_FINIT_MODULE
> finit_module OTHER - |
< finit_module OTHER UR | res:ERRNO, fd:FD, uargs:CHARBUF, flags:FLAGS32
= SYSCALL_MKNOD
> mknod OTHER - |
< mknod OTHER - | res:ERRNO, path:FSPATH, mode:MODE:O:mknod_mode, dev:UINT32
= SYSCALL_MKNODAT
> mknodat OTHER - |
< mknodat OTHER U | res:ERRNO, dirfd:FD, path:FSRELPATH:N:1, mode:MODE:O:mknod_mode, dev:UINT32
= SYSCALL_NEWFSTATAT
> newfstatat FILE - |
< newfstatat FILE U | res:ERRNO, dirfd:FD, path:FSRELPATH:N:1, flags:FLAGS32:H
"""

# Shared parameter runs of the process-creation exit events (expanded where ``@NAME`` appears).
PARAM_MACROS = {
    "PROC13": "res:PID, exe:CHARBUF, args:BYTEBUF, tid:PID, pid:PID, ptid:PID, cwd:CHARBUF, "
    "fdlimit:INT64, pgft_maj:UINT64, pgft_min:UINT64, vm_size:UINT32, vm_rss:UINT32, "
    "vm_swap:UINT32",
    "FORK16": "@PROC13, flags:FLAGS32:H:clone_flags, uid:UINT32, gid:UINT32",
    "FORK17": "@PROC13, comm:CHARBUF, flags:FLAGS32:H:clone_flags, uid:UINT32, gid:UINT32",
    "FORK20": "@PROC13, comm:CHARBUF, cgroups:BYTEBUF, flags:FLAGS32:H:clone_flags, "
    "uid:UINT32, gid:UINT32, vtid:PID, vpid:PID, pidns_init_start_ts:UINT64",
    "EXEC16": "res:ERRNO, exe:CHARBUF, args:BYTEBUF, tid:PID, pid:PID, ptid:PID, cwd:CHARBUF, "
    "fdlimit:UINT64, pgft_maj:UINT64, pgft_min:UINT64, vm_size:UINT32, vm_rss:UINT32, "
    "vm_swap:UINT32, comm:CHARBUF, cgroups:BYTEBUF, env:BYTEBUF",
    "EXEC20": "@EXEC16, tty:INT32, pgid:PID, loginuid:INT32, flags:FLAGS32:H:execve_flags, "
    "cap_inheritable:UINT64:H, cap_permitted:UINT64:H, cap_effective:UINT64:H, "
    "exe_ino:UINT64, exe_ino_ctime:ABSTIME, exe_ino_mtime:ABSTIME, uid:UID, "
    "trusted_exepath:FSPATH",
}
