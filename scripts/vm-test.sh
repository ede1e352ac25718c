#!/bin/bash
# vm-test.sh - Sentry's VM harness: boot the Debian generic kernel under qemu (TCG),
# share the host root read-only over virtio-9p (an overlay in the guest makes it
# writable there without touching the host), run a command inside the guest as
# root and return its exit status. Used by tests/kmod/run_in_vm.sh.
#
# usage: vm-test.sh [options] -- guest shell command...
#   -k KVER   Debian kernel version (default: newest /boot/vmlinuz-*-amd64 that is not
#             -cloud-; the cloud flavour has no 9p support and cannot be used here)
#   -f FILE   copy FILE into the shared dir (repeatable); guest cwd is that dir ($VMTEST_SHARE)
#   -t SECS   overall timeout (default 600)      -b SECS  boot watchdog (default 90)
#   -r N      boot attempts if the guest never reaches /init (default 2)
#   -c N      guest vCPUs (default 2)            -m MB    guest RAM (default 1024)
#   -a ACCEL  qemu accelerator (default tcg; kvm does NOT work on this PVM host)
#   -o DIR    copy the shared dir (guest results, output.log, serial.log) to DIR at the end
# env: WORK      scratch dir (default ~/.cache/sentry-vmtest; must not be under /tmp, which
#                the guest hides); serial log: $WORK/serial.log
#      QEMU_CPU  qemu -cpu model (default max)
#      KLOG      kernel log options (default 'loglevel=5 softlockup_panic=1': warnings and
#                their stack traces reach the serial log, and a soft lockup ends the run at
#                once with a trace instead of hanging until the timeout; e.g. KLOG=loglevel=7)
#      TCG_THREAD single (default) or multi. Multi-threaded TCG (qemu 7.2) can keep running
#                a stale translation of kernel text patched by another vCPU: attaching or
#                detaching tracepoints (static keys, text_poke_bp) then leaves a CPU looping
#                on the temporary int3 forever (a soft lockup in syscall_trace_enter).
#                Single-threaded TCG runs the vCPUs in turn and sees every patch.
#      PVH=0     boot the compressed bzImage via SeaBIOS instead of the extracted
#                vmlinux via the PVH entry point (PVH saves ~2.5 s per boot under TCG)
# Guest: host / over 9p read-only, under an overlay with a tmpfs upper layer (writes stay in
#        the guest), tmpfs on /tmp /run /var/tmp (HOME=/tmp),
#        $VMTEST_SHARE = host dir $WORK/share mounted read-write at the same path,
#        own /proc /sys /dev (devtmpfs, so misc devices appear automatically).
# Exit status: the guest command's status; 124 = timeout; 125 = no result from guest.
set -euo pipefail

KVER=""; TIMEOUT=600; BOOT_TIMEOUT=90; TRIES=2; CPUS=2; MEM=1024; ACCEL=tcg; FILES=(); OUT=""
while getopts "k:f:t:b:r:c:m:a:o:" o; do
  case $o in
    k) KVER=$OPTARG ;; f) FILES+=("$OPTARG") ;; t) TIMEOUT=$OPTARG ;;
    b) BOOT_TIMEOUT=$OPTARG ;; r) TRIES=$OPTARG ;;
    c) CPUS=$OPTARG ;; m) MEM=$OPTARG ;; a) ACCEL=$OPTARG ;; o) OUT=$OPTARG ;;
    *) sed -n '2,33p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1)); [ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "vm-test: no guest command given" >&2; exit 2; }

if [ -z "$KVER" ]; then
  KVER=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | grep -v cloud | sed 's|/boot/vmlinuz-||' | sort -V | tail -1 || true)
fi
VMLINUZ=/boot/vmlinuz-$KVER
[ -r "$VMLINUZ" ] || { echo "vm-test: missing $VMLINUZ (apt-get install linux-image-amd64)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm-test: apt-get install qemu-system-x86" >&2; exit 2; }
[ -x /bin/busybox ] || { echo "vm-test: apt-get install busybox-static" >&2; exit 2; }

