"""Syscall coverage through the eBPF probe: the suite the kernel module runs too
(driver_suite.py), with ``live_source`` the probe (conftest.py)."""

from __future__ import annotations

import pytest

from driver_suite import (  # noqa: F401 (collected by pytest from here)
    sampling_source,
    test_clone_family_seen_from_parent_and_child,
    test_every_event_has_the_tables_layout,
    test_execve_exit_carries_the_new_process,
    test_execveat_exit,
    test_no_internal_errors,
    test_process_events_have_the_tables_layout,
    test_procexit_reports_the_exit_status,
    test_sampling_keeps_one_nth_of_each_second,
    test_sampling_one_keeps_everything_again,
    test_sampling_ratio_out_of_range_is_refused,
    test_syscall_case,
    test_table_syscalls_are_never_generic,
    test_unreadable_path_is_empty_and_counted,
    test_workload_event_params,
    workload,
)

pytestmark = pytest.mark.root
