"""The `remediate:` config section: validation errors name the setting; rules apply per image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.errors import ConfigError
from remediate.config import SCHEMA, from_mapping, load, mirrors_from
from remediate.imageref import parse


def test_rules_per_image_and_ignores() -> None:
    conf = from_mapping(
        {
            "update": "patch",
            "ignore-images": ["ghcr.io/org/*"],
            "images": [
                {"match": "python", "update": "major", "allowed": "<3.13", "ignore-versions": ["3.12.5"]},
                {"match": "busybox", "ignore": True},
            ],
        },
        origin="c.yml",
    )
    py = conf.rules_for(parse("docker.io/library/python:3.11"), conf.update)
    assert py.update == "major" and py.allowed is not None and not py.allowed.contains((3, 13, 0))
    assert conf.rules_for(parse("node:20"), conf.update).update == "patch"
    assert conf.ignored(parse("ghcr.io/org/app:1")) and conf.ignored(parse("busybox:1.36"))
    assert not conf.ignored(parse("alpine:3"))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"update": "huge"}, "remediate.update: 'huge' is not one of"),
        ({"images": [{"update": "patch"}]}, "remediate.images.0: 'match' is a required property"),
        ({"images": [{"match": "x", "allowed": "~1"}]}, "remediate.images.0.allowed: not a version bound"),
        ({"surprise": 1}, "Additional properties are not allowed"),
    ],
)
def test_bad_sections_are_config_errors(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        from_mapping(section, origin="c.yml")
    assert err.value.diagnostics().startswith("c.yml: ")


def test_load_files(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.yml", required=False).update == "minor"
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.yml", required=True)
    bad = tmp_path / "bad.yml"
    bad.write_text("remediate: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load(bad, required=True)
    good = tmp_path / "ok.yml"
    good.write_text(
        "fail-on: HIGH\nremediate:\n  pin-digest: true\n  registry-mirrors: {docker.io: 'http://127.0.0.1:5000'}\n"
    )
    conf = load(good, required=True)
    assert conf.pin_digest is True and mirrors_from(conf.registry_mirrors) == {"docker.io": "http://127.0.0.1:5000"}


def test_mirrors_http_only_to_loopback() -> None:
    with pytest.raises(ConfigError, match="only allowed to loopback"):
        mirrors_from([("docker.io", "http://mirror.example.com")])
    assert mirrors_from([("index.docker.io", "https://mirror.example.com/")]) == {
        "docker.io": "https://mirror.example.com"
    }


def test_shipped_config_schema_embeds_this_section() -> None:
    from gate.schemas import load as load_schema

    shipped = dict(load_schema("config.schema.json")["properties"]["remediate"])
    shipped.pop("description")
    assert shipped == json.loads(json.dumps(SCHEMA))
