"""Configuration: the shipped default, Falco's own falco.yaml, overrides and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry.errors import ConfigError
from sentry.service.config import SCHEMA, load_config, parse_override

DEFAULT = Path(__file__).resolve().parents[3] / "deploy" / "sentry.yaml"


def test_shipped_default_config_loads_cleanly_and_names_every_key() -> None:
    cfg = load_config(DEFAULT)
    assert cfg.warnings == []
    assert cfg.get("webserver.listen_port") == 8765
    text = DEFAULT.read_text()
    for key in SCHEMA:
        assert key.split(".")[-1] + ":" in text, f"{key} is not documented in {DEFAULT}"


def test_falco_yaml_loads_with_warnings_for_what_we_do_not_do(falco_dir: Path) -> None:
    cfg = load_config(falco_dir / "falco.yaml")
    assert cfg.get("syscall_event_drops.actions") == ["log", "alert"]
    assert cfg.get("syslog_output.enabled") is True
    assert any("grpc" in w for w in cfg.warnings)


def test_falco_test_confs_load(falco_dir: Path) -> None:
    for name in (
        "file_output.yaml",
        "program_output.yaml",
        "stdout_output.yaml",
        "drops_alert.yaml",
        "drops_none.yaml",
    ):
        load_config(falco_dir / "test" / "confs" / name)


@pytest.mark.parametrize("name", ["drops_threshold_neg.yaml", "drops_threshold_oor.yaml"])
def test_drop_threshold_out_of_range_is_an_error(falco_dir: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="threshold must be a double in the range"):
        load_config(falco_dir / "test" / "confs" / name)


def test_ignore_with_log_is_an_error(falco_dir: Path) -> None:
    with pytest.raises(ConfigError, match='"log" does not make sense with the "ignore"'):
        load_config(falco_dir / "test" / "confs" / "drops_ignore_log.yaml")


def test_wrong_type_names_the_key_path(tmp_path: Path) -> None:
    conf = tmp_path / "s.yaml"
    conf.write_text("webserver:\n  listen_port: eighty\n")
    with pytest.raises(ConfigError) as err:
        load_config(conf)
    assert "webserver.listen_port" in str(err.value) and "eighty" in str(err.value)


def test_section_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    conf = tmp_path / "s.yaml"
    conf.write_text("http_output: yes\n")
    with pytest.raises(ConfigError, match="http_output: expected a mapping"):
        load_config(conf)


def test_unknown_keys_warn(tmp_path: Path) -> None:
    conf = tmp_path / "s.yaml"
    conf.write_text("jsn_output: true\nwebserver:\n  listen_prot: 1\n")
    cfg = load_config(conf)
    assert any("jsn_output" in w for w in cfg.warnings)
    assert any("webserver.listen_prot" in w for w in cfg.warnings)


def test_invalid_yaml_says_where(tmp_path: Path) -> None:
    conf = tmp_path / "s.yaml"
    conf.write_text("json_output: true\nwebserver: [\n")
    with pytest.raises(ConfigError, match=r"s\.yaml:\d+: not valid YAML"):
        load_config(conf)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.yaml")


def test_overrides_apply_after_the_file_with_types() -> None:
    cfg = load_config(
        DEFAULT,
        [
            "webserver.listen_port=9000",
            "json_output=true",
            "rules_file=/tmp/a.yaml",
            "file_output.filename=123",
        ],
    )
    assert cfg.get("webserver.listen_port") == 9000
    assert cfg.get("json_output") is True
    assert cfg.get("rules_file") == ["/tmp/a.yaml"]
    assert cfg.get("file_output.filename") == "123"


@pytest.mark.parametrize(
    "text,match",
    [
        ("webserver.listen_port=70000", "0..65535"),
        ("nosuch.key=1", "unknown key"),
        ("json_output", "KEY=VALUE"),
        ("json_output=maybe", "expected a boolean"),
        ("syscall_event_drops.actions=[log, shout]", "unknown action 'shout'"),
    ],
)
def test_bad_overrides(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_override(text)


def test_rules_file_directories_expand_in_name_order(tmp_path: Path) -> None:
    d = tmp_path / "rules.d"
    d.mkdir()
    for name in ("b.yaml", "a.yaml"):
        (d / name).write_text("[]\n")
    conf = tmp_path / "s.yaml"
    conf.write_text("rules_file:\n  - main.yaml\n  - rules.d\n")
    paths = load_config(conf).rules_paths()
    assert paths == [tmp_path / "main.yaml", d / "a.yaml", d / "b.yaml"]
