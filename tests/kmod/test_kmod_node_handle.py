"""mknod, mknodat and open_by_handle_at through the kernel module, in the guest, as libs'
dedicated events: the suite the eBPF probe runs too (node_handle_suite.py)."""

from __future__ import annotations

from node_handle_suite import (  # noqa: F401 (collected by pytest from here)
    story,
    test_mknod_exits_carry_path_mode_and_dev,
    test_mknod_fields_read_as_rules_read_them,
    test_open_by_handle_at_names_the_file_it_opened,
    test_sysdig_reads_the_capture,
)
