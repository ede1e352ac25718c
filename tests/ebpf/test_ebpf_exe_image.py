"""execve exits' program facts (caps, memfd, overlay layer, inode, times) through the eBPF
probe: the suite the kernel module runs too (exe_image_suite.py)."""

from __future__ import annotations

import pytest

from exe_image_suite import (  # noqa: F401 (collected by pytest from here)
    story,
    test_a_program_run_from_a_memfd_is_flagged,
    test_capability_sets_of_root_of_dropped_and_of_nobody,
    test_exe_writable_for_its_owner_not_for_nobody,
    test_executable_inode_and_times,
    test_fd_nameraw_is_the_path_as_opened,
    test_memfd_and_module_events_carry_their_parameters,
    test_overlay_upper_and_lower_layers,
    test_sysdig_reads_the_longer_execve_exits,
    test_todays_falco_rule_fires_on_the_memfd_exec_only,
)

pytestmark = [pytest.mark.root]
