"""32-bit syscalls on x86_64: the ia32 (int 0x80 / sysenter) and x32 tables and how the
drivers turn each call into the x86_64 syscall number the event tables use (as Falco does).

A 32-bit task's syscall numbers are those of arch/x86/entry/syscalls/syscall_32.tbl; x32 calls
are x86_64 numbers with ``__X32_SYSCALL_BIT`` set, except the 512+ ones whose arguments use
32-bit layouts. Each call maps to an x86_64 number; where the dedicated event of that number
would read an argument whose layout or position differs (iovec, msghdr, 32-bit timespec or
rlimit, a 64-bit offset split over two registers, 16-bit ids written to user memory), the
drivers write the generic event instead, so what is written is right. Calls with no x86_64
counterpart are dropped and counted as suppressed. ``socketcall`` (what i386 glibc uses for
sockets) is demultiplexed into the socket calls. driver/gen_headers.py renders this
into driver/include/sentry_compat_syscalls.h for both drivers.
"""

from __future__ import annotations

from typing import NamedTuple

from sentry.events.syscalls import X86_64_BY_NAME

# ia32 numbers (Linux uapi asm/unistd_32.h, 6.1); from 424 on every architecture numbers
# new syscalls alike, so later ones map to the same x86_64 number.
_IA32_NUMBERS = """
0:restart_syscall 1:exit 2:fork 3:read 4:write 5:open 6:close 7:waitpid 8:creat 9:link
10:unlink 11:execve 12:chdir 13:time 14:mknod 15:chmod 16:lchown 17:break 18:oldstat 19:lseek
20:getpid 21:mount 22:umount 23:setuid 24:getuid 25:stime 26:ptrace 27:alarm 28:oldfstat
29:pause 30:utime 31:stty 32:gtty 33:access 34:nice 35:ftime 36:sync 37:kill 38:rename 39:mkdir
40:rmdir 41:dup 42:pipe 43:times 44:prof 45:brk 46:setgid 47:getgid 48:signal 49:geteuid
50:getegid 51:acct 52:umount2 53:lock 54:ioctl 55:fcntl 56:mpx 57:setpgid 58:ulimit
59:oldolduname 60:umask 61:chroot 62:ustat 63:dup2 64:getppid 65:getpgrp 66:setsid 67:sigaction
68:sgetmask 69:ssetmask 70:setreuid 71:setregid 72:sigsuspend 73:sigpending 74:sethostname
75:setrlimit 76:getrlimit 77:getrusage 78:gettimeofday 79:settimeofday 80:getgroups
81:setgroups 82:select 83:symlink 84:oldlstat 85:readlink 86:uselib 87:swapon 88:reboot
89:readdir 90:mmap 91:munmap 92:truncate 93:ftruncate 94:fchmod 95:fchown 96:getpriority
97:setpriority 98:profil 99:statfs 100:fstatfs 101:ioperm 102:socketcall 103:syslog
104:setitimer 105:getitimer 106:stat 107:lstat 108:fstat 109:olduname 110:iopl 111:vhangup
112:idle 113:vm86old 114:wait4 115:swapoff 116:sysinfo 117:ipc 118:fsync 119:sigreturn
120:clone 121:setdomainname 122:uname 123:modify_ldt 124:adjtimex 125:mprotect 126:sigprocmask
127:create_module 128:init_module 129:delete_module 130:get_kernel_syms 131:quotactl
132:getpgid 133:fchdir 134:bdflush 135:sysfs 136:personality 137:afs_syscall 138:setfsuid
139:setfsgid 140:_llseek 141:getdents 142:_newselect 143:flock 144:msync 145:readv 146:writev
147:getsid 148:fdatasync 149:_sysctl 150:mlock 151:munlock 152:mlockall 153:munlockall
154:sched_setparam 155:sched_getparam 156:sched_setscheduler 157:sched_getscheduler
158:sched_yield 159:sched_get_priority_max 160:sched_get_priority_min 161:sched_rr_get_interval
162:nanosleep 163:mremap 164:setresuid 165:getresuid 166:vm86 167:query_module 168:poll
169:nfsservctl 170:setresgid 171:getresgid 172:prctl 173:rt_sigreturn 174:rt_sigaction
175:rt_sigprocmask 176:rt_sigpending 177:rt_sigtimedwait 178:rt_sigqueueinfo 179:rt_sigsuspend
180:pread64 181:pwrite64 182:chown 183:getcwd 184:capget 185:capset 186:sigaltstack
187:sendfile 188:getpmsg 189:putpmsg 190:vfork 191:ugetrlimit 192:mmap2 193:truncate64
194:ftruncate64 195:stat64 196:lstat64 197:fstat64 198:lchown32 199:getuid32 200:getgid32
201:geteuid32 202:getegid32 203:setreuid32 204:setregid32 205:getgroups32 206:setgroups32
207:fchown32 208:setresuid32 209:getresuid32 210:setresgid32 211:getresgid32 212:chown32
213:setuid32 214:setgid32 215:setfsuid32 216:setfsgid32 217:pivot_root 218:mincore 219:madvise
220:getdents64 221:fcntl64 224:gettid 225:readahead 226:setxattr 227:lsetxattr 228:fsetxattr
229:getxattr 230:lgetxattr 231:fgetxattr 232:listxattr 233:llistxattr 234:flistxattr
235:removexattr 236:lremovexattr 237:fremovexattr 238:tkill 239:sendfile64 240:futex
241:sched_setaffinity 242:sched_getaffinity 243:set_thread_area 244:get_thread_area
245:io_setup 246:io_destroy 247:io_getevents 248:io_submit 249:io_cancel 250:fadvise64
252:exit_group 253:lookup_dcookie 254:epoll_create 255:epoll_ctl 256:epoll_wait
257:remap_file_pages 258:set_tid_address 259:timer_create 260:timer_settime 261:timer_gettime
262:timer_getoverrun 263:timer_delete 264:clock_settime 265:clock_gettime 266:clock_getres
267:clock_nanosleep 268:statfs64 269:fstatfs64 270:tgkill 271:utimes 272:fadvise64_64
273:vserver 274:mbind 275:get_mempolicy 276:set_mempolicy 277:mq_open 278:mq_unlink
279:mq_timedsend 280:mq_timedreceive 281:mq_notify 282:mq_getsetattr 283:kexec_load 284:waitid
286:add_key 287:request_key 288:keyctl 289:ioprio_set 290:ioprio_get 291:inotify_init
292:inotify_add_watch 293:inotify_rm_watch 294:migrate_pages 295:openat 296:mkdirat 297:mknodat
298:fchownat 299:futimesat 300:fstatat64 301:unlinkat 302:renameat 303:linkat 304:symlinkat
305:readlinkat 306:fchmodat 307:faccessat 308:pselect6 309:ppoll 310:unshare
311:set_robust_list 312:get_robust_list 313:splice 314:sync_file_range 315:tee 316:vmsplice
317:move_pages 318:getcpu 319:epoll_pwait 320:utimensat 321:signalfd 322:timerfd_create
323:eventfd 324:fallocate 325:timerfd_settime 326:timerfd_gettime 327:signalfd4 328:eventfd2
329:epoll_create1 330:dup3 331:pipe2 332:inotify_init1 333:preadv 334:pwritev
335:rt_tgsigqueueinfo 336:perf_event_open 337:recvmmsg 338:fanotify_init 339:fanotify_mark
340:prlimit64 341:name_to_handle_at 342:open_by_handle_at 343:clock_adjtime 344:syncfs
345:sendmmsg 346:setns 347:process_vm_readv 348:process_vm_writev 349:kcmp 350:finit_module
351:sched_setattr 352:sched_getattr 353:renameat2 354:seccomp 355:getrandom 356:memfd_create
357:bpf 358:execveat 359:socket 360:socketpair 361:bind 362:connect 363:listen 364:accept4
365:getsockopt 366:setsockopt 367:getsockname 368:getpeername 369:sendto 370:sendmsg
371:recvfrom 372:recvmsg 373:shutdown 374:userfaultfd 375:membarrier 376:mlock2
377:copy_file_range 378:preadv2 379:pwritev2 380:pkey_mprotect 381:pkey_alloc 382:pkey_free
383:statx 384:arch_prctl 385:io_pgetevents 386:rseq 393:semget 394:semctl 395:shmget 396:shmctl
397:shmat 398:shmdt 399:msgget 400:msgsnd 401:msgrcv 402:msgctl 403:clock_gettime64
404:clock_settime64 405:clock_adjtime64 406:clock_getres_time64 407:clock_nanosleep_time64
408:timer_gettime64 409:timer_settime64 410:timerfd_gettime64 411:timerfd_settime64
412:utimensat_time64 413:pselect6_time64 414:ppoll_time64 416:io_pgetevents_time64
417:recvmmsg_time64 418:mq_timedsend_time64 419:mq_timedreceive_time64 420:semtimedop_time64
421:rt_sigtimedwait_time64 422:futex_time64 423:sched_rr_get_interval_time64
424:pidfd_send_signal 425:io_uring_setup 426:io_uring_enter 427:io_uring_register 428:open_tree
429:move_mount 430:fsopen 431:fsconfig 432:fsmount 433:fspick 434:pidfd_open 435:clone3
436:close_range 437:openat2 438:pidfd_getfd 439:faccessat2 440:process_madvise 441:epoll_pwait2
442:mount_setattr 443:quotactl_fd 444:landlock_create_ruleset 445:landlock_add_rule
446:landlock_restrict_self 447:memfd_secret 448:process_mrelease 449:futex_waitv
450:set_mempolicy_home_node
"""
IA32_UNIFIED_FROM = 424

