#!/usr/bin/env bash
# driver-loader.sh - get the Sentry kernel module for the running kernel and load it, trying
# in order: unload an old module; modprobe; a module in the local cache; a prebuilt module
# from a drivers repository (checked against its .sha256, and its signature when a key is
# given); a build with DKMS, else make, against the kernel headers; then insmod. Where the
# kernel cannot load modules it says so and checks the eBPF probe instead. Also the
# entrypoint of the loader init container.
#
# usage: driver-loader.sh [--compile|--no-compile] [--download|--no-download] [--clean]
#                         [--ebpf] [--print-target] [--help]
#   --clean         unload the module, remove the cached modules and the DKMS copy, and exit
#   --unload        unload the module and exit
#   --ebpf          build (clang, bpftool) or verify the eBPF probe instead of the module
#   --print-target  print the target id (debian, ubuntu-generic, amazonlinux2 ...) and exit
# env: HOST_ROOT             the host's / inside a container (default /)
#      SENTRY_DRIVERS_REPO   base URL of prebuilt drivers:
#                            $REPO/<driver version>/<arch>/<driver>_<target>_<krel>_<kver>.ko
#                            with .sha256 beside it (and .sig, see SENTRY_DRIVERS_PUBKEY)
#      SENTRY_DRIVERS_PUBKEY an SSH public key file: downloads must carry a .sig made with it
#                            (ssh-keygen -Y sign -n sentry-driver); unsigned ones are refused
#      SENTRY_DRIVER_NAME    module name (default sentry)
#      SENTRY_SRC_DIR        driver sources (default: this checkout's driver/ or the package's)
#      SENTRY_KERNEL_RELEASE, SENTRY_KERNEL_VERSION   override uname -r / the number in uname -v
#      SENTRY_UNLOAD_TIMEOUT seconds to wait for an old module to go (default 10)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
HOST_ROOT=${HOST_ROOT:-/}
HOST_ROOT=${HOST_ROOT%/}
DRIVER_NAME=${SENTRY_DRIVER_NAME:-sentry}
ENABLE_COMPILE=yes
ENABLE_DOWNLOAD=yes
DRIVER=module
ACTION=load

usage() { awk 'NR > 1 && /^set -uo/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--compile) ENABLE_COMPILE=yes ;;
	--no-compile) ENABLE_COMPILE=no ;;
	--download) ENABLE_DOWNLOAD=yes ;;
	--no-download) ENABLE_DOWNLOAD=no ;;
	--clean) ACTION=clean ;;
	--unload) ACTION=unload ;;
	--ebpf) DRIVER=bpf ;;
	--print-target) ACTION=print-target ;;
	--print-driver-version) ACTION=print-driver-version ;; # for build-drivers.sh
	-h | --help) usage; exit 0 ;;
	*) echo "driver-loader: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

say() { printf '* %s\n' "$*"; }
detail() { printf '  %s\n' "$*"; }

# ---- facts about this machine -------------------------------------------------------------
SRC_DIR=${SENTRY_SRC_DIR:-}
if [ -z "$SRC_DIR" ]; then
	for d in "$here/../driver" "$here/driver"; do
		[ -f "$d/VERSION" ] && { SRC_DIR=$(cd "$d" && pwd); break; }
	done
fi
VERSION=$(cat "$SRC_DIR/VERSION" 2>/dev/null || echo unknown)
ARCH=$(uname -m)
KERNEL_RELEASE=${SENTRY_KERNEL_RELEASE:-$(uname -r)}
KERNEL_VERSION=${SENTRY_KERNEL_VERSION:-$(uname -v | sed -n 's/^#\([0-9]\{1,\}\).*/\1/p')}
KERNEL_VERSION=${KERNEL_VERSION:-1}

