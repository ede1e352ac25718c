"""System calls: scap's portable codes (``PPM_SC_*``) and the x86_64 table the drivers use.

Generic syscall events (``SE_GENERIC_E``/``_X``, named "syscall") carry a portable code as
their ``ID`` parameter; :data:`PPM_SC_NAMES` turns it into the name sysdig shows as
``evt.type``. :data:`X86_64_SYSCALLS` maps a native x86_64 syscall number to its name, the
portable code, and the enter event the drivers write for it (the exit event is enter + 1);
syscalls without a dedicated event use the generic pair. The event chosen for each syscall is
the generation sysdig 0.29 reads, so captures we write stay readable by it, except the few of
:data:`LIBS_LATER_EVENTS` (sysdig 0.29 skips those events, reading the rest).
"""

from __future__ import annotations

from typing import NamedTuple

# PPM_SC_* in code order (0 .. 332): scap's portable syscall codes.
_PPM_SC_TEXT = """
    <unknown> restart_syscall exit read write open close creat link unlink chdir time mknod chmod
    stat lseek getpid mount ptrace alarm fstat pause utime access sync kill rename mkdir rmdir
    dup pipe times brk acct ioctl fcntl setpgid umask chroot ustat dup2 getppid getpgrp setsid
    sethostname setrlimit getrusage gettimeofday settimeofday symlink lstat readlink uselib
    swapon reboot mmap munmap truncate ftruncate fchmod getpriority setpriority statfs fstatfs
    syslog setitimer getitimer uname vhangup wait4 swapoff sysinfo fsync setdomainname adjtimex
    mprotect init_module delete_module quotactl getpgid fchdir sysfs personality getdents
    select flock msync readv writev getsid fdatasync mlock munlock mlockall munlockall
    sched_setparam sched_getparam sched_setscheduler sched_getscheduler sched_yield
    sched_get_priority_max sched_get_priority_min sched_rr_get_interval nanosleep mremap poll
    prctl rt_sigaction rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo
    rt_sigsuspend getcwd capget capset sendfile getrlimit lchown getuid getgid geteuid getegid
    setreuid setregid getgroups setgroups fchown setresuid getresuid setresgid getresgid chown
    setuid setgid setfsuid setfsgid pivot_root mincore madvise gettid setxattr lsetxattr
    fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr
    lremovexattr fremovexattr tkill futex sched_setaffinity sched_getaffinity set_thread_area
    get_thread_area io_setup io_destroy io_getevents io_submit io_cancel exit_group
    epoll_create epoll_ctl epoll_wait remap_file_pages set_tid_address timer_create
    timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime
    clock_getres clock_nanosleep tgkill utimes mq_open mq_unlink mq_timedsend mq_timedreceive
    mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl ioprio_set ioprio_get
    inotify_init inotify_add_watch inotify_rm_watch openat mkdirat mknodat fchownat futimesat
    unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare
    set_robust_list get_robust_list splice tee vmsplice getcpu epoll_pwait utimensat signalfd
    timerfd_create eventfd timerfd_settime timerfd_gettime signalfd4 eventfd2 epoll_create1
    dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open fanotify_init
    prlimit64 clock_adjtime syncfs setns getdents64 socket bind connect listen accept
    getsockname getpeername socketpair sendto recvfrom shutdown setsockopt getsockopt sendmsg
    sendmmsg recvmsg recvmmsg accept4 semop semget semctl msgsnd msgrcv msgget msgctl shmdt
    shmget shmctl statfs64 fstatfs64 fstatat64 sendfile64 ugetrlimit bdflush sigprocmask ipc
    socketcall stat64 lstat64 fstat64 fcntl64 mmap2 _newselect sgetmask ssetmask sigpending
    olduname umount signal nice stime _llseek waitpid pread64 pwrite64 arch_prctl shmat
    sigreturn fallocate newfstatat process_vm_readv process_vm_writev fork vfork setuid32
    getuid32 setgid32 geteuid32 getgid32 setresuid32 setresgid32 getresuid32 getresgid32
    finit_module bpf seccomp sigaltstack getrandom fadvise64 renameat2 userfaultfd openat2
    umount2 execve execveat copy_file_range clone clone3 open_by_handle_at io_uring_setup
    io_uring_enter io_uring_register
"""
PPM_SC_NAMES: tuple[str, ...] = tuple(_PPM_SC_TEXT.split())
PPM_SC_BY_NAME: dict[str, int] = {name: code for code, name in enumerate(PPM_SC_NAMES)}