# ia32 name -> x86_64 name where they differ.
_IA32_RENAMES = """
waitpid:wait4 umount:umount2 _newselect:select ugetrlimit:getrlimit mmap2:mmap
truncate64:truncate ftruncate64:ftruncate stat64:stat lstat64:lstat fstat64:fstat fcntl64:fcntl
sendfile64:sendfile statfs64:statfs fstatfs64:fstatfs fadvise64_64:fadvise64
fstatat64:newfstatat sigaction:rt_sigaction sigreturn:rt_sigreturn sigprocmask:rt_sigprocmask
sigsuspend:rt_sigsuspend sigpending:rt_sigpending
"""
# ia32 names that are an x86_64 name plus a suffix (32-bit ids, 64-bit time).
_IA32_SUFFIXED = """
32: lchown getuid getgid geteuid getegid setreuid setregid getgroups setgroups fchown setresuid
    getresuid setresgid getresgid chown setuid setgid setfsuid setfsgid
64: clock_gettime clock_settime clock_adjtime timer_gettime timer_settime timerfd_gettime
    timerfd_settime
_time64: clock_getres clock_nanosleep utimensat pselect6 ppoll io_pgetevents recvmmsg
    mq_timedsend mq_timedreceive semtimedop rt_sigtimedwait futex sched_rr_get_interval
"""


