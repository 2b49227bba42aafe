"""Policy inputs with an application's own YAML tags (CloudFormation and AWS SAM templates: `!Ref`, `!Sub`,
`!GetAtt`) read as Conftest reads them. Conftest parses YAML with sigs.k8s.io/yaml over go-yaml v2, whose
`resolve` leaves a tag it does not know on a scalar as the plain text and ignores it on a map or a list; `opa eval
-i x.yaml` goes through the same library, so the real `opa` is the reference here. A Python tag is still refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gate.checks.rego.documents import load_documents
from gate.errors import InputError
from tests.conftest import go_tool

TEMPLATE = """\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Ref FunctionNameParam
      Timeout: !Ref 30
      Role: !GetAtt [LambdaRole, Arn]
      Env: !Sub
        Region: us-east-1
        Debug: true
        Retries: 3
      Layers: !Split
        - ","
        - !ImportValue shared-layers
---
plain: !Join [":", [a, b]]
"""


def test_application_tags_read_as_go_yaml_reads_them(tmp_path: Path) -> None:
    opa = go_tool("opa")
    docs = TEMPLATE.split("---\n")
    for index, text in enumerate(docs):
        (tmp_path / f"doc{index}.yaml").write_text(text)
    want = [
        json.loads(
            subprocess.run(
                [opa, "eval", "--format", "raw", "-i", str(tmp_path / f"doc{i}.yaml"), "input"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for i in range(len(docs))
    ]
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    got = [d.value for d in load_documents(tmp_path / "template.yaml")]
    assert got == want
    # What that means, spelled out: a tagged number stays text, a tagged map keeps its typed values.
    assert got[0]["Resources"]["Fn"]["Properties"]["Timeout"] == "30"
    assert got[0]["Resources"]["Fn"]["Properties"]["Env"]["Debug"] is True


def test_python_tags_are_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text('a: !Ref ok\nb: !!python/object/apply:os.system ["id"]\n')
    with pytest.raises(InputError, match="unsafe or unknown YAML tag .*python/object/apply:os.system at line 2"):
        load_documents(path)


def test_a_tag_on_an_alias_bomb_is_still_bounded(tmp_path: Path) -> None:
    # Nine levels of ten aliases, each under a tag: the nodes are counted before anything is built, and the
    # tag path builds through the same counted builder, so neither lets the expansion through.
    lines = ["a0: &a0 !T [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} !T [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="alias bomb"):
        load_documents(path)
