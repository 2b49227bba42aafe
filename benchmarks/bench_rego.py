"""Rego mode against `conftest test`: the same manifests and policies, side by side, same failures required.

Each `--set` is a workload both tools run on from the set's folder, on the same relative paths, alternating,
`--repeat` times each; the script fails (exit 1) unless both report the same (file, message) failures and
warnings. The manifests are Conftest's own examples (from the shared corpus, read in place) copied N times, each
copy renamed (`hello-kubernetes-<i>`) so no two files are alike:

- `deployment` (the default): `examples/kubernetes/deployment.yaml` with that example's `policy/` folder.
- `multi`: `examples/kubernetes/deployment+service.yaml` (two YAML documents a file), the same policies.
- `rules`: the deployment with a generated policy of 60 rules (deny/warn/violation, object results with
  metadata, a helper package, exceptions that waive rules on some files).
- `idioms`: the deployment, varied (replicas, ports, images), with ten rules written in the common idioms (see
  `_idioms`): the set where evaluation, not our overhead, is most of the time.
- `json`: the deployment written as JSON, one file a copy, with the example's policies (JSON files met in a
  folder are policy inputs, as they are to conftest).
- `data`: the deployment, every copy with its own image, and a policy reading `--data` (allowed registries,
  required labels) from a YAML data file.
- `docker`: `examples/docker/Dockerfile` with that example's `policy/` (Dockerfile inputs, which `gate` also
  runs its built-in Dockerfile checks on: those findings are not Rego's and are not compared).
- `builtin`: the deployment with our `builtin:kubernetes` pack; conftest runs the same pack's folder with
  `--namespace containergate.kubernetes`. One rule is ours alone there, and its results are left out of the
  comparison: the default-deny NetworkPolicy rule needs the run's partner objects, which plain Conftest does not
  hand a policy.

    python benchmarks/bench_rego.py [--set NAME ...] [--sizes 1000 10000] [--repeat 3] [--conftest PATH]
        [--keep DIR]

conftest is built from the Go module proxy at the pinned version by `.ci/build-go-tools.sh conftest` (into
`~/.cache/container-gate/go/bin`, or `$CONTAINER_GATE_TOOLS/bin`); without it the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gate import measure  # noqa: E402 (this folder's shared timer)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CONTAINER_GATE_SHARED", REPO.parent / "shared"))
EXAMPLE = SHARED / "corpus" / "conftest" / "examples" / "kubernetes"
DOCKER_EXAMPLE = EXAMPLE.parent / "docker"
PACK = REPO / "gate" / "checks" / "rego" / "packs" / "kubernetes"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Workload:
    """Manifests made from `template`, the policy (a folder made by `policy`, or a path), extra arguments."""

    template: str
    policy: Callable[[Path], str]
    gate_args: tuple[str, ...] = ()
    conftest_args: tuple[str, ...] = ()
    edit: Callable[[str, int], str] = field(default=lambda text, _index: text)
    data: Callable[[Path], None] | None = None
    ours_only: tuple[str, ...] = ()
    """Parts of messages only container-gate gives (see `builtin`): such results are left out of the comparison."""
    example: Path = EXAMPLE
    """The folder the template comes from."""
    file_name: str = "deployment-{index:05d}.yaml"


def conftest_binary(given: str | None) -> Path | None:
    """The conftest to compare with: `--conftest`, the build script's folder, then PATH."""
    if given:
        return Path(given)
    tools = Path(os.environ.get("CONTAINER_GATE_TOOLS", Path.home() / ".cache" / "container-gate" / "go"))
    built = tools / "bin" / "conftest"
    if built.is_file():
        return built
    found = shutil.which("conftest")
    return Path(found) if found else None


def make_set(workload: Workload, count: int, folder: Path) -> None:
    """`count` renamed copies of the workload's template in `folder`."""
    template = workload.example / workload.template
    text = template.read_text()
    manifest = workload.example == EXAMPLE
    if manifest and "name: hello-kubernetes\n" not in text:
        raise SystemExit(f"bench_rego: {template} changed: no 'name: hello-kubernetes' line")
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        renamed = text.replace("name: hello-kubernetes\n", f"name: hello-kubernetes-{index}\n") if manifest else text
        (folder / workload.file_name.format(index=index)).write_text(workload.edit(renamed, index))


def _example_policy(_folder: Path) -> str:
    return str(EXAMPLE / "policy")


def _docker_policy(_folder: Path) -> str:
    return str(DOCKER_EXAMPLE / "policy")


