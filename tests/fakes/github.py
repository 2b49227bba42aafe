"""A local fake of GitHub's REST API whose every request and response is checked against the contract.

`ContractValidator` is generic over any OpenAPI 3.0 document (path matching, parameters, bodies,
status codes); `FakeGitHub` is an `http.server` on 127.0.0.1 that dispatches by operationId to
handlers you register; `CodeScanningFake` adds the SARIF upload and status endpoints. Other fakes
(pull requests for the remediation) register their own handlers on `FakeGitHub`.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.conftest import SHARED, missing

CONTRACT = SHARED / "contracts" / "github-rest-subset.json"
_BASE = "urn:contract"


def load_contract() -> dict[str, Any]:
    """GitHub's REST subset from ../shared/contracts: a fake without it would validate nothing, so a
    missing contract skips the test with the reason (and fails it under CI=true), never an error."""
    if not CONTRACT.is_file():
        missing(f"the GitHub API contract at {CONTRACT}")
    found: dict[str, Any] = json.loads(CONTRACT.read_text(encoding="utf-8"))
    return found


class ContractViolation(AssertionError):
    """A request or response that the OpenAPI document does not allow."""


@dataclass(frozen=True, slots=True)
class Operation:
    """A matched operation: its id, path template and the path parameters taken from the URL."""

    operation_id: str
    method: str
    template: str
    params: dict[str, str]
    pointer: str
    """JSON pointer of the operation object inside the document."""


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schemas as JSON Schema: `nullable: true` becomes a `null` alternative.

    jsonschema alone ignores `nullable`, which would reject every documented null."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


class ContractValidator:
    """Checks requests and responses against an OpenAPI 3.0 document (refs resolved in place)."""

    def __init__(self, openapi_doc: Mapping[str, Any]) -> None:
        self.doc: dict[str, Any] = openapi_to_jsonschema(dict(openapi_doc))
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(_BASE, resource)
        self._routes = [self._route(t, m, op) for t, item in self.doc["paths"].items() for m, op in item.items()]

    def _route(self, template: str, method: str, op: dict[str, Any]) -> tuple[str, re.Pattern[str], str, str]:
        multi = {p["name"] for p in self._parameters(op, template) if p.get("x-multi-segment")}

        def group(match: re.Match[str]) -> str:
            return f"(?P<{match[1]}>.+)" if match[1] in multi else f"(?P<{match[1]}>[^/]+)"

        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", group, re.escape(template)) + "$")
        return method.upper(), pattern, template, f"/paths/{_escape(template)}/{method}"

    def _parameters(self, op: dict[str, Any], template: str) -> list[dict[str, Any]]:
        shared = self.doc["paths"][template].get("parameters", [])
        return [self.resolve(p) for p in (*shared, *op.get("parameters", []))]

    def resolve(self, node: Any) -> Any:
        """Follow a local `$ref` (one level at a time until a non-ref)."""
        while isinstance(node, dict) and "$ref" in node:
            node = self.at(node["$ref"].lstrip("#"))
        return node

    def at(self, pointer: str) -> Any:
        """The node at a JSON pointer."""
        node: Any = self.doc
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def match(self, method: str, path: str) -> Operation:
        """The operation a method and path address; ContractViolation when there is none."""
        for verb, pattern, template, pointer in self._routes:
            found = pattern.match(path)
            if verb == method.upper() and found:
                op = self.at(pointer)
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                return Operation(op["operationId"], verb, template, params, pointer)
        raise ContractViolation(f"{method} {path}: no such operation in the contract")

    def validate(self, instance: Any, pointer: str, what: str) -> None:
        """Validate an instance against the schema at `pointer`, raising ContractViolation."""
        validator = Draft4Validator({"$ref": f"{_BASE}#{pointer}"}, registry=self._registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message[:200]}" for e in errors[:5])
            raise ContractViolation(f"{what}: {detail}")

    def check_request(
        self, method: str, path: str, body: Any, *, query: Mapping[str, str] | None = None, has_body: bool | None = None
    ) -> Operation:
        """Validate a request (path, parameters, JSON body); returns the matched operation."""
        op = self.match(method, path)
        spec = self.at(op.pointer)
        where = f"{op.method} {op.template} request"
        for param in self._parameters(spec, op.template):
            self._check_param(param, op, dict(query or {}), where)
        self._check_unknown_query(spec, op, dict(query or {}), where)
        request_body = self.resolve(spec.get("requestBody"))
        present = body is not None if has_body is None else has_body
        if request_body is None:
            if present:
                raise ContractViolation(f"{where}: the operation takes no body")
            return op
        if not present:
            if request_body.get("required"):
                raise ContractViolation(f"{where}: a body is required")
            return op
        if "application/json" not in request_body.get("content", {}):
            raise ContractViolation(f"{where}: no JSON body is described")
        self.validate(body, f"{op.pointer}/requestBody/content/application~1json/schema", f"{where} body")
        return op

    def _check_param(self, param: dict[str, Any], op: Operation, query: dict[str, str], where: str) -> None:
        location, pname = param["in"], param["name"]
        source = op.params if location == "path" else query if location == "query" else None
        if source is None:
            return
        if pname not in source:
            if param.get("required"):
                raise ContractViolation(f"{where}: missing {location} parameter {pname}")
            return
        value: Any = source[pname]
        schema = self.resolve(param.get("schema", {}))
        if schema.get("type") == "integer" and re.fullmatch(r"-?\d+", value):
            value = int(value)
        elif schema.get("type") == "boolean" and value in ("true", "false"):
            value = value == "true"
        errors = list(Draft4Validator(openapi_to_jsonschema(schema)).iter_errors(value))
        if errors:
            raise ContractViolation(f"{where}: {location} parameter {pname}={source[pname]!r}: {errors[0].message}")

    def _check_unknown_query(self, spec: dict[str, Any], op: Operation, query: dict[str, str], where: str) -> None:
        known = {p["name"] for p in self._parameters(spec, op.template) if p["in"] == "query"}
        unknown = set(query) - known
        if unknown:
            raise ContractViolation(f"{where}: undocumented query parameters {sorted(unknown)}")

    def check_response(self, method: str, path: str, status: int, body: Any, *, has_body: bool | None = None) -> None:
        """Validate a response's status code and JSON body for the operation at method and path."""
        op = self.match(method, path)
        responses = self.at(op.pointer)["responses"]
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        where = f"{op.method} {op.template} response {status}"
        if key is None:
            raise ContractViolation(f"{where}: status not documented (documented: {sorted(responses)})")
        response = self.resolve(responses[key])
        present = body is not None if has_body is None else has_body
        content = response.get("content") or {}
        if not content:
            if present:
                raise ContractViolation(f"{where}: the contract describes no body")
            return
        if not present:
            raise ContractViolation(f"{where}: a body is described but none was sent")
        pointer = self._response_pointer(op, key, responses[key])
        self.validate(body, f"{pointer}/content/application~1json/schema", f"{where} body")

    def _response_pointer(self, op: Operation, key: str, raw: dict[str, Any]) -> str:
        pointer = f"{op.pointer}/responses/{key}"
        node = raw
        while "$ref" in node:
            pointer = node["$ref"].lstrip("#")
            node = self.at(pointer)
        return pointer


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """What the fake received, after validation."""

    operation: Operation
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[FakeRequest], Reply]


