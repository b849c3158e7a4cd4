import pytest

from rulec.errors import RulecError
from rulec.load.source import MAX_NODES, parse_yaml


def err(raw: bytes) -> str:
    with pytest.raises(RulecError) as info:
        parse_yaml(raw, "p.yaml")
    return str(info.value)


def test_positions_of_values_and_keys():
    doc = parse_yaml(b"a: 1\nb:\n  - x\n  - {c: 2}\n", "p.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert str(doc.at("b", 1, "c")) == "p.yaml:4:9"
    assert str(doc.key_at("b", 1, "c")) == "p.yaml:4:6"
    assert str(doc.at("b", 7)) == "p.yaml:3:3"  # falls back to the nearest ancestor


def test_duplicate_key_points_at_the_second_and_names_the_first():
    assert err(b"regions: {}\nversion: 1\nregions: {}\n") == (
        "p.yaml:3:1: duplicate key 'regions' (first defined at line 1); YAML keeps only the last one, "
        "so remove one of them"
    )


def test_syntax_error_has_position():
    assert err(b"a: [1\nb: 2\n").startswith("p.yaml:2:")


def test_alias_bomb_is_refused():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 7):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 10)}]")
    message = err("\n".join(lines).encode())
    assert f"more than {MAX_NODES} values (alias bomb?)" in message


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"", "p.yaml:1:1: file is empty"),
        (b"# only a comment\n\n", "p.yaml:1:1: file is empty"),
        (b"a: 1\nb: \xff\n", "p.yaml:2:4: file is not valid UTF-8"),
        (b"- 1\n- 2\n", "p.yaml:1:1: expected a YAML mapping"),
        (b"a: 1\n---\nb: 2\n", "p.yaml:1:1: expected exactly one YAML document"),
        (b"a: &x {b: 1}\nc:\n  <<: *x\n", "p.yaml:3:3: merge keys (<<) are not supported"),
    ],
)
def test_bad_files(raw, expected):
    assert err(raw).startswith(expected)


def test_yes_no_keys_stay_strings():
    assert parse_yaml(b"on: 1\n2: x\n", "p.yaml").data == {"on": 1, "2": "x"}