# x86_64 syscall numbers (Linux uapi unistd_64.h).
_X86_64_NUMBERS = """
0:read 1:write 2:open 3:close 4:stat 5:fstat 6:lstat 7:poll 8:lseek 9:mmap 10:mprotect
11:munmap 12:brk 13:rt_sigaction 14:rt_sigprocmask 15:rt_sigreturn 16:ioctl 17:pread64
18:pwrite64 19:readv 20:writev 21:access 22:pipe 23:select 24:sched_yield 25:mremap 26:msync
27:mincore 28:madvise 29:shmget 30:shmat 31:shmctl 32:dup 33:dup2 34:pause 35:nanosleep
36:getitimer 37:alarm 38:setitimer 39:getpid 40:sendfile 41:socket 42:connect 43:accept
44:sendto 45:recvfrom 46:sendmsg 47:recvmsg 48:shutdown 49:bind 50:listen 51:getsockname
52:getpeername 53:socketpair 54:setsockopt 55:getsockopt 56:clone 57:fork 58:vfork 59:execve
60:exit 61:wait4 62:kill 63:uname 64:semget 65:semop 66:semctl 67:shmdt 68:msgget 69:msgsnd
70:msgrcv 71:msgctl 72:fcntl 73:flock 74:fsync 75:fdatasync 76:truncate 77:ftruncate
78:getdents 79:getcwd 80:chdir 81:fchdir 82:rename 83:mkdir 84:rmdir 85:creat 86:link
87:unlink 88:symlink 89:readlink 90:chmod 91:fchmod 92:chown 93:fchown 94:lchown 95:umask
96:gettimeofday 97:getrlimit 98:getrusage 99:sysinfo 100:times 101:ptrace 102:getuid
103:syslog 104:getgid 105:setuid 106:setgid 107:geteuid 108:getegid 109:setpgid 110:getppid
111:getpgrp 112:setsid 113:setreuid 114:setregid 115:getgroups 116:setgroups 117:setresuid
118:getresuid 119:setresgid 120:getresgid 121:getpgid 122:setfsuid 123:setfsgid 124:getsid
125:capget 126:capset 127:rt_sigpending 128:rt_sigtimedwait 129:rt_sigqueueinfo
130:rt_sigsuspend 131:sigaltstack 132:utime 133:mknod 134:uselib 135:personality 136:ustat
137:statfs 138:fstatfs 139:sysfs 140:getpriority 141:setpriority 142:sched_setparam
143:sched_getparam 144:sched_setscheduler 145:sched_getscheduler 146:sched_get_priority_max
147:sched_get_priority_min 148:sched_rr_get_interval 149:mlock 150:munlock 151:mlockall
152:munlockall 153:vhangup 154:modify_ldt 155:pivot_root 156:_sysctl 157:prctl
158:arch_prctl 159:adjtimex 160:setrlimit 161:chroot 162:sync 163:acct 164:settimeofday
165:mount 166:umount2 167:swapon 168:swapoff 169:reboot 170:sethostname 171:setdomainname
172:iopl 173:ioperm 174:create_module 175:init_module 176:delete_module 177:get_kernel_syms
178:query_module 179:quotactl 180:nfsservctl 181:getpmsg 182:putpmsg 183:afs_syscall
184:tuxcall 185:security 186:gettid 187:readahead 188:setxattr 189:lsetxattr 190:fsetxattr
191:getxattr 192:lgetxattr 193:fgetxattr 194:listxattr 195:llistxattr 196:flistxattr
197:removexattr 198:lremovexattr 199:fremovexattr 200:tkill 201:time 202:futex
203:sched_setaffinity 204:sched_getaffinity 205:set_thread_area 206:io_setup 207:io_destroy
208:io_getevents 209:io_submit 210:io_cancel 211:get_thread_area 212:lookup_dcookie
213:epoll_create 214:epoll_ctl_old 215:epoll_wait_old 216:remap_file_pages 217:getdents64
218:set_tid_address 219:restart_syscall 220:semtimedop 221:fadvise64 222:timer_create
223:timer_settime 224:timer_gettime 225:timer_getoverrun 226:timer_delete 227:clock_settime
228:clock_gettime 229:clock_getres 230:clock_nanosleep 231:exit_group 232:epoll_wait
233:epoll_ctl 234:tgkill 235:utimes 236:vserver 237:mbind 238:set_mempolicy
239:get_mempolicy 240:mq_open 241:mq_unlink 242:mq_timedsend 243:mq_timedreceive
244:mq_notify 245:mq_getsetattr 246:kexec_load 247:waitid 248:add_key 249:request_key
250:keyctl 251:ioprio_set 252:ioprio_get 253:inotify_init 254:inotify_add_watch
255:inotify_rm_watch 256:migrate_pages 257:openat 258:mkdirat 259:mknodat 260:fchownat
261:futimesat 262:newfstatat 263:unlinkat 264:renameat 265:linkat 266:symlinkat
267:readlinkat 268:fchmodat 269:faccessat 270:pselect6 271:ppoll 272:unshare
273:set_robust_list 274:get_robust_list 275:splice 276:tee 277:sync_file_range 278:vmsplice
279:move_pages 280:utimensat 281:epoll_pwait 282:signalfd 283:timerfd_create 284:eventfd
285:fallocate 286:timerfd_settime 287:timerfd_gettime 288:accept4 289:signalfd4 290:eventfd2
291:epoll_create1 292:dup3 293:pipe2 294:inotify_init1 295:preadv 296:pwritev
297:rt_tgsigqueueinfo 298:perf_event_open 299:recvmmsg 300:fanotify_init 301:fanotify_mark
302:prlimit64 303:name_to_handle_at 304:open_by_handle_at 305:clock_adjtime 306:syncfs
307:sendmmsg 308:setns 309:getcpu 310:process_vm_readv 311:process_vm_writev 312:kcmp
313:finit_module 314:sched_setattr 315:sched_getattr 316:renameat2 317:seccomp 318:getrandom
319:memfd_create 320:kexec_file_load 321:bpf 322:execveat 323:userfaultfd 324:membarrier
325:mlock2 326:copy_file_range 327:preadv2 328:pwritev2 329:pkey_mprotect 330:pkey_alloc
331:pkey_free 332:statx 333:io_pgetevents 334:rseq 424:pidfd_send_signal 425:io_uring_setup
426:io_uring_enter 427:io_uring_register 428:open_tree 429:move_mount 430:fsopen 431:fsconfig
432:fsmount 433:fspick 434:pidfd_open 435:clone3 436:close_range 437:openat2 438:pidfd_getfd
439:faccessat2 440:process_madvise 441:epoll_pwait2 442:mount_setattr 443:quotactl_fd
444:landlock_create_ruleset 445:landlock_add_rule 446:landlock_restrict_self
447:memfd_secret 448:process_mrelease 449:futex_waitv 450:set_mempolicy_home_node
"""

