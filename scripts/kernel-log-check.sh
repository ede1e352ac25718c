#!/bin/bash
# kernel-log-check.sh - fail on a kernel problem report in a kernel log (dmesg output):
# WARN_ON/WARN, BUG/BUG_ON and oopses, general protection faults, KASAN/UBSAN/KFENCE,
# lockdep, suspicious RCU usage, RCU stalls, soft/hard lockups, hung tasks, refcount and
# list corruption, panics, and any stack trace. tests/kmod/run_in_vm.sh runs it in the guest
# on dmesg after the tests (the log was cleared before the module was loaded).
#
# usage: kernel-log-check.sh FILE    (FILE: saved `dmesg` output; - reads stdin)
# Exit status: 0 clean; 1 a report was found (its lines are printed, numbered); 2 usage.
# The patterns are the kernel's own spellings, matched case-sensitively (so a module's
# "debug:" or a "warning:" in an ordinary message is not a report).
set -euo pipefail
[ $# = 1 ] || { echo "usage: kernel-log-check.sh FILE" >&2; exit 2; }
[ "$1" = - ] || [ -r "$1" ] || { echo "kernel-log-check: cannot read $1" >&2; exit 2; }
PATTERNS=(
	'^(\[ *[0-9.]+\] )?WARNING: '           # WARN_ON/WARN (WARNING: CPU: N PID: N at ...), lockdep, RCU
	'------------\[ cut here \]------------'
	'BUG: '                                 # BUG: kernel NULL pointer, scheduling while atomic, KASAN, KFENCE, soft lockup...
	'kernel BUG at '                        # BUG_ON
	'Oops: '
	'general protection fault'
	'invalid opcode: '
	'KASAN: '
	'UBSAN: '
	'KFENCE: '
	'rcu: INFO: .*(detected stalls|self-detected stall)'
	'soft lockup'
	'hard LOCKUP'
	'blocked for more than [0-9]+ seconds'
	'refcount_t: '
	'list_(add|del) corruption'
	'Call Trace:'
	'Kernel panic'
)
re=$(IFS='|'; echo "${PATTERNS[*]}")
rc=0
grep -E -n -- "$re" "$1" || rc=$?
case $rc in
0) exit 1 ;;  # found: the lines are printed above
1) exit 0 ;;
*) echo "kernel-log-check: grep failed on $1" >&2; exit 2 ;;
esac