class FakeGitHub:
    """An HTTP server on 127.0.0.1:<free port> answering contract operations through registered handlers.

    Contract violations are recorded in `violations` (and answered 400 for requests); a test should
    assert that list is empty. Replies queued with `queue(operation_id, reply)` are sent first."""

    def __init__(self, contract: Mapping[str, Any] | None = None, *, token: str | None = None) -> None:
        self.validator = ContractValidator(contract or load_contract())
        self.token = token
        self.handlers: dict[str, Handler] = {}
        self.requests: list[FakeRequest] = []
        self.violations: list[str] = []
        self._queued: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL to use as GITHUB_API_URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def route(self, operation_id: str, handler: Handler) -> None:
        """Answer an operation with `handler`."""
        self.handlers[operation_id] = handler

    def queue(self, operation_id: str, *replies: Reply) -> None:
        """Replies to send (in order) before the handler is used again, e.g. 503s to test retries."""
        self._queued.setdefault(operation_id, deque()).extend(replies)

    def calls(self, operation_id: str) -> list[FakeRequest]:
        """Recorded requests for one operation."""
        return [r for r in self.requests if r.operation.operation_id == operation_id]

    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> Reply:
        """Validate, dispatch and validate the reply (the HTTP layer calls this)."""
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            body = json.loads(raw_body) if raw_body else None
            op = self.validator.check_request(method, split.path, body, query=query, has_body=bool(raw_body))
        except (ContractViolation, ValueError) as exc:
            self.violations.append(str(exc))
            return Reply(400, {"message": f"contract violation: {exc}"})
        request = FakeRequest(op, query, headers, body)
        with self._lock:
            self.requests.append(request)
            queued = self._queued.get(op.operation_id)
            reply = queued.popleft() if queued else None
        if reply is None:
            reply = self._dispatch(request)
        try:
            self.validator.check_response(method, split.path, reply.status, reply.body, has_body=reply.body is not None)
        except ContractViolation as exc:
            self.violations.append(f"fake replied outside the contract: {exc}")
        return reply

    def _dispatch(self, request: FakeRequest) -> Reply:
        if self.token is not None and request.headers.get("authorization") not in (
            f"Bearer {self.token}",
            f"token {self.token}",
        ):
            return Reply(404, {"message": "Not Found"}) if request.operation.method != "GET" else Reply(404)
        handler = self.handlers.get(request.operation.operation_id)
        if handler is None:
            self.violations.append(f"no handler for {request.operation.operation_id}")
            return Reply(503, {"message": "fake has no handler"})
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = fake.handle(self.command, self.path, headers, raw)
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return _Handler