# syscall name -> enter event number of its dedicated event pair (all others: generic 0).
_DEDICATED_EVENTS = """
open:2 close:4 read:6 write:8 socket:18 bind:20 connect:22 listen:24 sendto:30 recvfrom:34
shutdown:36 getsockname:38 getpeername:40 socketpair:42 setsockopt:44 getsockopt:46
sendmsg:48 sendmmsg:50 recvmsg:52 recvmmsg:54 creat:58 pipe:60 pipe2:60 eventfd:62
eventfd2:62 futex:64 stat:66 lstat:68 fstat:70 epoll_wait:78 poll:80 select:82 lseek:86
getcwd:92 chdir:94 fchdir:96 pread64:112 pwrite64:114 readv:116 writev:118 preadv:120
pwritev:122 dup:124 dup2:124 dup3:124 signalfd:126 signalfd4:126 kill:128 tkill:130
tgkill:132 nanosleep:134 timerfd_create:136 inotify_init:138 inotify_init1:138
getrlimit:140 setrlimit:142 prlimit64:144 fcntl:150 brk:158 mmap:160 munmap:164 splice:166
ptrace:168 ioctl:170 rename:174 renameat:176 symlink:178 symlinkat:180 sendfile:188
quotactl:190 setresuid:192 setresgid:194 setuid:198 setgid:200 getuid:202 geteuid:204
getgid:206 getegid:208 getresuid:210 getresgid:212 clone:222 fork:224 vfork:226
getdents:236 getdents64:238 setns:240 flock:242 accept:246 accept4:248 semop:250 semctl:252
ppoll:254 mount:256 umount2:258 semget:262 access:264 chroot:266 setsid:274 mkdir:276
rmdir:278 unshare:284 execve:292 setpgid:294 bpf:296 seccomp:298 unlink:300 unlinkat:302
mkdirat:304 openat:306 link:308 linkat:310 fchmodat:312 chmod:314 fchmod:316 renameat2:318
userfaultfd:320 openat2:326 mprotect:328 execveat:330 copy_file_range:332 clone3:334
open_by_handle_at:336 capset:352 memfd_create:404 init_module:410 finit_module:412 mknod:414
mknodat:416
"""

