"""An open whose path is unmapped by the time of its exit, through the kernel module, in the
guest (tests/open_name_suite.py)."""

from __future__ import annotations

from open_name_suite import (  # noqa: F401 (collected by pytest from here)
    test_open_whose_path_is_unmapped_at_exit_names_the_opened_file,
)
