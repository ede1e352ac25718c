"""An open whose path is unmapped by the time of its exit, through the eBPF probe
(tests/open_name_suite.py)."""

from __future__ import annotations

import pytest

from open_name_suite import (  # noqa: F401 (collected by pytest from here)
    test_open_whose_path_is_unmapped_at_exit_names_the_opened_file,
)

pytestmark = pytest.mark.root