# Dedicated events of a later libs than sysdig 0.29 (which skips them when reading a
# capture): today's Falco rules need their parameters (memfd_create's name names the fd an
# fexecve runs; init_module's result and arguments; capset's new sets for thread.cap_*;
# the node mknod/mknodat make, its type and device; the file open_by_handle_at opens).
LIBS_LATER_EVENTS = frozenset(
    {
        "open_by_handle_at",
        "capset",
        "memfd_create",
        "init_module",
        "finit_module",
        "mknod",
        "mknodat",
    }
)

# Native names whose portable code is spelled differently.
_PPM_SC_ALIASES = {"umount2": "umount2", "newfstatat": "newfstatat", "rt_sigreturn": "sigreturn"}


class Syscall(NamedTuple):
    """One native x86_64 syscall as the drivers see it."""

    nr: int
    name: str
    ppm_sc: int  # portable code (0: none)
    enter_event: int  # enter event number; the exit event is enter_event + 1


def _build() -> dict[int, Syscall]:
    dedicated = {}
    for item in _DEDICATED_EVENTS.split():
        name, _, evt = item.partition(":")
        dedicated[name] = int(evt)
    table = {}
    for item in _X86_64_NUMBERS.split():
        nr_text, _, name = item.partition(":")
        code = PPM_SC_BY_NAME.get(_PPM_SC_ALIASES.get(name, name), 0)
        table[int(nr_text)] = Syscall(int(nr_text), name, code, dedicated.get(name, 0))
    return table


X86_64_SYSCALLS: dict[int, Syscall] = _build()
X86_64_BY_NAME: dict[str, Syscall] = {sc.name: sc for sc in X86_64_SYSCALLS.values()}

# Sampling ("dropping mode", a ratio n > 1): as in scap's drivers an event is kept when its
# timestamp falls in the first 1/n of its second, except these syscalls. Never dropped
# (scap's UF_NEVER_DROP): those that create or replace processes, file descriptors, the
# working directory and limits, the state a reader rebuilds. Always dropped while sampling
# (UF_ALWAYS_DROP): frequent and stateless. driver/gen_headers.py renders both lists into
# driver/include/sentry_sampling.h for the module and the probe.
_NEVER_DROP_TEXT = """
    open creat openat close execve execveat clone clone3 fork vfork pipe pipe2 eventfd eventfd2
    signalfd signalfd4 timerfd_create inotify_init inotify_init1 userfaultfd dup dup2 dup3
    socket socketpair bind chdir fchdir chroot getrlimit setrlimit prlimit64
"""
_ALWAYS_DROP_TEXT = """
    brk mmap munmap futex nanosleep alarm pause stat lstat fstat access getcwd lseek ioctl
    flock getdents getdents64 utime uselib syslog poll ppoll select pselect6 epoll_create
    epoll_ctl epoll_wait getsockname getpeername setsockopt semop semget semctl
    sched_setparam sched_getparam setsid setpgid unshare
"""
NEVER_DROP_SYSCALLS: tuple[str, ...] = tuple(_NEVER_DROP_TEXT.split())
ALWAYS_DROP_SYSCALLS: tuple[str, ...] = tuple(_ALWAYS_DROP_TEXT.split())


def syscall_numbers_for_event_names(names: set[str]) -> set[int]:
    """Native syscall numbers whose events can carry one of these ``evt.type`` names.

    A name matches a syscall when the syscall's own name is it, or when its dedicated event
    is called that (``accept`` covers accept and accept4). Used to build the interest set.
    """
    from sentry.events.table import EVENTS

    found = set()
    for sc in X86_64_SYSCALLS.values():
        if sc.name in names or (sc.enter_event and EVENTS[sc.enter_event].name in names):
            found.add(sc.nr)
    if 322 in found:
        # a successful execveat (322) exits under execve's number (59): an execve exit
        found.add(59)
    return found