@dataclass
class SarifUpload:
    """One upload the fake accepted: the decoded SARIF and the request fields."""

    sarif_id: str
    sarif: dict[str, Any]
    fields: dict[str, Any]
    statuses: deque[dict[str, Any]]


class CodeScanningFake(FakeGitHub):
    """FakeGitHub with `code-scanning/upload-sarif` and `code-scanning/get-sarif`.

    `processing` is the sequence of status bodies the upload goes through (the last one repeats)."""

    def __init__(self, *, token: str | None = None, processing: list[dict[str, Any]] | None = None) -> None:
        super().__init__(token=token)
        self.processing = processing or [{"processing_status": "pending"}, {"processing_status": "complete"}]
        self.uploads: dict[str, SarifUpload] = {}
        self.route("code-scanning/upload-sarif", self._upload)
        self.route("code-scanning/get-sarif", self._status)

    def _upload(self, request: FakeRequest) -> Reply:
        body = request.body
        try:
            sarif = json.loads(gzip.decompress(base64.b64decode(body["sarif"], validate=True)))
        except (ValueError, OSError):
            # The contract documents this 400 without a body.
            return Reply(400)
        sarif_id = str(uuid.uuid4())
        owner, repo = request.operation.params["owner"], request.operation.params["repo"]
        fields = {k: v for k, v in body.items() if k != "sarif"}
        self.uploads[sarif_id] = SarifUpload(sarif_id, sarif, fields, deque(self.processing))
        url = f"{self.url}/repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id}"
        return Reply(202, {"id": sarif_id, "url": url})

    def _status(self, request: FakeRequest) -> Reply:
        upload = self.uploads.get(request.operation.params["sarif_id"])
        if upload is None:
            return Reply(404)
        status = upload.statuses.popleft() if len(upload.statuses) > 1 else upload.statuses[0]
        return Reply(200, status)


def _sha(*parts: object) -> str:
    import hashlib

    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()


