"""Gatekeeper mode at size: T ConstraintTemplates (one constraint each) × N Kubernetes objects, against gator.

The templates are five kinds of rule Gatekeeper's library is made of (required labels through a lib called via an
import, allowed repositories, no latest tag, resource limits, unique names over data.inventory), each written T/5
times under its own kind and package with its own parameters; the objects are Deployments and Pods spread over ten
Namespaces (which are among the objects, for namespaceSelector). Our gate and `gator test` run on the same folder;
the script fails (exit 1) unless both give the same violation count per constraint.

    python benchmarks/bench_gatekeeper.py [--templates 100] [--objects 1000] [--repeat 3] [--no-gator] [--keep DIR]

gator is built from the Go module proxy at the pinned version by `.ci/build-go-tools.sh gator`. At 1,000 objects
gator needs more than nine minutes here (its inventory rule grows with the square of the objects), so compare at
`--objects 300` and time the full size with `--no-gator`. Figures (2 cores): docs/gatekeeper.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gate import measure  # noqa: E402 (this folder's shared timer)

BIN = Path(sys.executable).parent
NAMESPACES = 10

_HEAD = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: {name}
spec:
  crd:
    spec:
      names:
        kind: {kind}
      validation:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
  targets:
    - target: admission.k8s.gatekeeper.sh
"""

_RULES: dict[str, tuple[str, Callable[[int], dict[str, Any]]]] = {
    "labels": (
        """      libs:
        - |
          package lib.{pkg}
          labels(obj) = l {{
            l := obj.metadata.labels
          }}
          labels(obj) = {{}} {{
            not obj.metadata.labels
          }}
      rego: |
        package {pkg}
        import data.lib.{pkg}
        violation[{{"msg": msg}}] {{
          provided := {{k | {pkg}.labels(input.review.object)[k]}}
          required := {{k | k := input.parameters.labels[_]}}
          missing := required - provided
          count(missing) > 0
          msg := sprintf("%v is missing %v", [input.review.name, missing])
        }}
""",
        lambda i: {"labels": ["owner", f"cost-{i % 3}"]},
    ),
    "repos": (
        """      rego: |
        package {pkg}
        violation[{{"msg": msg}}] {{
          c := input.review.object.spec.template.spec.containers[_]
          not startswith_any(c.image, input.parameters.repos)
          msg := sprintf("%v uses %v", [c.name, c.image])
        }}
        startswith_any(s, prefixes) {{
          startswith(s, prefixes[_])
        }}
""",
        lambda i: {"repos": ["registry.example.com/", f"mirror{i % 4}.example.com/"]},
    ),
    "latest": (
        """      rego: |
        package {pkg}
        violation[{{"msg": msg}}] {{
          c := input.review.object.spec.template.spec.containers[_]
          re_match(":latest$|^[^:]+$", c.image)
          msg := sprintf("%v has no pinned tag", [c.name])
        }}
""",
        lambda i: {},
    ),
    "limits": (
        """      rego: |
        package {pkg}
        violation[{{"msg": msg}}] {{
          c := input.review.object.spec.template.spec.containers[_]
          not c.resources.limits.memory
          msg := sprintf("%v has no memory limit (%v)", [c.name, input.parameters.hint])
        }}
""",
        lambda i: {"hint": f"hint-{i}"},
    ),
    "unique": (
        """      rego: |
        package {pkg}
        violation[{{"msg": msg}}] {{
          name := input.review.object.metadata.name
          other := data.inventory.namespace[ns][_][input.review.kind.kind][name]
          ns != input.review.object.metadata.namespace
          endswith(ns, input.parameters.suffix)
          msg := sprintf("%v also in %v", [name, ns])
        }}
""",
        lambda i: {"suffix": str(i % NAMESPACES)},
    ),
}