# The module's sources, hashed: part of the driver version, so a changed source never loads
# a module built from older ones.
source_hash() {
	(cd "$SRC_DIR" 2>/dev/null && for f in $(ls VERSION Kbuild Makefile ./*.c ./*.h include/*.h 2>/dev/null | sort); do
		printf '%s\n' "$f"; cat "$f"
	done) | sha256sum | cut -c1-12
}
DRIVER_VERSION=$VERSION+$(source_hash)

os_release_value() { # KEY -> value from the host's os-release
	local f
	for f in "$HOST_ROOT/etc/os-release" "$HOST_ROOT/usr/lib/os-release"; do
		[ -r "$f" ] || continue
		sed -n "s/^$1=//p" "$f" | head -n1 | tr -d '"'\'
		return
	done
}

# Target ids as falcoctl names them.
target_id() {
	local id version_id
	id=$(os_release_value ID)
	version_id=$(os_release_value VERSION_ID)
	case $id in
	ubuntu)
		# the flavour is the kernel release's suffix: 5.15.0-1019-aws -> aws
		local flavor
		flavor=$(printf '%s' "$KERNEL_RELEASE" | sed -n 's/^[0-9.]*-[0-9]*-\([a-z][a-z0-9-]*\)$/\1/p')
		echo "ubuntu-${flavor:-generic}" ;;
	amzn)
		case $version_id in
		2) echo amazonlinux2 ;;
		2022*) echo amazonlinux2022 ;;
		2023*) echo amazonlinux2023 ;;
		*) echo amazonlinux ;;
		esac ;;
	centos | rhel | ol | fedora | flatcar | talos | bottlerocket | debian | cos | arch | rocky | almalinux)
		echo "$id" ;;
	buildroot)
		# minikube's ISO is buildroot with the minikube version in /etc/VERSION
		if grep -qsE '^v[0-9]+\.[0-9]+\.[0-9]+' "$HOST_ROOT/etc/VERSION"; then
			echo minikube
		else
			echo buildroot
		fi ;;
	'') echo vanilla ;;
	*) echo "$id" ;;
	esac
}
TARGET=$(target_id)
FILENAME=${DRIVER_NAME}_${TARGET}_${KERNEL_RELEASE}_${KERNEL_VERSION}
CACHE_DIR=${HOME:-/root}/.sentry/$DRIVER_VERSION/$ARCH

headers_advice() {
	case $TARGET in
	debian | ubuntu-*) echo "apt-get install linux-headers-$KERNEL_RELEASE" ;;
	fedora | amazonlinux2022 | amazonlinux2023 | rocky | almalinux)
		echo "dnf install kernel-devel-$KERNEL_RELEASE" ;;
	centos | rhel | ol | amazonlinux | amazonlinux2)
		echo "yum install kernel-devel-$KERNEL_RELEASE" ;;
	arch) echo "pacman -S linux-headers" ;;
	cos | flatcar | talos | bottlerocket | minikube)
		echo "nothing: $TARGET ships no kernel headers package; use a prebuilt module (SENTRY_DRIVERS_REPO) or the eBPF probe (--ebpf)" ;;
	*) echo "the kernel headers for $KERNEL_RELEASE (the package your distribution builds them in)" ;;
	esac
}

if [ "$ACTION" = print-target ]; then
	echo "$TARGET"
	exit 0
fi
if [ "$ACTION" = print-driver-version ]; then
	echo "$DRIVER_VERSION"
	exit 0
fi

# ---- the module ---------------------------------------------------------------------------
module_loaded() { grep -q "^$DRIVER_NAME " /proc/modules 2>/dev/null; }

unload() {
	say "Unloading $DRIVER_NAME module, if present"
	module_loaded || return 0
	rmmod "$DRIVER_NAME" 2>/dev/null
	local waited=0 limit=${SENTRY_UNLOAD_TIMEOUT:-10}
	while module_loaded; do
		if [ "$waited" -ge "$limit" ]; then
			say "Timeout: the $DRIVER_NAME module is still loaded after ${limit}s (in use: stop the reader, e.g. sentry run)"
			return 1
		fi
		[ $((waited % 5)) = 0 ] && detail "$DRIVER_NAME module is still loaded, waiting (${waited}s of ${limit}s)"
		sleep 1
		waited=$((waited + 1))
		rmmod "$DRIVER_NAME" 2>/dev/null
	done
}

loaded_version_ok() {
	[ "$(cat "/sys/module/$DRIVER_NAME/version" 2>/dev/null)" = "$VERSION" ]
}

insert() { # FILE
	if insmod "$1" 2>/tmp/sentry-insmod.$$; then
		rm -f /tmp/sentry-insmod.$$
		say "Success: $DRIVER_NAME module found and inserted"
		return 0
	fi
	detail "insmod $1 failed: $(cat /tmp/sentry-insmod.$$)"
	rm -f /tmp/sentry-insmod.$$
	return 1
}

try_modprobe() {
	say "Trying to load a system $DRIVER_NAME module, if present"
	local opts=()
	[ -n "$HOST_ROOT" ] && opts=(-d "$HOST_ROOT")
	if modprobe "${opts[@]}" "$DRIVER_NAME" 2>/dev/null; then
		if loaded_version_ok; then
			say "Success: $DRIVER_NAME module found and loaded with modprobe"
			return 0
		fi
		detail "the system module is version $(cat "/sys/module/$DRIVER_NAME/version" 2>/dev/null || echo unknown), not $VERSION: unloading it"
		rmmod "$DRIVER_NAME" 2>/dev/null
	fi
	return 1
}

try_local() {
	say "Looking for a $DRIVER_NAME module locally (kernel $KERNEL_RELEASE)"
	say "Filename '$FILENAME.ko' is composed of:"
	detail "- driver name: $DRIVER_NAME"
	detail "- target identifier: $TARGET"
	detail "- kernel release: $KERNEL_RELEASE"
	detail "- kernel version: $KERNEL_VERSION"
	if [ -s "$CACHE_DIR/$FILENAME.ko" ]; then
		say "Found a $DRIVER_NAME module at $CACHE_DIR/$FILENAME.ko, loading it"
		insert "$CACHE_DIR/$FILENAME.ko" && return 0
		say "Removing the cached module, which did not load"
		rm -f "$CACHE_DIR/$FILENAME.ko"
		return 1
	fi
	detail "$CACHE_DIR/$FILENAME.ko not found"
	return 1
}

verify_signature() { # FILE SIGFILE
	local allowed rc
	allowed=$(mktemp)
	printf 'sentry-drivers %s\n' "$(cat "$SENTRY_DRIVERS_PUBKEY")" >"$allowed"
	ssh-keygen -Y verify -f "$allowed" -I sentry-drivers -n sentry-driver -s "$2" <"$1" >/dev/null 2>&1
	rc=$?
	rm -f "$allowed"
	return $rc
}

try_download() {
	local url=${SENTRY_DRIVERS_REPO%/}/$DRIVER_VERSION/$ARCH/$FILENAME.ko
	say "Trying to download a prebuilt $DRIVER_NAME module from $url"
	command -v curl >/dev/null || { detail "curl is not installed: cannot download"; return 1; }
	mkdir -p "$CACHE_DIR"
	local part=$CACHE_DIR/$FILENAME.ko.part
	rm -f "$part" "$part.sha256" "$part.sig"
	if ! curl -fL --progress-bar --connect-timeout 10 --max-time 300 -o "$part" "$url"; then
		detail "Unable to find a prebuilt $DRIVER_NAME module"
		rm -f "$part"
		return 1
	fi
	if ! curl -fsSL --max-time 60 -o "$part.sha256" "$url.sha256"; then
		say "Refusing the download: no checksum at $url.sha256"
		rm -f "$part" "$part.sha256"
		return 1
	fi
	local want got
	want=$(cut -d' ' -f1 <"$part.sha256" | tr -d '\n')
	got=$(sha256sum "$part" | cut -d' ' -f1)
	if [ "$want" != "$got" ]; then
		say "Refusing the download: checksum mismatch (sha256 $got, expected $want)"
		rm -f "$part" "$part.sha256"
		return 1
	fi
	detail "sha256 checksum ok ($got)"
	if [ -n "${SENTRY_DRIVERS_PUBKEY:-}" ]; then
		if ! curl -fsSL --max-time 60 -o "$part.sig" "$url.sig"; then
			say "Refusing the download: SENTRY_DRIVERS_PUBKEY is set and $url.sig is missing (unsigned module)"
			rm -f "$part" "$part.sha256" "$part.sig"
			return 1
		fi
		if ! verify_signature "$part" "$part.sig"; then
			say "Refusing the download: bad signature (not made with $SENTRY_DRIVERS_PUBKEY)"
			rm -f "$part" "$part.sha256" "$part.sig"
			return 1
		fi
		detail "signature ok ($SENTRY_DRIVERS_PUBKEY)"
	fi
	rm -f "$part.sha256" "$part.sig"
	mv "$part" "$CACHE_DIR/$FILENAME.ko"
	say "Download succeeded"
	insert "$CACHE_DIR/$FILENAME.ko"
}

find_headers() {
	local d
	for d in "$HOST_ROOT/lib/modules/$KERNEL_RELEASE/build" "$HOST_ROOT/usr/src/linux-headers-$KERNEL_RELEASE"; do
		[ -f "$d/Makefile" ] && { echo "$d"; return 0; }
	done
	return 1
}

# Show a long step's output one line at a time, indented (the progress of the build).
progress() { while IFS= read -r line; do detail "| $line"; done; }

try_dkms() { # KDIR
	command -v dkms >/dev/null || return 1
	say "Trying to build the $DRIVER_NAME module with DKMS"
	local src=/usr/src/$DRIVER_NAME-$VERSION
	dkms remove -m "$DRIVER_NAME" -v "$VERSION" --all >/dev/null 2>&1
	rm -rf "$src" && mkdir -p "$src" && cp -r "$SRC_DIR/." "$src/" || return 1
	rm -f "$src"/*.o "$src"/*.ko "$src"/*.mod* "$src"/.*.cmd "$src"/Module.symvers "$src"/modules.order
	if ! { dkms add -m "$DRIVER_NAME" -v "$VERSION" &&
		dkms build -m "$DRIVER_NAME" -v "$VERSION" -k "$KERNEL_RELEASE" --kernelsourcedir "$1"; } 2>&1 | progress; then
		say "DKMS build failed"
		return 1
	fi
	local built
	built=$(ls /var/lib/dkms/"$DRIVER_NAME"/"$VERSION"/"$KERNEL_RELEASE"/*/module/"$DRIVER_NAME".ko* 2>/dev/null | head -n1)
	[ -n "$built" ] || { say "DKMS build left no module"; return 1; }
	mkdir -p "$CACHE_DIR"
	case $built in
	*.xz) xz -dc "$built" >"$CACHE_DIR/$FILENAME.ko" ;;
	*.zst) zstd -qdc "$built" >"$CACHE_DIR/$FILENAME.ko" ;;
	*) cp "$built" "$CACHE_DIR/$FILENAME.ko" ;;
	esac
	say "$DRIVER_NAME module built with DKMS: $CACHE_DIR/$FILENAME.ko"
}