def _aliases() -> dict[str, str]:
    """ia32 name -> x86_64 name where they differ."""
    aliases = dict(item.split(":") for item in _IA32_RENAMES.split())
    suffix = ""
    for word in _IA32_SUFFIXED.split():
        if word.endswith(":"):
            suffix = word[:-1]
        else:
            aliases[word + suffix] = word
    return aliases


_IA32_ALIASES = _aliases()

# Same name, other arguments: no x86_64 counterpart (old_select and old_mmap take a struct).
_IA32_DROPPED = {"select", "mmap", "socketcall"}

# ia32 calls whose x86_64 event would misread them: the generic event is written.
_IA32_GENERIC_ONLY_TEXT = """
    readv writev preadv pwritev preadv2 pwritev2 sendmsg recvmsg sendmmsg recvmmsg
    recvmmsg_time64 nanosleep getrlimit setrlimit ugetrlimit _newselect pread64 pwrite64 mmap2
    ppoll sendfile umount waitpid getresuid getresgid sigaction sigreturn sigprocmask
    sigsuspend sigpending
"""
_IA32_GENERIC_ONLY = set(_IA32_GENERIC_ONLY_TEXT.split())

# x32-only numbers (x86_64 numbers + __X32_SYSCALL_BIT below 512 are the x86_64 calls).
_X32_NUMBERS = """
512:rt_sigaction 513:rt_sigreturn 514:ioctl 515:readv 516:writev 517:recvfrom 518:sendmsg
519:recvmsg 520:execve 521:ptrace 522:rt_sigpending 523:rt_sigtimedwait 524:rt_sigqueueinfo
525:sigaltstack 526:timer_create 527:mq_notify 528:kexec_load 529:waitid 530:set_robust_list
531:get_robust_list 532:vmsplice 533:move_pages 534:preadv 535:pwritev 536:rt_tgsigqueueinfo
537:recvmmsg 538:sendmmsg 539:process_vm_readv 540:process_vm_writev 541:setsockopt
542:getsockopt 543:io_setup 544:io_submit 545:execveat 546:preadv2 547:pwritev2
"""
X32_SYSCALL_BIT = 0x40000000
_X32_GENERIC_ONLY = {
    "readv",
    "writev",
    "sendmsg",
    "recvmsg",
    "preadv",
    "pwritev",
    "recvmmsg",
    "sendmmsg",
}