def write_set(folder: Path, templates: int, objects: int) -> None:
    policies, inputs = folder / "policies", folder / "objects"
    policies.mkdir(parents=True)
    inputs.mkdir()
    names = list(_RULES)
    for i in range(templates):
        rule = names[i % len(names)]
        body, params = _RULES[rule]
        pkg, kind = f"cg{rule}{i}", f"Cg{rule.title()}{i}"
        match = (
            '    kinds: [{apiGroups: ["apps"], kinds: ["Deployment"]}]\n'
            f'    namespaceSelector: {{matchExpressions: [{{key: tier, operator: NotIn, values: ["t{i % 7}"]}}]}}\n'
        )
        constraint = (
            f"apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata:\n  name: c{i}\nspec:\n"
            f"  enforcementAction: {'deny' if i % 4 else 'warn'}\n  match:\n{match}"
            f"  parameters: {json.dumps(params(i))}\n"
        )
        text = _HEAD.format(name=pkg, kind=kind) + body.format(pkg=pkg) + "---\n" + constraint
        (policies / f"{pkg}.yaml").write_text(text)
    docs = [
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns{n}\n  labels: {{tier: t{n}}}\n"
        for n in range(NAMESPACES)
    ]
    (inputs / "namespaces.yaml").write_text("---\n".join(docs))
    for j in range(objects - NAMESPACES):
        image = ("registry.example.com/app", "docker.io/library/nginx:latest", "mirror1.example.com/x:1.2")[j % 3]
        limits = "\n            resources: {limits: {memory: 128Mi}}" if j % 2 else ""
        labels = "{owner: team}" if j % 5 else "{app: x}"
        (inputs / f"d{j:05}.yaml").write_text(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{j % 400}\n  namespace: ns{j % NAMESPACES}\n"
            f"  labels: {labels}\nspec:\n  template:\n    spec:\n      containers:\n"
            f"          - name: c{j}\n            image: {image}{limits}\n"
        )


def ours(folder: Path, out: Path) -> Counter[str]:
    found = json.loads(out.read_text())["findings"]
    return Counter(f["id"].split("/", 1)[1] for f in found if "gatekeeper" in f["sources"])


def theirs(out: Path) -> Counter[str]:
    return Counter(v["constraint"]["metadata"]["name"] for v in json.loads(out.read_text() or "[]"))


def gator_binary() -> Path | None:
    tools = Path(os.environ.get("CONTAINER_GATE_TOOLS", Path.home() / ".cache" / "container-gate" / "go"))
    built = tools / "bin" / "gator"
    return built if built.is_file() else (Path(p) if (p := shutil.which("gator")) else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=100)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-gator", action="store_true", help="time our gate only")
    parser.add_argument("--keep", type=Path, help="write the set here and keep it")
    args = parser.parse_args()
    gator = None if args.no_gator else gator_binary()
    if not args.no_gator and gator is None:
        print("bench_gatekeeper: gator not found; build it with .ci/build-go-tools.sh gator", file=sys.stderr)
        return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-gatekeeper-"))
    try:
        if not (folder / "policies").exists():
            write_set(folder, args.templates, args.objects)
        gate_out, gator_out = folder / "gate.json", folder / "gator.json"
        gate_cmd = [str(BIN / "container-gate"), "gate", "objects", "--policy", "policies", "--fail-on", "NONE",
                    "--json", str(gate_out)]  # fmt: skip
        os.chdir(folder)
        runs: dict[str, list[tuple[float, float, float]]] = {"gate": [], "gator": []}
        for _ in range(args.repeat):
            wall, rss, code, cpu, _ = measure(gate_cmd)
            if code != 0:
                print(f"bench_gatekeeper: gate exited {code}", file=sys.stderr)
                return 1
            runs["gate"].append((wall, cpu, rss))
            if gator is not None:
                cmd = [str(gator), "test", "-f", "policies", "-f", "objects", "-o", "json"]
                wall, rss, code, cpu, _ = measure(cmd, stdout=gator_out)
                runs["gator"].append((wall, cpu, rss))
        print(f"{args.templates} templates x {args.objects} objects, median of {args.repeat}:")
        for tool, figures in runs.items():
            if figures:
                wall, cpu, rss = (statistics.median(f[k] for f in figures) for k in range(3))
                print(f"  {tool:6} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {rss:6.0f} MiB peak RSS")
        mine = ours(folder, gate_out)
        print(f"  violations: gate {sum(mine.values())}", end="")
        if gator is not None:
            other = theirs(gator_out)
            print(f", gator {sum(other.values())}")
            if mine != other:
                diff = {k: (mine[k], other[k]) for k in set(mine) | set(other) if mine[k] != other[k]}
                print(f"bench_gatekeeper: counts differ (constraint: gate, gator): {diff}", file=sys.stderr)
                return 1
        else:
            print()
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
