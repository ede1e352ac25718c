#!/usr/bin/env bash
# runtimes.sh - the real container runtimes the tests use: containerd (CRI, runc), dockerd,
# podman (root, with its API service) and buildah, all from Debian, on this machine without
# systemd and without a registry.
#
#   scripts/runtimes.sh install   apt packages and their configuration (idempotent)
#   scripts/runtimes.sh start     start each daemon not yet answering, wait for its socket,
#                                 and load the locally built images (idempotent, quick)
#   scripts/runtimes.sh stop      stop the daemons this script started
#   scripts/runtimes.sh status    say which sockets answer
#
# Images (no registry is reachable; built from Debian's busybox-static and catatonit):
#   docker.io/library/busybox:latest  busybox and its applet links, vi as a copy of busybox
#   registry.k8s.io/pause:3.6         catatonit -P, containerd's CRI sandbox_image
# Configuration lives beside this script in scripts/runtimes/: containerd.toml (read in
# place), containers.conf and storage.conf (copied to /etc/containers, for podman and buildah).
# Logs: /var/log/sentry-test-{containerd,dockerd,podman}.log.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CONF_DIR="$HERE/runtimes"
STATE=/run/sentry-test
CACHE=/var/cache/sentry-test/images
CONTAINERD_SOCK=/run/containerd/containerd.sock
DOCKER_SOCK=/run/docker.sock
PODMAN_SOCK=/run/podman/podman.sock
BUSYBOX_IMAGE=docker.io/library/busybox:latest
PAUSE_IMAGE=registry.k8s.io/pause:3.6
DOCKER=/usr/bin/docker # Debian's CLI, whatever else is first on PATH
WAIT_S=${SENTRY_RUNTIMES_WAIT_S:-60}

PKGS=(containerd runc docker.io podman buildah catatonit conmon busybox-static uidmap
      slirp4netns fuse-overlayfs curl)

say() { printf '==> runtimes: %s\n' "$*"; }
die() { printf 'runtimes.sh: %s\n' "$*" >&2; exit 1; }

install_pkgs() {
	local missing=() p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "apt: installing ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null
	else
		say "apt: all runtime packages present"
	fi
	install -d /etc/containers
	install -m 0644 "$CONF_DIR/containers.conf" /etc/containers/containers.conf
	install -m 0644 "$CONF_DIR/storage.conf" /etc/containers/storage.conf
}

# --- daemons ------------------------------------------------------------------------------