WORK=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/sentry-vmtest}
case $WORK in /tmp/*) echo "vm-test: WORK=$WORK is under /tmp, which the guest cannot see" >&2; exit 2 ;; esac
SHARE=$WORK/share
LOG=$WORK/serial.log
IRD=$WORK/initramfs-$KVER
INITRD=$WORK/initramfs-$KVER.cpio.gz
mkdir -p "$WORK"
rm -rf "$SHARE"; mkdir -p "$SHARE"

# ---- 1. initramfs: static busybox + virtio/9p modules + /init (cached per kernel) ----
# The modules (and their order) differ between kernel lines (5.10 has no
# virtio_pci_legacy_dev, 6.12 builds virtio_pci in and has no fscache): modprobe's
# dependency list for this kernel gives the files in load order.
MODS="virtio_pci 9pnet_virtio 9p overlay"
if [ ! -s "$INITRD" ] || [ "$INITRD" -ot "$0" ]; then
  rm -rf "$IRD"; mkdir -p "$IRD"/{bin,mods,proc,sys,dev,newroot}
  cp /bin/busybox "$IRD/bin/busybox"
  : > "$IRD/mods/order"
  for m in $MODS; do
    deps=$(modprobe -S "$KVER" --show-depends "$m") ||
      { echo "vm-test: module $m not found for $KVER" >&2; exit 2; }
    for f in $(printf '%s\n' "$deps" | sed -n 's/^insmod \([^ ]*\).*/\1/p'); do
      n=$(basename "$f"); n=${n%%.ko*}
      grep -qx "$n" "$IRD/mods/order" && continue
      case $f in *.ko) cp "$f" "$IRD/mods/$n.ko" ;;
                 *.ko.xz) xz -dc "$f" > "$IRD/mods/$n.ko" ;;
                 *.ko.zst) zstd -qdc "$f" > "$IRD/mods/$n.ko" ;;
                 *) echo "vm-test: cannot unpack $f" >&2; exit 2 ;; esac
      echo "$n" >> "$IRD/mods/order"
    done
  done
  cat > "$IRD/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "VMTEST: init start, uptime $(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /mods/order); do
  insmod /mods/$m.ko || echo "VMTEST: insmod $m failed"
done
SHARE=$(sed -n 's/.*vmtest_share=\([^ ]*\).*/\1/p' /proc/cmdline)
O=trans=virtio,version=9p2000.L,msize=512000
fail() { echo "VMTEST: $*"; echo "VMTEST-RC=125"; poweroff -f; }
mkdir -p /lower /ov; mount -t 9p -o $O,ro,cache=loose hostroot /lower || fail "cannot mount host root"
mount -t tmpfs tmpfs /ov; mkdir -p /ov/u /ov/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/ov/u,workdir=/ov/w /newroot || fail "cannot mount overlay"
mount -t proc proc /newroot/proc; mount -t sysfs sys /newroot/sys; mount -t devtmpfs dev /newroot/dev
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs /newroot/$d; done
mkdir -p /newroot/dev/pts /newroot/dev/shm /newroot$SHARE
mount -t devpts devpts /newroot/dev/pts; mount -t tmpfs tmpfs /newroot/dev/shm
mount -t 9p -o $O share /newroot$SHARE || fail "cannot mount share"
echo "VMTEST: mounts done, uptime $(cut -d' ' -f1 /proc/uptime)"
set -o pipefail
chroot /newroot /usr/bin/env -i HOME=/tmp TMPDIR=/tmp TERM=dumb PYTHONDONTWRITEBYTECODE=1 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin VMTEST_SHARE=$SHARE \
    /bin/bash -c "cd $SHARE && exec /bin/bash ./guest.sh" 2>&1 < /dev/null | tee /newroot$SHARE/output.log
