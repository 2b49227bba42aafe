"""The output options are declared once (gate.options.OUTPUTS); every place that names them must agree with it:
the CLI, the action (action.yml and its input table), the GitLab component, the config schema and the docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from gate.ci.action import GATE_INPUTS
from gate.cli import build_parser
from gate.options import OUTPUTS, requested

REPO = Path(__file__).resolve().parents[3]


def test_the_cli_takes_each_output_as_a_file_option() -> None:
    args = build_parser(plugins=False).parse_args(["gate", *(f"{o.flag}={o.input}.out" for o in OUTPUTS)])
    assert [(name, str(path)) for name, path in requested(args)] == [(o.emitter, f"{o.input}.out") for o in OUTPUTS]


def test_the_action_offers_each_output_as_an_input_and_guards_each_as_a_write() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert {o.input for o in OUTPUTS} <= set(action["inputs"])
    assert {i.name for i in GATE_INPUTS if i.writes} == {o.input for o in OUTPUTS}
    assert {i.flag for i in GATE_INPUTS if i.writes} == {o.flag for o in OUTPUTS}


def test_the_gitlab_component_writes_every_output_and_keeps_each_as_an_artifact() -> None:
    text = (REPO / "templates" / "gate" / "template.yml").read_text()
    job = next(v for k, v in yaml.safe_load(text.split("\n---\n", 1)[1]).items() if isinstance(v, dict))
    script = "\n".join(job["script"])
    kept = set(job["artifacts"]["paths"]) | set(job["artifacts"]["reports"].values())
    for output in OUTPUTS:
        written = re.search(rf"{re.escape(output.flag)} (\S+)", script)
        assert written, f"the component never passes {output.flag}"
        assert written.group(1) in kept, f"{output.flag} {written.group(1)} is written but not kept as an artifact"


def test_the_config_schema_sets_no_output_path() -> None:
    # Outputs are chosen per run (flags, action inputs); the config only tunes them (`sarif: {category-prefix}`).
    schema = json.loads((REPO / "gate" / "schemas" / "config.schema.json").read_text())
    for output in OUTPUTS:
        spec = schema["properties"].get(output.input)
        assert spec is None or spec.get("type") == "object", f"config key {output.input} looks like an output path"


def test_the_docs_list_every_output() -> None:
    readme = (REPO / "README.md").read_text()
    action_doc = (REPO / "docs" / "action.md").read_text()
    for output in OUTPUTS:
        assert f"| `{output.flag} FILE` |" in readme, output.flag
        assert f"| `{output.input}` | `{output.flag}` |" in action_doc, output.input