try_make() { # KDIR
	command -v make >/dev/null || { detail "make is not installed: cannot build"; return 1; }
	say "Trying to build the $DRIVER_NAME module with make"
	local out
	out=$(mktemp -d)
	cp -r "$SRC_DIR/." "$out/"
	rm -f "$out"/*.o "$out"/*.ko "$out"/.*.cmd
	if ! make -C "$1" M="$out" modules 2>&1 | progress; then
		say "make failed"
		rm -rf "$out"
		return 1
	fi
	mkdir -p "$CACHE_DIR"
	cp "$out/$DRIVER_NAME.ko" "$CACHE_DIR/$FILENAME.ko"
	rm -rf "$out"
	say "$DRIVER_NAME module built with make: $CACHE_DIR/$FILENAME.ko"
}

try_build() {
	local kdir
	if ! kdir=$(find_headers); then
		say "Kernel headers for $KERNEL_RELEASE not found in $HOST_ROOT/lib/modules/$KERNEL_RELEASE/build nor $HOST_ROOT/usr/src/linux-headers-$KERNEL_RELEASE"
		say "To build the module, install on the host: $(headers_advice)"
		return 1
	fi
	[ -f "$SRC_DIR/Kbuild" ] || { say "Driver sources not found (SENTRY_SRC_DIR)"; return 1; }
	detail "kernel headers: $kdir"
	{ try_dkms "$kdir" || try_make "$kdir"; } || return 1
	insert "$CACHE_DIR/$FILENAME.ko"
}

modules_forbidden() { # prints why this kernel cannot load modules
	if [ ! -e /proc/modules ]; then
		echo "this kernel cannot load modules (CONFIG_MODULES=n: no /proc/modules)"
		return 0
	fi
	local lockdown
	lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null)
	case $lockdown in
	*"[integrity]"* | *"[confidentiality]"*)
		echo "kernel lockdown is on ($lockdown): unsigned modules cannot be loaded"
		return 0 ;;
	esac
	if [ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null)" = 1 ]; then
		echo "module loading is disabled (kernel.modules_disabled=1)"
		return 0
	fi
	return 1
}

# ---- the eBPF probe -----------------------------------------------------------------------
ebpf() {
	say "Checking the eBPF probe"
	local btf=/sys/kernel/btf/vmlinux major minor
	if [ ! -r "$btf" ]; then
		say "Error: $btf missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF); the eBPF probe cannot run"
		return 1
	fi
	major=${KERNEL_RELEASE%%.*}
	minor=${KERNEL_RELEASE#*.}
	minor=${minor%%[!0-9]*}
	if [ "$major" -lt 5 ] || { [ "$major" = 5 ] && [ "$minor" -lt 17 ]; }; then
		say "Error: kernel $KERNEL_RELEASE is older than 5.17: the eBPF probe cannot run"
		return 1
	fi
	detail "BTF present, kernel $KERNEL_RELEASE >= 5.17"
	# named by the hash of the probe's sources (a changed probe is never served stale)
	local bpf_hash obj
	bpf_hash=$( (cd "$SRC_DIR" 2>/dev/null && for f in $(ls bpf/*.c bpf/*.h bpf/Makefile include/*.h 2>/dev/null | grep -v vmlinux.h | sort); do
		printf '%s\n' "$f"; cat "$f"
	done) | sha256sum | cut -c1-12)
	obj=$CACHE_DIR/sentry_$bpf_hash.bpf.o
	if [ -s "$obj" ]; then
		say "Success: eBPF probe found at $obj (SENTRY_BPF_OBJECT=$obj sentry run --driver ebpf)"
		return 0
	fi
	if [ "$ENABLE_COMPILE" = yes ] && command -v clang >/dev/null && command -v bpftool >/dev/null &&
		[ -f "$SRC_DIR/bpf/Makefile" ]; then
		say "Trying to build the eBPF probe with clang"
		local out
		out=$(mktemp -d)
		cp -r "$SRC_DIR/bpf" "$SRC_DIR/include" "$out/"
		rm -f "$out/bpf/vmlinux.h" "$out/bpf/"*.o
		if make -C "$out/bpf" 2>&1 | progress && [ -s "$out/bpf/sentry.bpf.o" ]; then
			mkdir -p "$CACHE_DIR"
			cp "$out/bpf/sentry.bpf.o" "$obj"
			rm -rf "$out"
			say "Success: eBPF probe built: $obj (SENTRY_BPF_OBJECT=$obj sentry run --driver ebpf)"
			return 0
		fi
		rm -rf "$out"
		say "eBPF probe build failed"
	fi
	say "Success: the eBPF probe can run here (sentry run --driver ebpf builds it at first use)"
}

# ---- main ---------------------------------------------------------------------------------
say "Running sentry-driver-loader for: sentry version=$VERSION, driver version=$DRIVER_VERSION, arch=$ARCH, kernel release=$KERNEL_RELEASE, kernel version=$KERNEL_VERSION"
say "Running sentry-driver-loader with: driver=$DRIVER, compile=$ENABLE_COMPILE, download=$ENABLE_DOWNLOAD"

if [ "$ACTION" = unload ]; then
	unload
	exit $?
fi
if [ "$ACTION" = clean ]; then
	unload || exit 1
	say "Removing cached modules in ${HOME:-/root}/.sentry"
	rm -rf "${HOME:-/root}/.sentry"
	if command -v dkms >/dev/null; then
		say "Removing the DKMS copy of $DRIVER_NAME $VERSION, if present"
		dkms remove -m "$DRIVER_NAME" -v "$VERSION" --all >/dev/null 2>&1
		rm -rf "/usr/src/$DRIVER_NAME-$VERSION"
	fi
	exit 0
fi

if [ "$DRIVER" = bpf ]; then
	ebpf
	exit $?
fi

if why=$(modules_forbidden); then
	say "Error: $why"
	say "Checking the eBPF probe instead (sentry run --driver ebpf)"
	ebpf
	exit $? # 0 when the probe can run: the agent captures with it
fi

unload || exit 1
try_modprobe && exit 0
try_local && exit 0
if [ "$ENABLE_DOWNLOAD" = yes ] && [ -n "${SENTRY_DRIVERS_REPO:-}" ]; then
	try_download && exit 0
elif [ "$ENABLE_DOWNLOAD" = yes ]; then
	say "Not downloading: SENTRY_DRIVERS_REPO is not set"
fi
if [ "$ENABLE_COMPILE" = yes ]; then
	try_build && exit 0
fi
say "Error: no $DRIVER_NAME module for kernel $KERNEL_RELEASE could be found, downloaded or built"
say "Install the headers ($(headers_advice)) or set SENTRY_DRIVERS_REPO, or use the eBPF probe (--ebpf)"
exit 1