def _labelled(text: str, index: int) -> str:
    # (A label of its own per copy, so no two Dockerfiles are alike.)
    return text.rstrip("\n") + f"\nLABEL copy={index}\n"


def _pack(_folder: Path) -> str:
    return "builtin:kubernetes"


_RULES_HEADER = """package main
import rego.v1

import data.lib

"""

_LIB = """package lib
import rego.v1

name := input.metadata.name

containers contains c if some c in input.spec.template.spec.containers

labels := object.get(input, ["metadata", "labels"], {})
"""


def _many_rules(folder: Path) -> str:
    """60 rules: 30 deny (strings), 20 warn, 10 violation (objects with metadata); exceptions on every 7th file."""
    policy = folder / "policy"
    policy.mkdir(exist_ok=True)
    rules = [_RULES_HEADER]
    rules += [
        f'deny_label_{i} contains msg if {{\n\tinput.kind == "Deployment"\n\tnot lib.labels["team-{i}"]\n'
        f'\tmsg := sprintf("%s lacks label team-{i}", [lib.name])\n}}\n'
        for i in range(30)
    ]
    rules += [
        f"warn_replicas_{i} contains msg if {{\n\tinput.spec.replicas < {i}\n"
        f'\tmsg := sprintf("%s: fewer than {i} replicas", [lib.name])\n}}\n'
        for i in range(20)
    ]
    rules += [
        f"violation_port_{i} contains result if {{\n\tsome c in lib.containers\n\tsome p in c.ports\n"
        f"\tp.containerPort != {8000 + i}\n"
        f'\tmsg := sprintf("%s: %s listens on %d, not {8000 + i}", [lib.name, c.name, p.containerPort])\n'
        f'\tresult := {{"msg": msg, "severity": "low", "rule": {i}}}\n}}\n'
        for i in range(10)
    ]
    rules.append(
        'exception contains rules if {\n\tendswith(lib.name, "7")\n\trules := ["label_3", "label_4", "replicas_5"]\n}\n'
    )
    (policy / "rules.rego").write_text("\n".join(rules))
    (policy / "lib.rego").write_text(_LIB)
    return str(policy)


_DATA_POLICY = """package main
import rego.v1

registry(image) := split(image, "/")[0]

deny contains msg if {
\tsome c in input.spec.template.spec.containers
\tnot registry(c.image) in {r | some r in data.registries.allowed}
\tmsg := sprintf("%s: image %s is not from an allowed registry", [input.metadata.name, c.image])
}

deny contains msg if {
\tsome label in data.labels.required
\tnot input.metadata.labels[label]
\tmsg := sprintf("%s: missing label %s", [input.metadata.name, label])
}

warn contains msg if {
\tinput.spec.replicas < data.limits.min_replicas
\tmsg := sprintf("%s: %d replicas, fewer than %d", [input.metadata.name, input.spec.replicas, data.limits.min_replicas])
}
"""


def _data_policy(folder: Path) -> str:
    policy = folder / "policy"
    policy.mkdir(exist_ok=True)
    (policy / "registries.rego").write_text(_DATA_POLICY)
    return str(policy)


def _data_file(folder: Path) -> None:
    (folder / "settings.yaml").write_text(
        "registries:\n  allowed: [registry.example.com, ghcr.io, paulbouwer]\n"
        "labels:\n  required: [app, team, owner]\nlimits:\n  min_replicas: 4\n"
    )


_IDIOMS = """package main
import rego.v1

containers contains c if some c in input.spec.template.spec.containers

deny contains msg if {
	some c in containers
	not startswith(c.image, "registry.internal/")
	msg := sprintf("%s: image %q not from the internal registry", [input.metadata.name, c.image])
}

deny contains msg if {
	some c in containers
	regex.match(`:latest$|^[^:]+$`, c.image)
	msg := sprintf("%s: %s uses latest", [input.metadata.name, c.name])
}

warn contains msg if {
	count(containers) > 0
	every c in containers { not c.resources.limits.memory }
	msg := sprintf("%s: no container sets a memory limit", [input.metadata.name])
}

warn contains msg if {
	labels := object.get(input.metadata, "labels", {})
	missing := {l | some l in ["app", "team", "tier"]; not labels[l]}
	count(missing) > 0
	msg := sprintf("%s: missing labels %v", [input.metadata.name, sort(missing)])
}

deny contains msg if {
	input.kind == "Deployment"
	replicas := object.get(input.spec, "replicas", 1)
	replicas < 2
	msg := sprintf("%s: %d replica(s)", [input.metadata.name, replicas])
}

violation contains {"msg": msg, "details": {"ports": ports}} if {
	some c in containers
	ports := [p.containerPort | some p in c.ports]
	some p in ports
	p < 1024
	msg := sprintf("%s: privileged port %d", [input.metadata.name, p])
}

deny contains msg if {
	name := input.metadata.name
	not regex.match(`^[a-z0-9-]+$`, name)
	msg := sprintf("bad name %s", [name])
}

warn contains msg if {
	some c in containers
	not c.securityContext.runAsNonRoot == true
	msg := sprintf("%s: %s may run as root", [input.metadata.name, c.name])
}

deny contains msg if {
	some i, c in input.spec.template.spec.containers
	upper(c.name) == c.name
	msg := sprintf("container %d has an upper-case name", [i])
}

warn contains msg if {
	v := json.marshal(input.spec.selector)
	contains(v, "app")
	trim_space(lower(input.kind)) == "deployment"
	msg := concat(" ", ["selector", "uses", "app", split(input.metadata.name, "-")[0]])
}
"""