rc=$?
echo $rc > /newroot$SHARE/rc
echo "VMTEST: done, uptime $(cut -d' ' -f1 /proc/uptime)"
echo "VMTEST-RC=$rc"
sync; umount /newroot$SHARE
poweroff -f
EOF
  chmod +x "$IRD/init"
  (cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD"
fi

# ---- 2. kernel image: extract the ELF vmlinux (xz payload) to use the PVH entry point ----
KIMG=$VMLINUZ
if [ "${PVH:-1}" = 1 ]; then
  VMLINUX=$WORK/vmlinux-$KVER
  if [ ! -s "$VMLINUX" ]; then
    /usr/bin/python3 - "$VMLINUZ" "$VMLINUX.tmp" <<'EOF' && mv "$VMLINUX.tmp" "$VMLINUX" || rm -f "$VMLINUX.tmp"
import lzma, sys
d = open(sys.argv[1], 'rb').read(); off = d.find(b'\xfd7zXZ\x00')
while off >= 0:
    try:
        out = lzma.LZMADecompressor().decompress(d[off:])
        if out[:4] == b'\x7fELF':
            open(sys.argv[2], 'wb').write(out); sys.exit(0)
    except lzma.LZMAError:
        pass
    off = d.find(b'\xfd7zXZ\x00', off + 1)
# 6.12 kernels are zstd-compressed: the zstd tool reads the frame (and stops at the trailer).
import subprocess
off = d.find(b'\x28\xb5\x2f\xfd')
while off >= 0:
    try:
        out = subprocess.run(['zstd', '-dcq'], input=d[off:], capture_output=True).stdout
    except OSError:
        break
    if out[:4] == b'\x7fELF':
        open(sys.argv[2], 'wb').write(out); sys.exit(0)
    off = d.find(b'\x28\xb5\x2f\xfd', off + 1)
sys.exit(1)
EOF
  fi
  [ -s "$VMLINUX" ] && KIMG=$VMLINUX || echo "vm-test: vmlinux extraction failed, booting bzImage" >&2
fi

# ---- 3. stage guest files ----
for f in ${FILES[@]+"${FILES[@]}"}; do cp -a "$f" "$SHARE/"; done
printf '%s\n' "set -e" "$*" > "$SHARE/guest.sh"

# ---- 4. boot (with a watchdog that retries if the guest never reaches /init) ----
ACCEL_OPTS=(-accel "$ACCEL")
[ "$ACCEL" = tcg ] && ACCEL_OPTS=(-accel "tcg,thread=${TCG_THREAD:-single},tb-size=256")
# syscall.x32=y: Debian builds the x32 ABI disabled by default; test_ia32_*.py run x32 programs.
QEMU=(qemu-system-x86_64 "${ACCEL_OPTS[@]}" -machine pc -cpu "${QEMU_CPU:-max}"
  -smp "$CPUS" -m "$MEM" -nodefaults -no-user-config -display none -no-reboot
  -serial stdio -kernel "$KIMG" -initrd "$INITRD"
  -append "console=ttyS0 panic=-1 oops=panic syscall.x32=y ${KLOG:-loglevel=5 softlockup_panic=1} rdinit=/init vmtest_share=$SHARE"
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
  -fsdev "local,id=share,path=$SHARE,security_model=none,multidevs=remap"
  -device virtio-9p-pci,fsdev=share,mount_tag=share)
START=$SECONDS
QPID=""; TPID=""
trap 'kill $QPID $TPID 2>/dev/null || true' EXIT
trap 'exit 143' INT TERM
for attempt in $(seq 1 "$TRIES"); do
  left=$((TIMEOUT - (SECONDS - START))); [ $left -gt 5 ] || break
  rm -f "$SHARE/rc"; : > "$LOG"
  timeout -k 10 "$left" "${QEMU[@]}" < /dev/null > "$LOG" 2>&1 & QPID=$!
  tail -n +1 -f --pid=$QPID "$LOG" & TPID=$!
  booted=0; t0=$SECONDS
  while kill -0 $QPID 2>/dev/null; do
    if [ $booted = 0 ]; then
      if grep -aq 'VMTEST: init start' "$LOG"; then booted=1
      elif [ $((SECONDS - t0)) -ge "$BOOT_TIMEOUT" ]; then
        echo "vm-test: no /init after ${BOOT_TIMEOUT}s (attempt $attempt), killing qemu" >&2
        kill $QPID 2>/dev/null || true; break
      fi
    fi
    sleep 0.5
  done
  rc=0; wait $QPID || rc=$?
  wait $TPID 2>/dev/null || true
  grep -aq 'VMTEST: init start' "$LOG" && booted=1
  [ $booted = 1 ] && break
done
collect() {
  [ -n "$OUT" ] || return 0
  mkdir -p "$OUT" && cp -a "$SHARE/." "$OUT/" && cp "$LOG" "$OUT/serial.log" || true
}
collect
if [ -s "$SHARE/rc" ]; then exit "$(cat "$SHARE/rc")"; fi
m=$(grep -a -o 'VMTEST-RC=[0-9]*' "$LOG" | tail -1 | cut -d= -f2 || true)
[ -n "$m" ] && exit "$m"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "vm-test: TIMEOUT after ${TIMEOUT}s" >&2; exit 124; fi
echo "vm-test: no result from guest (qemu rc=$rc; guest crashed or hung?)" >&2
exit 125