# socketcall(call, args): call number -> (x86_64 name, number of unsigned long args).
SOCKETCALLS: dict[int, tuple[str, int]] = {
    1: ("socket", 3), 2: ("bind", 3), 3: ("connect", 3), 4: ("listen", 2), 5: ("accept", 3),
    6: ("getsockname", 3), 7: ("getpeername", 3), 8: ("socketpair", 4), 9: ("sendto", 4),
    10: ("recvfrom", 4), 11: ("sendto", 6), 12: ("recvfrom", 6), 13: ("shutdown", 2),
    14: ("setsockopt", 5), 15: ("getsockopt", 5), 16: ("sendmsg", 3), 17: ("recvmsg", 3),
    18: ("accept4", 4), 19: ("recvmmsg", 5), 20: ("sendmmsg", 4),
}  # fmt: skip
_SOCKETCALL_GENERIC_ONLY = {"sendmsg", "recvmsg", "recvmmsg", "sendmmsg"}


class CompatSyscall(NamedTuple):
    """A 32-bit call: its number, name, and the x86_64 number it becomes (None: dropped)."""

    nr: int
    name: str
    x86_64: int | None
    generic_only: bool


def _ia32() -> dict[int, CompatSyscall]:
    table = {}
    for item in _IA32_NUMBERS.split():
        nr_text, _, name = item.partition(":")
        target = X86_64_BY_NAME.get(_IA32_ALIASES.get(name, name))
        if name in _IA32_DROPPED or target is None:
            table[int(nr_text)] = CompatSyscall(int(nr_text), name, None, False)
        else:
            generic = name in _IA32_GENERIC_ONLY
            table[int(nr_text)] = CompatSyscall(int(nr_text), name, target.nr, generic)
    return table


def _x32() -> dict[int, CompatSyscall]:
    table = {}
    for item in _X32_NUMBERS.split():
        nr_text, _, name = item.partition(":")
        target = X86_64_BY_NAME[name]
        table[int(nr_text)] = CompatSyscall(
            int(nr_text), name, target.nr, name in _X32_GENERIC_ONLY
        )
    return table


IA32_SYSCALLS: dict[int, CompatSyscall] = _ia32()
X32_SYSCALLS: dict[int, CompatSyscall] = _x32()


def socketcall_target(call: int) -> tuple[int, int, bool] | None:
    """(x86_64 number, argument count, generic only) of a socketcall call number."""
    if call not in SOCKETCALLS:
        return None
    name, nargs = SOCKETCALLS[call]
    return X86_64_BY_NAME[name].nr, nargs, name in _SOCKETCALL_GENERIC_ONLY