containerd_ok() { ctr --address "$CONTAINERD_SOCK" --timeout 3s version >/dev/null 2>&1; }
docker_ok() { curl -sf --max-time 3 --unix-socket "$DOCKER_SOCK" http://d/_ping >/dev/null 2>&1; }
podman_ok() { curl -sf --max-time 3 --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1; }

# spawn NAME CMD...: run a daemon in its own session, detached, logging to /var/log.
spawn() {
	local name=$1
	shift
	install -d "$STATE"
	setsid "$@" </dev/null >>"/var/log/sentry-test-$name.log" 2>&1 &
	echo $! >"$STATE/$name.pid"
}

# unstale SOCKET: remove a socket nobody answers on (left by a daemon that was killed), so a
# new daemon can bind it.
unstale() { [ -S "$1" ] && rm -f "$1"; return 0; }

# await NAME CHECK: wait until CHECK passes, or fail with the log's tail.
await() {
	local name=$1 check=$2 i pid
	pid=$(cat "$STATE/$name.pid")
	for ((i = 0; i < WAIT_S * 10; i++)); do
		"$check" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "/var/log/sentry-test-$name.log" >&2
			die "$name exited at start (log: /var/log/sentry-test-$name.log)"
		fi
		sleep 0.1
	done
	tail -n 20 "/var/log/sentry-test-$name.log" >&2
	die "$name did not answer within ${WAIT_S}s (log: /var/log/sentry-test-$name.log)"
}

start_containerd() {
	if containerd_ok; then say "containerd: already answering on $CONTAINERD_SOCK"; return; fi
	unstale "$CONTAINERD_SOCK"
	spawn containerd containerd --config "$CONF_DIR/containerd.toml"
	await containerd containerd_ok
	say "containerd: started ($(containerd --version | awk '{print $3}'))"
}

start_dockerd() {
	if docker_ok; then say "dockerd: already answering on $DOCKER_SOCK"; return; fi
	# Docker's containers live in the shared containerd (namespace moby); no bridge, no
	# iptables (no network to give them here); cgroupfs since there is no systemd.
	unstale "$DOCKER_SOCK"
	spawn dockerd dockerd --host "unix://$DOCKER_SOCK" --containerd "$CONTAINERD_SOCK" \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false \
		--exec-opt native.cgroupdriver=cgroupfs --pidfile "$STATE/dockerd.real.pid"
	await dockerd docker_ok
	say "dockerd: started ($("$DOCKER" version -f '{{.Server.Version}}'))"
}

start_podman() {
	if podman_ok; then say "podman: already answering on $PODMAN_SOCK"; return; fi
	install -d /run/podman
	unstale "$PODMAN_SOCK"
	spawn podman podman system service --time=0 "unix://$PODMAN_SOCK"
	await podman podman_ok
	say "podman: API service started ($(podman version -f '{{.Client.Version}}'))"
}

# --- images -------------------------------------------------------------------------------

# The busybox root: /bin/busybox, its applets as links, and vi as a real file (a copy) so
# that a process started as vi has vi as its executable too.
busybox_root() {
	local root=$1 applet
	install -d "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
		"$root/root" "$root/home" "$root/var"
	install -d -m 1777 "$root/tmp"
	install -m 0755 /bin/busybox "$root/bin/busybox"
	while read -r applet; do
		[ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$root/$applet"
	done < <(/bin/busybox --list-full)
	rm -f "$root/bin/vi" "$root/usr/bin/vi"
	install -m 0755 /bin/busybox "$root/bin/vi"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
}

pause_root() {
	install -D -m 0755 /usr/bin/catatonit "$1/pause"
}

# build_archive NAME IMAGE ROOTFN CONFIG...: a docker-archive of IMAGE at $CACHE/NAME.tar,
# built with buildah from scratch (also left in containers-storage, podman's store).
build_archive() {
	local name=$1 image=$2 rootfn=$3
	shift 3
	local tar="$CACHE/$name.tar" root ctr
	[ -s "$tar" ] && return 0
	install -d "$CACHE"
	root=$(mktemp -d)
	"$rootfn" "$root"
	ctr=$(buildah from scratch)
	buildah copy -q "$ctr" "$root" / >/dev/null
	buildah config "$@" "$ctr"
	buildah commit -q --rm "$ctr" "$image" >/dev/null
	rm -rf "$root"
	buildah push -q "$image" "docker-archive:$tar.tmp:$image" >/dev/null
	mv "$tar.tmp" "$tar"
	say "image $image: built ($tar)"
}

build_images() {
	build_archive busybox "$BUSYBOX_IMAGE" busybox_root --cmd sh \
		--env PATH=/usr/sbin:/usr/bin:/sbin:/bin --os linux --arch amd64
	build_archive pause "$PAUSE_IMAGE" pause_root --entrypoint '["/pause", "-P"]' \
		--os linux --arch amd64
}

# ctr_import NAMESPACE NAME IMAGE: import $CACHE/NAME.tar into containerd unless present.
ctr_import() {
	local ns=$1 name=$2 image=$3
	ctr --address "$CONTAINERD_SOCK" -n "$ns" images check "name==$image" | grep -q complete &&
		return 0
	ctr --address "$CONTAINERD_SOCK" -n "$ns" images import "$CACHE/$name.tar" >/dev/null
	say "containerd ($ns): imported $image"
}

load_images() {
	local name image ns
	# k8s.io is CRI's namespace; default is for plain `ctr run`.
	for ns in k8s.io default; do
		ctr_import "$ns" busybox "$BUSYBOX_IMAGE"
	done
	ctr_import k8s.io pause "$PAUSE_IMAGE"
	for name in busybox pause; do
		case $name in busybox) image=$BUSYBOX_IMAGE ;; pause) image=$PAUSE_IMAGE ;; esac
		if ! podman image exists "$image"; then
			podman load -q -i "$CACHE/$name.tar" >/dev/null
			say "podman: loaded $image"
		fi
	done
	if ! "$DOCKER" image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1; then
		"$DOCKER" load -q -i "$CACHE/busybox.tar" >/dev/null
		say "docker: loaded $BUSYBOX_IMAGE"
	fi
}

# --- commands -----------------------------------------------------------------------------

cmd_start() {
	[ "$(id -u)" = 0 ] || die "start needs root"
	local t0=$SECONDS
	[ -f /etc/containers/containers.conf ] || die "not installed: run scripts/runtimes.sh install"
	build_images
	start_containerd
	start_dockerd
	start_podman
	load_images
	say "ready in $((SECONDS - t0))s"
}

stop_one() {
	local name=$1 pid i
	[ -f "$STATE/$name.pid" ] || return 0
	pid=$(cat "$STATE/$name.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		say "$name: stopped"
	fi
	rm -f "$STATE/$name.pid"
}

cmd_stop() {
	stop_one podman
	stop_one dockerd
	stop_one containerd
}

cmd_status() {
	local rc=0
	containerd_ok && say "containerd: up ($CONTAINERD_SOCK)" || { say "containerd: down"; rc=1; }
	docker_ok && say "dockerd: up ($DOCKER_SOCK)" || { say "dockerd: down"; rc=1; }
	podman_ok && say "podman: up ($PODMAN_SOCK)" || { say "podman: down"; rc=1; }
	return $rc
}

case ${1:-} in
install) install_pkgs ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) die "usage: $0 install|start|stop|status" ;;
esac