class PullRequestsFake(FakeGitHub):
    """A stateful repository for the remediation: git data (blobs, trees, commits, refs) and pull requests.

    Responses start from the contract's own examples (their URLs moved to this server) and carry the
    fake's state. Tests act as people through `close`, `merge` and `push_as`; `writes()` counts the
    requests that would change something on GitHub."""

    def __init__(self, *, token: str | None = None, owner: str = "org", repo: str = "app") -> None:
        super().__init__(token=token)
        self.owner, self.name = owner, repo
        raw = json.dumps(self.validator.doc["components"]["examples"]).replace("https://api.github.com", self.url)
        self.examples: dict[str, Any] = {k: v["value"] for k, v in json.loads(raw).items()}
        self.blobs: dict[str, str] = {}
        self.trees: dict[str, dict[str, str]] = {}
        self.commits: dict[str, dict[str, Any]] = {}
        self.refs: dict[str, str] = {}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[str]] = {}
        self.default_branch = "main"
        for op, handler in {
            "repos/get": self._repo,
            "repos/get-branch": self._branch,
            "repos/get-commit": self._commit,
            "git/create-blob": self._create_blob,
            "git/create-tree": self._create_tree,
            "git/create-commit": self._create_commit,
            "git/get-commit": self._git_commit,
            "git/get-ref": self._get_ref,
            "git/create-ref": self._create_ref,
            "git/update-ref": self._update_ref,
            "git/delete-ref": self._delete_ref,
            "pulls/list": self._list_pulls,
            "pulls/create": self._create_pull,
            "pulls/get": self._get_pull,
            "pulls/update": self._update_pull,
            "issues/create-comment": self._comment,
            "issues/add-labels": self._labels,
            "pulls/request-reviewers": self._reviewers,
        }.items():
            self.route(op, handler)

    def _dispatch(self, request: FakeRequest) -> Reply:
        # GitHub hides a repository from a wrong token behind a 404 with a message
        if self.token is not None and request.headers.get("authorization") not in (
            f"Bearer {self.token}",
            f"token {self.token}",
        ):
            return Reply(404, {"message": "Not Found", "documentation_url": ""})
        return super()._dispatch(request)

    # state helpers for tests -------------------------------------------------------------------
    def seed(self, files: dict[str, str], *, branch: str = "main", author: str = "Jane") -> str:
        """A commit holding exactly `files` on `branch` (the base a run starts from)."""
        tree = {p: self._blob(c) for p, c in files.items()}
        return self._commit_on(
            branch, tree, [self.refs[f"heads/{branch}"]] if f"heads/{branch}" in self.refs else [], "seed", author
        )

    def push_as(self, author: str, branch: str, files: dict[str, str]) -> str:
        """A person's commit on top of a branch."""
        head = self.refs[f"heads/{branch}"]
        tree = {**self.trees[self.commits[head]["tree"]], **{p: self._blob(c) for p, c in files.items()}}
        return self._commit_on(branch, tree, [head], "a person's change", author)

    def close(self, number: int) -> None:
        self.pulls[number]["state"] = "closed"

    def merge(self, number: int) -> None:
        self.pulls[number].update(state="closed", merged_at="2026-01-01T00:00:00Z")

    def file_on(self, branch: str, path: str) -> str | None:
        head = self.refs.get(f"heads/{branch}")
        if head is None:
            return None
        blob = self.trees[self.commits[head]["tree"]].get(path)
        return None if blob is None else self.blobs[blob]

    def writes(self) -> list[FakeRequest]:
        return [r for r in self.requests if r.operation.method != "GET"]

    def open_pulls(self) -> list[dict[str, Any]]:
        return [p for p in self.pulls.values() if p["state"] == "open"]

    # internals ---------------------------------------------------------------------------------
    def _blob(self, content: str) -> str:
        sha = _sha("blob", content)
        self.blobs[sha] = content
        return sha

    def _commit_on(self, branch: str, tree: dict[str, str], parents: list[str], message: str, author: str) -> str:
        tree_sha = _sha("tree", tree)
        self.trees[tree_sha] = dict(tree)
        sha = self._new_commit(tree_sha, parents, message, author)
        self.refs[f"heads/{branch}"] = sha
        for p in self.pulls.values():
            if p["head"]["ref"] == branch and p["state"] == "open":
                p["head"]["sha"] = sha
        return sha

    def _new_commit(self, tree: str, parents: list[str], message: str, author: str) -> str:
        sha = _sha("commit", tree, parents, message, author, len(self.commits))
        self.commits[sha] = {"tree": tree, "parents": parents, "message": message, "author": author}
        return sha

    def _repo_url(self) -> str:
        return f"{self.url}/repos/{self.owner}/{self.name}"

    def _repo(self, request: FakeRequest) -> Reply:
        body = dict(self.examples["full-repository-default-response"])
        body.update(
            name=self.name,
            full_name=f"{self.owner}/{self.name}",
            default_branch=self.default_branch,
            url=self._repo_url(),
            language=None,
        )
        body.pop("source", None)
        body.pop("parent", None)
        return Reply(200, body)

    def _git_commit_body(self, sha: str) -> dict[str, Any]:
        c = self.commits[sha]
        body: dict[str, Any] = json.loads(json.dumps(self.examples["git-commit"]))
        person = {"date": "2026-01-01T00:00:00Z", "name": c["author"], "email": f"{c['author'].lower()}@example.com"}
        body.update(
            sha=sha,
            url=f"{self._repo_url()}/git/commits/{sha}",
            author=person,
            committer=person,
            message=c["message"],
            tree={"sha": c["tree"], "url": f"{self._repo_url()}/git/trees/{c['tree']}"},
            parents=[
                {"sha": p, "url": f"{self._repo_url()}/git/commits/{p}", "html_url": f"{self.url}/c/{p}"}
                for p in c["parents"]
            ],
        )
        return body

    def _branch(self, request: FakeRequest) -> Reply:
        name = request.operation.params["branch"]
        sha = self.refs.get(f"heads/{name}")
        if sha is None:
            return Reply(404, {"message": "Branch not found"})
        body = json.loads(json.dumps(self.examples["branch-get"]))
        body["name"] = name
        body["commit"].update(sha=sha, url=f"{self._repo_url()}/commits/{sha}")
        body["commit"]["commit"]["tree"].update(sha=self.commits[sha]["tree"])
        body["commit"]["commit"]["message"] = self.commits[sha]["message"]
        return Reply(200, body)

    def _commit(self, request: FakeRequest) -> Reply:
        ref = request.operation.params["ref"]
        sha = self.refs.get(f"heads/{ref}", ref)
        if sha not in self.commits:
            return Reply(404, {"message": "No commit found"})
        c = self.commits[sha]
        body = json.loads(json.dumps(self.examples["commit"]))
        body.update(sha=sha, url=f"{self._repo_url()}/commits/{sha}", files=[])
        body["commit"]["message"] = c["message"]
        body["commit"]["author"]["name"] = c["author"]
        body["commit"]["tree"]["sha"] = c["tree"]
        body["author"] = dict(body["author"], login=c["author"].lower())
        body["committer"] = dict(body["committer"], login=c["author"].lower())
        body["parents"] = [{"sha": p, "url": f"{self._repo_url()}/commits/{p}"} for p in c["parents"]]
        return Reply(200, body)

    def _create_blob(self, request: FakeRequest) -> Reply:
        content = request.body["content"]
        if request.body.get("encoding") == "base64":
            content = base64.b64decode(content).decode()
        sha = self._blob(content)
        return Reply(201, {"sha": sha, "url": f"{self._repo_url()}/git/blobs/{sha}"})

    def _create_tree(self, request: FakeRequest) -> Reply:
        base = request.body.get("base_tree")
        if base is not None and base not in self.trees:
            return Reply(422, {"message": "base_tree not found", "documentation_url": "", "errors": []})
        tree = dict(self.trees.get(base, {})) if base else {}
        for element in request.body["tree"]:
            if element.get("sha") is None:
                tree.pop(element["path"], None)
            elif element["sha"] not in self.blobs:
                return Reply(422, {"message": "sha not found", "documentation_url": "", "errors": []})
            else:
                tree[element["path"]] = element["sha"]
        sha = _sha("tree", tree)
        self.trees[sha] = tree
        entries = [
            {
                "path": p,
                "mode": "100644",
                "type": "blob",
                "sha": b,
                "size": len(self.blobs[b]),
                "url": f"{self._repo_url()}/git/blobs/{b}",
            }
            for p, b in sorted(tree.items())
        ]
        return Reply(
            201, {"sha": sha, "url": f"{self._repo_url()}/git/trees/{sha}", "tree": entries, "truncated": False}
        )

    def _create_commit(self, request: FakeRequest) -> Reply:
        if request.body["tree"] not in self.trees or any(
            p not in self.commits for p in request.body.get("parents", [])
        ):
            return Reply(422, {"message": "tree or parent not found", "documentation_url": "", "errors": []})
        author = (request.body.get("author") or {}).get("name", "container-gate[bot]")
        sha = self._new_commit(
            request.body["tree"], list(request.body.get("parents", [])), request.body["message"], author
        )
        return Reply(201, self._git_commit_body(sha))

    def _git_commit(self, request: FakeRequest) -> Reply:
        sha = request.operation.params["commit_sha"]
        return Reply(200, self._git_commit_body(sha)) if sha in self.commits else Reply(404, {"message": "Not Found"})

    def _ref_body(self, ref: str) -> dict[str, Any]:
        sha = self.refs[ref]
        return {
            "ref": f"refs/{ref}",
            "node_id": "x",
            "url": f"{self._repo_url()}/git/refs/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{self._repo_url()}/git/commits/{sha}"},
        }

    def _get_ref(self, request: FakeRequest) -> Reply:
        ref = request.operation.params["ref"]
        return Reply(200, self._ref_body(ref)) if ref in self.refs else Reply(404, {"message": "Not Found"})

    def _create_ref(self, request: FakeRequest) -> Reply:
        ref = request.body["ref"].removeprefix("refs/")
        if ref in self.refs:
            return Reply(422, {"message": "Reference already exists", "documentation_url": "", "errors": []})
        if request.body["sha"] not in self.commits:
            return Reply(422, {"message": "Object does not exist", "documentation_url": "", "errors": []})
        self.refs[ref] = request.body["sha"]
        return Reply(201, self._ref_body(ref))

    def _update_ref(self, request: FakeRequest) -> Reply:
        ref = request.operation.params["ref"]
        if ref not in self.refs:
            return Reply(422, {"message": "Reference does not exist", "documentation_url": "", "errors": []})
        sha = request.body["sha"]
        if not request.body.get("force") and self.refs[ref] not in self._ancestors(sha):
            return Reply(422, {"message": "Update is not a fast forward", "documentation_url": "", "errors": []})
        self.refs[ref] = sha
        for p in self.pulls.values():
            if f"heads/{p['head']['ref']}" == ref and p["state"] == "open":
                p["head"]["sha"] = sha
        return Reply(200, self._ref_body(ref))

    def _ancestors(self, sha: str) -> set[str]:
        seen: set[str] = set()
        todo = [sha]
        while todo:
            s = todo.pop()
            if s not in seen and s in self.commits:
                seen.add(s)
                todo.extend(self.commits[s]["parents"])
        return seen

    def _delete_ref(self, request: FakeRequest) -> Reply:
        ref = request.operation.params["ref"]
        if ref not in self.refs:
            return Reply(422, None)
        del self.refs[ref]
        return Reply(204)

    def _pull_body(self, number: int, *, simple: bool = False) -> dict[str, Any]:
        p = self.pulls[number]
        body: dict[str, Any] = json.loads(
            json.dumps(self.examples["pull-request-simple-items"][0] if simple else self.examples["pull-request"])
        )
        url = f"{self._repo_url()}/pulls/{number}"
        body.update(
            url=url,
            number=number,
            html_url=f"{self.url}/{self.owner}/{self.name}/pull/{number}",
            issue_url=f"{self._repo_url()}/issues/{number}",
            state=p["state"],
            title=p["title"],
            body=p["body"],
            merged_at=p.get("merged_at"),
            closed_at=None if p["state"] == "open" else "2026-01-01T00:00:00Z",
            labels=[dict(self.examples["label-items"][0], name=n) for n in p["labels"]],
            requested_teams=[],
            requested_reviewers=[dict(body["user"], login=r) for r in p["reviewers"]],
        )
        body["head"].update(ref=p["head"]["ref"], sha=p["head"]["sha"], label=f"{self.owner}:{p['head']['ref']}")
        body["base"].update(ref=p["base"], sha=self.refs.get(f"heads/{p['base']}", "0" * 40))
        if not simple:
            body["merged"] = p.get("merged_at") is not None
        return body

    def _list_pulls(self, request: FakeRequest) -> Reply:
        state = request.query.get("state", "open")
        head = request.query.get("head")
        found = [
            self._pull_body(n, simple=True)
            for n, p in sorted(self.pulls.items())
            if (state == "all" or p["state"] == state) and (head is None or f"{self.owner}:{p['head']['ref']}" == head)
        ]
        return Reply(200, found)

    def _create_pull(self, request: FakeRequest) -> Reply:
        head, base = request.body["head"], request.body["base"]
        if f"heads/{head}" not in self.refs:
            return Reply(
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": "",
                    "errors": [{"field": "head", "code": "invalid"}],
                },
            )
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls.values()):
            return Reply(
                422,
                {
                    "message": f"A pull request already exists for {self.owner}:{head}.",
                    "documentation_url": "",
                    "errors": [],
                },
            )
        number = max(self.pulls, default=0) + 1
        self.pulls[number] = {
            "state": "open",
            "title": request.body.get("title", ""),
            "body": request.body.get("body"),
            "head": {"ref": head, "sha": self.refs[f"heads/{head}"]},
            "base": base,
            "labels": [],
            "reviewers": [],
        }
        return Reply(201, self._pull_body(number))

    def _get_pull(self, request: FakeRequest) -> Reply:
        number = int(request.operation.params["pull_number"])
        return Reply(200, self._pull_body(number)) if number in self.pulls else Reply(404, {"message": "Not Found"})

    def _update_pull(self, request: FakeRequest) -> Reply:
        number = int(request.operation.params["pull_number"])
        if number not in self.pulls:
            return Reply(422, {"message": "Not Found", "documentation_url": "", "errors": []})
        p = self.pulls[number]
        for key in ("title", "body", "state"):
            if key in request.body:
                p[key] = request.body[key]
        return Reply(200, self._pull_body(number))

    def _comment(self, request: FakeRequest) -> Reply:
        number = int(request.operation.params["issue_number"])
        self.comments.setdefault(number, []).append(request.body["body"])
        body = dict(self.examples["issue-comment"], body=request.body["body"])
        return Reply(201, body)

    def _labels(self, request: FakeRequest) -> Reply:
        number = int(request.operation.params["issue_number"])
        names = request.body if isinstance(request.body, list) else request.body.get("labels", [])
        names = [n if isinstance(n, str) else n["name"] for n in names]
        p = self.pulls[number]
        p["labels"] = sorted({*p["labels"], *names})
        return Reply(200, [dict(self.examples["label-items"][0], name=n) for n in p["labels"]])

    def _reviewers(self, request: FakeRequest) -> Reply:
        number = int(request.operation.params["pull_number"])
        p = self.pulls[number]
        p["reviewers"] = sorted({*p["reviewers"], *request.body.get("reviewers", [])})
        return Reply(201, self._pull_body(number, simple=True))
