"""The fast value builder of gate.safe_yaml gives exactly what PyYAML's own safe constructor gives.

The reference is PyYAML's pure-Python SafeLoader with our rules (no implicit timestamps, finite floats, sets as
maps), its `construct_document`, then the same JSON-safe conversion; inputs are the YAML shapes a constructor
treats specially plus every YAML file of the shared corpus (real Kubernetes manifests and CI files)."""

from __future__ import annotations

from typing import Any

import pytest

from gate import safe_yaml
from gate.errors import InputError
from tests.conftest import corpus_dir

SHAPES = {
    "scalars": "a: yes\nb: No\nc: ~\nd: 0o17\ne: 017\nf: 0x1F\ng: 1_000\nh: 1.5e3\ni: '1'\nj: !!str 12\nk: \"\"\n",
    "keys": "1: int\nfalse: bool\n~: null\n1.5: float\n2.0: whole\n'x': quoted\n=: value-key\n",
    "anchors": "base: &b {x: 1, y: [1, 2]}\nuse: *b\nlist: [*b, *b]\n",
    "merge": "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nmulti:\n  <<: [*b, {z: 4}]\n",
    "tags": "t: !!timestamp 2001-12-14t21:59:43.10-05:00\nd: 2027-01-01\nbin: !!binary aGVsbG8=\n"
    "s: !!set {a, b}\nf: !!float '3'\n",
    "nested": "a:\n  - b:\n      - c: {d: [1, {e: f}]}\n  - [x, [y, [z]]]\n",
    "duplicates": "a: 1\na: 2\nb: {c: 1, c: 2}\n",
    "empty": "a:\nb: []\nc: {}\nd: ''\n",
    "block-scalars": "lit: |\n  one\n  two\nfold: >-\n  a\n  b\n",
    "multi": "---\nkind: A\n---\n# c\n---\nkind: B\n...\n---\n[1, 2]\n",
}


def _reference(text: str) -> list[tuple[Any, int]]:
    loader = safe_yaml._loader()(text)
    out = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                value = loader.construct_document(node)
                out.append(
                    (safe_yaml._plain(value, [safe_yaml.MAX_NODES], safe_yaml.MAX_DEPTH), node.start_mark.line + 1)
                )
    finally:
        loader.dispose()
    return out


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_build_as_pyyaml_constructs_them(name: str) -> None:
    text = SHAPES[name]
    assert safe_yaml.load_documents(text, "x.yaml") == _reference(text)


def test_every_yaml_file_of_the_corpus_builds_as_pyyaml_constructs_it() -> None:
    files = sorted(p for p in corpus_dir().rglob("*") if p.suffix in (".yaml", ".yml"))
    assert files, "the corpus holds YAML files"
    compared = 0
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        try:
            expected = _reference(text)
        except Exception:  # noqa: BLE001 (what PyYAML refuses, the loader must refuse too)
            with pytest.raises(InputError):
                safe_yaml.load_documents(text, str(path))
            continue
        assert safe_yaml.load_documents(text, str(path)) == expected, path
        compared += 1
    assert compared >= 3


def test_keys_equal_only_in_python_stay_apart() -> None:
    # `1` and `true` are one dict key in Python (1 == True) but two JSON keys, as Conftest's YAML-to-JSON step
    # writes them: keys become text before they meet.
    assert safe_yaml.load_documents("1: int\ntrue: bool\n", "k.yaml") == [({"1": "int", "true": "bool"}, 1)]


def test_a_list_used_as_a_key_is_an_error_naming_the_line() -> None:
    with pytest.raises(InputError) as caught:
        safe_yaml.load_documents("a: 1\n? [x, y]\n: 2\n", "m.yaml")
    assert "a list or map used as a key at line 2" in caught.value.diagnostics()


def test_an_alias_bomb_without_spaces_still_ends_with_an_error() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    with pytest.raises(InputError) as caught:
        safe_yaml.load_documents("\n".join(lines) + "\n", "bomb.yaml")
    assert "alias bomb" in caught.value.diagnostics()


def test_deep_nesting_without_aliases_names_the_line() -> None:
    text = "ok: 1\ndeep: " + "[" * 300 + "]" * 300 + "\n"
    with pytest.raises(InputError) as caught:
        safe_yaml.load_documents(text, "deep.yaml")
    assert f"nested deeper than {safe_yaml.MAX_DEPTH} levels" in caught.value.diagnostics()
    assert "at line 2" in caught.value.diagnostics()


def test_the_fast_builder_is_the_one_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # Guard against a silent return to the slow constructor: documents must not go through construct_document.
    calls: list[Any] = []
    loader = safe_yaml._fast_loader()
    original = loader.construct_document

    def spy(self: Any, node: Any) -> Any:
        calls.append(node)
        return original(self, node)

    monkeypatch.setattr(loader, "construct_document", spy)
    safe_yaml.load_documents("kind: Pod\nspec: {containers: [{name: a}]}\n", "p.yaml")
    assert calls == []