def _idioms(folder: Path) -> str:
    """Ten rules in the idioms Conftest policies are written in: `some ... in`, `every`, comprehensions,
    `object.get`, `regex.match`, `startswith`, `sprintf` with `%q`/`%d`/`%v`, `json.marshal`, `concat`, `split`."""
    policy = folder / "policy"
    policy.mkdir(exist_ok=True)
    (policy / "idioms.rego").write_text(_IDIOMS)
    return str(policy)


def _varied(text: str, index: int) -> str:
    # Every other copy runs one replica on a privileged port, every third from the internal registry at `latest`.
    if index % 2 == 0:
        text = text.replace("replicas: 3", "replicas: 1").replace("containerPort: 8080", "containerPort: 80")
    if index % 3 == 0:
        text = text.replace("image: paulbouwer/hello-kubernetes:1.5", "image: registry.internal/hello:latest")
    return text


def _as_json(text: str, _index: int) -> str:
    # The same manifest as JSON (PyYAML reads it here, once per copy: the benchmark's set-up, not a timed run).
    import yaml

    return json.dumps(yaml.safe_load(text), indent=2)


def _own_image(text: str, index: int) -> str:
    registry = ("paulbouwer", "docker.io/library", "ghcr.io/acme", "quay.io/team")[index % 4]
    return text.replace("image: paulbouwer/hello-kubernetes:1.5", f"image: {registry}/hello-{index}:1.{index % 9}")


SETS = {
    "deployment": Workload("deployment.yaml", _example_policy),
    "multi": Workload("deployment+service.yaml", _example_policy),
    "rules": Workload("deployment.yaml", _many_rules),
    "idioms": Workload("deployment.yaml", _idioms, edit=_varied),
    "json": Workload("deployment.yaml", _example_policy, edit=_as_json, file_name="deployment-{index:05d}.json"),
    "data": Workload(
        "deployment.yaml",
        _data_policy,
        ("--data", "settings.yaml"),
        ("--data", "settings.yaml"),
        edit=_own_image,
        data=_data_file,
    ),
    "builtin": Workload(
        "deployment.yaml",
        _pack,
        conftest_args=("--namespace", "containergate.kubernetes"),
        ours_only=("has no default-deny NetworkPolicy",),
    ),
    "docker": Workload(
        "Dockerfile", _docker_policy, edit=_labelled, example=DOCKER_EXAMPLE, file_name="Dockerfile.{index:05d}"
    ),
}


def conftest_results(path: Path) -> Counter[tuple[str, str, str]]:
    """(file, kind, message) of every failure and warning in `conftest test -o json` output."""
    found: Counter[tuple[str, str, str]] = Counter()
    for entry in json.loads(path.read_text()):
        for kind in ("failures", "warnings"):
            for result in entry.get(kind) or []:
                found[(entry["filename"], kind, result["msg"])] += 1
    return found


_KINDS = {"failure": "failures", "warning": "warnings"}


def gate_results(path: Path) -> Counter[tuple[str, str, str]]:
    """The same triples from our JSON result: each Rego finding's sighting says failure, warning or exception
    (excepted results, which Conftest drops, are left out)."""
    found: Counter[tuple[str, str, str]] = Counter()
    for finding in json.loads(path.read_text())["findings"]:
        for sighting in finding["sightings"]:
            if sighting["tool"] == "rego" and sighting["severity"] in _KINDS:
                found[(finding["target"], _KINDS[sighting["severity"]], finding["title"])] += 1
    return found


