"""Configuration as Falco 0.38+ reads it: config_files merging, -o with dotted paths and [i]
indexes, the rules: selection, rule_matching, json_include_* keys (facts from Falco's
unit_tests/falco/test_configuration*.cpp; the files are ours)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry.errors import ConfigError
from sentry.service.config import load_config


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # relative config_files entries are read from here
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_config_files_merge_in_order_lists_appended_maps_replaced(conf: Path) -> None:
    main = write(
        conf / "main.yaml",
        """\
config_files: [extra.d, last.yaml]
rules_file: [/r/a.yaml]
webserver: {enabled: true, listen_port: 9000}
json_output: false
""",
    )
    write(conf / "extra.d/20-b.yaml", "json_output: true\nrules_file: [/r/c.yaml]\n")
    write(conf / "extra.d/10-a.yaml", "rules_file: [/r/b.yaml]\n")
    write(conf / "last.yaml", "webserver: {listen_port: 9100}\n")
    cfg = load_config(main)
    assert cfg.get("rules_file") == ["/r/a.yaml", "/r/b.yaml", "/r/c.yaml"]  # name order
    assert cfg.get("json_output") is True
    # a mapping replaces the earlier one whole: enabled is back to its default
    assert (cfg.get("webserver.listen_port"), cfg.get("webserver.enabled")) == (9100, False)
    assert cfg.files == [
        main,
        Path("extra.d/10-a.yaml"),
        Path("extra.d/20-b.yaml"),
        Path("last.yaml"),
    ]
    assert cfg.warnings == []


def test_config_files_strategies(conf: Path) -> None:
    main = write(
        conf / "main.yaml",
        """\
config_files:
  - {path: over.yaml, strategy: override}
  - {path: add.yaml, strategy: add-only}
rules_file: [/r/a.yaml]
""",
    )
    write(conf / "over.yaml", "rules_file: [/r/b.yaml]\n")
    write(conf / "add.yaml", "rules_file: [/r/c.yaml]\npriority: error\n")
    cfg = load_config(main)
    assert cfg.get("rules_file") == ["/r/b.yaml"] and cfg.get("priority") == "error"


@pytest.mark.parametrize(
    ("main", "extra", "says"),
    [
        ("config_files: [b.yaml]\n", "config_files: [c.yaml]\n", "may not include others"),
        ("config_files: [{path: b.yaml, strategy: merge}]\n", "", "strategy 'merge'"),
        ("config_files: [{path: b.yaml, mode: x}]\n", "", "unknown key 'mode'"),
        ("config_files: 3\n", "", "expected a list of files or directories"),
        ("config_files: [b.yaml]\n", "[1, 2]\n", "must be a YAML mapping"),
        ("config_files: [b.yaml]\n", "a: [\n", "b.yaml:2: not valid YAML"),
    ],
)
def test_bad_config_files_are_clear_errors(conf: Path, main: str, extra: str, says: str) -> None:
    write(conf / "b.yaml", extra)
    with pytest.raises(ConfigError, match=r".*") as info:
        load_config(write(conf / "main.yaml", main))
    assert says in str(info.value)


def test_missing_config_files(conf: Path) -> None:
    cfg = load_config(write(conf / "main.yaml", "config_files: [nodir, gone.yaml]\n"))
    assert cfg.warnings == [
        f"{conf / 'main.yaml'}: config_files: gone.yaml: no such file or directory, skipped"
    ]
    # the default /etc/sentry/config.d (absent here) is skipped without a word
    assert load_config(write(conf / "plain.yaml", "priority: info\n")).warnings == []


def test_o_with_dotted_paths_and_indexes(conf: Path) -> None:
    main = write(
        conf / "main.yaml",
        "rules_file: [/r/a.yaml, /r/b.yaml]\n"
        "container_engines: {cri: {sockets: [/run/one.sock]}}\n",
    )
    cfg = load_config(
        main,
        [
            "rules_file[1]=/r/x.yaml",
            "container_engines.cri.sockets[1]=/run/two.sock",
            "webserver.listen_port=9001",
            "rules[0].disable.rule=Read*",
            "rules[1].enable.tag=network",
            "rule_matching=all",
            "rules[].enable.rule=Adding ssh keys",  # [] appends, as Falco's -o rules[].…
        ],
    )
    assert cfg.get("rules_file") == ["/r/a.yaml", "/r/x.yaml"]
    assert cfg.get("container_engines.cri.sockets") == ["/run/one.sock", "/run/two.sock"]
    assert cfg.get("webserver.listen_port") == 9001
    assert cfg.get("rules") == [
        ("disable", "rule", "Read*"),
        ("enable", "tag", "network"),
        ("enable", "rule", "Adding ssh keys"),
    ]
    assert cfg.get("rule_matching") == "all"
    assert {"rules_file", "rules", "rule_matching"} <= cfg.given


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("nosuch.key=1", "unknown key 'nosuch.key'"),
        ("rules_file[5]=/x", "index 5 is past the end of a list of 0"),
        ("webserver[0]=1", "webserver: expected a mapping, got [1]"),
        ("rules_file[0].x=1", "rules_file: expected a list of strings"),
        ("webserver.listen_port=many", "webserver.listen_port: expected a port number"),
        ("rule_matching=some", "must be one of first, all"),
        ("a..b=1", "not a key path"),
        ("justakey", "expected KEY=VALUE"),
        ("rules[0].enable.name=x", "enable takes one of {rule: NAME} or {tag: TAG}"),
        ("rules[0].toggle.rule=x", "'toggle' is not enable or disable"),
    ],
)
def test_bad_o_options_are_clear_errors(option: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [option])
    assert says in str(info.value)


def test_rules_files_is_rules_file_and_json_keys(conf: Path) -> None:
    cfg = load_config(
        write(conf / "main.yaml", "rules_files: [/r/new.yaml]\njson_include_tags_property: false\n")
    )
    assert cfg.get("rules_file") == ["/r/new.yaml"] and "rules_file" in cfg.given
    assert cfg.get("json_include_tags_property") is False
    assert cfg.get("json_include_message_property") is False
    assert cfg.get("json_include_output_fields_property") is True
    assert cfg.get("rule_matching") == "first" and cfg.get("rules") == []