def run(names: list[str], sizes: list[int], repeat: int, conftest: Path, keep: Path | None) -> int:
    work = keep or Path(tempfile.mkdtemp(prefix="bench-rego-"))
    rows = []
    for name in names:
        workload = SETS[name]
        for size in sizes:
            folder = work / name / str(size)
            shutil.rmtree(folder, ignore_errors=True)
            make_set(workload, size, folder / "m")
            policy = workload.policy(folder)
            if workload.data:
                workload.data(folder)
            os.chdir(folder)
            gate = [str(BIN / "container-gate"), "gate", "m", "--policy", policy, *workload.gate_args]
            gate += ["--fail-on", "NONE", "--json", "gate.json"]
            # (Not `conftest.json`: conftest reads any `conftest.*` in its working folder as its own config.)
            theirs_policy = str(PACK) if policy.startswith("builtin:") else policy
            theirs = [str(conftest), "test", "m", "-p", theirs_policy, *workload.conftest_args, "-o", "json"]
            gate_runs, conftest_runs = [], []
            for _ in range(repeat):
                gate_runs.append(measure(gate))
                conftest_runs.append(_to_file(theirs, folder / "theirs.json"))
            gate_runs.append(measure(gate, sample=True))
            conftest_runs.append(_to_file(theirs, folder / "theirs.json", sample=True))
            ours, reference = gate_results(folder / "gate.json"), conftest_results(folder / "theirs.json")
            ours = Counter({k: n for k, n in ours.items() if not any(part in k[2] for part in workload.ours_only)})
            if ours != reference or not reference:
                missing, extra = reference - ours, ours - reference
                print(
                    f"bench_rego: {name}, {size} files: results differ: {len(missing)} missing, {len(extra)} extra"
                    f" (of {sum(reference.values())})",
                    file=sys.stderr,
                )
                for item in list(missing.elements())[:3] + list(extra.elements())[:3]:
                    print(f"  {item}", file=sys.stderr)
                return 1
            rows.append((name, size, sum(reference.values()), _summary(gate_runs), _summary(conftest_runs)))
    print(f"inputs: renamed copies of {EXAMPLE.parent}/<example>/<template>; sets: {', '.join(names)}")
    print(f"median of {repeat} timed runs each; CPU = user + system s; PSS = process tree sum, sampled in one more run")
    print(
        f"{'set':>10} {'files':>6} {'results':>8} | {'gate s':>6} {'CPU':>5} {'PSS MiB':>7} | {'conftest s':>10} "
        f"{'CPU':>5} {'PSS MiB':>7} | time x  CPU x  PSS x"
    )
    for name, size, results, (gw, gc, gp), (cw, cc, cp) in rows:
        gate_cells = f"{gw:>6.2f} {gc:>5.2f} {gp:>7.0f}"
        conftest_cells = f"{cw:>10.2f} {cc:>5.2f} {cp:>7.0f}"
        ratio_cells = f"{gw / cw:5.2f}  {gc / cc:5.2f}  {gp / max(cp, 1):5.2f}"
        print(f"{name:>10} {size:>6} {results:>8} | {gate_cells} | {conftest_cells} | {ratio_cells}")
    return 0


def _to_file(cmd: list[str], out: Path, *, sample: bool = False) -> tuple[float, float, int, float, float]:
    return measure(cmd, sample=sample, stdout=out)


def _summary(runs: list[tuple[float, float, int, float, float]]) -> tuple[float, float, float]:
    """Median wall and CPU of the timed runs (all but the last), the sampled run's tree PSS."""
    timed, sampled = runs[:-1], runs[-1]
    return statistics.median(r[0] for r in timed), statistics.median(r[3] for r in timed), sampled[4]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--set", dest="sets", nargs="+", choices=sorted(SETS), default=["deployment"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--conftest", help="the conftest binary (default: .ci/build-go-tools.sh's, then PATH)")
    parser.add_argument("--keep", type=Path, help="folder for the manifest sets and outputs")
    args = parser.parse_args()
    if not (EXAMPLE / "policy").is_dir():
        print(f"bench_rego: the shared corpus is missing ({EXAMPLE})", file=sys.stderr)
        return 2
    conftest = conftest_binary(args.conftest)
    if conftest is None or not conftest.is_file():
        print("bench_rego: conftest is missing: build it with `.ci/build-go-tools.sh conftest`", file=sys.stderr)
        return 2
    # Our modules as an installed package has them, compiled: an editable install of a fresh checkout (or one just
    # edited) under PYTHONDONTWRITEBYTECODE would compile changed modules again in every timed run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "gate")], check=True)
    return run(args.sets, args.sizes, args.repeat, conftest, args.keep)


if __name__ == "__main__":
    sys.exit(main())
