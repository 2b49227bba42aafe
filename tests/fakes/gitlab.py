"""A local fake of the GitLab REST API subset the remediation uses, every request and response checked
against ../shared/contracts/gitlab-rest-subset.json (JSON Schema per operation).

`GitLabContract` is generic over that file: GitLab-style paths (`/projects/:id/...`) matched under
`/api/v4`, query and body merged before the body schema (GitLab reads both alike), query strings
coerced to the schema's types. `MergeRequestsFake` keeps a project's branches, commits and MRs;
tests act as people through `close`, `merge` and `push_as`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft202012Validator

from tests.conftest import SHARED, missing

CONTRACT = SHARED / "contracts" / "gitlab-rest-subset.json"
BASE = "/api/v4"


def load_contract() -> dict[str, Any]:
    """The GitLab subset; a missing contract skips the test with the reason (fails it under CI=true)."""
    if not CONTRACT.is_file():
        missing(f"the GitLab API contract at {CONTRACT}")
    found: dict[str, Any] = json.loads(CONTRACT.read_text(encoding="utf-8"))
    return found


class ContractViolation(AssertionError):
    """A request or response the GitLab contract does not allow."""


@dataclass(frozen=True, slots=True)
class Matched:
    name: str
    method: str
    params: dict[str, str]
    op: dict[str, Any]


class GitLabContract:
    """Path matching and schema checks for the operations of gitlab-rest-subset.json."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.ops = list(doc["operations"])
        self._routes = []
        for op in self.ops:
            pattern = re.sub(r":(\w+)", lambda m: f"(?P<{m[1]}>[^/]+)", re.escape(op["path"]).replace("\\:", ":"))
            self._routes.append((op["method"].upper(), re.compile(f"^{re.escape(BASE)}{pattern}$"), op))

    def match(self, method: str, raw_path: str) -> Matched:
        for verb, pattern, op in self._routes:
            found = pattern.match(raw_path)
            if found and (verb == method or (verb == "GET" and method == "HEAD")):
                return Matched(op["name"], verb, {k: unquote(v) for k, v in found.groupdict().items()}, op)
        raise ContractViolation(f"{method} {raw_path}: no such operation in the contract")

    @staticmethod
    def _coerce(schema: Mapping[str, Any], values: Mapping[str, list[str]]) -> dict[str, Any]:
        props = schema.get("properties", {})
        out: dict[str, Any] = {}
        for key, raw in values.items():
            name = key if key in props else key.removesuffix("[]")
            kind = props.get(name, props.get(key, {})).get("type")
            kinds = kind if isinstance(kind, list) else [kind]
            if "array" in kinds or key.endswith("[]"):
                out[key if key in props else name] = raw
                continue
            value: Any = raw[-1]
            if "integer" in kinds and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif "boolean" in kinds and value in ("true", "false"):
                value = value == "true"
            out[name] = value
        return out

    def check_request(self, m: Matched, query: Mapping[str, list[str]], body: Any) -> dict[str, Any]:
        request = m.op["request"]
        where = f"{m.method} {m.op['path']} request"
        path_values = self._coerce(request.get("path") or {}, {k: [v] for k, v in m.params.items()})
        self._validate(request.get("path"), path_values, f"{where} path")
        if m.method in ("GET", "HEAD", "DELETE"):
            args = self._coerce(request.get("query") or {}, query)
            self._validate(request.get("query"), args, f"{where} query")
            return args
        if body is not None and not isinstance(body, dict):
            raise ContractViolation(f"{where}: the body is not a JSON object")
        merged = {**self._coerce(request.get("body") or {}, query), **(body or {})}
        self._validate(request.get("body"), merged, f"{where} body")
        return merged

    def check_response(self, m: Matched, status: int, body: Any) -> None:
        response = m.op["response"]
        where = f"{m.method} {m.op['path']} response {status}"
        if status >= 400:
            return  # the contract describes successes only; errors carry GitLab's {"message": ...}
        expected = response.get("status")
        if expected is not None and status != expected:
            raise ContractViolation(f"{where}: documented status is {expected}")
        if status not in (200, 201, 204):
            raise ContractViolation(f"{where}: not a success status")
        self._validate(response.get("schema"), body, f"{where} body")

    @staticmethod
    def _validate(schema: Mapping[str, Any] | None, instance: Any, what: str) -> None:
        if not schema:
            return
        errors = sorted(Draft202012Validator(dict(schema)).iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message[:200]}" for e in errors[:5])
            raise ContractViolation(f"{what}: {detail}")


@dataclass(frozen=True, slots=True)
class GLRequest:
    name: str
    method: str
    params: dict[str, str]
    args: dict[str, Any]
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True, slots=True)
class GLReply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _sha(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()


class MergeRequestsFake:
    """One GitLab project on 127.0.0.1:<free port>: branches, commits with files, merge requests, notes."""

    def __init__(self, *, token: str | None = None, project_id: int = 7, path: str = "org/app") -> None:
        doc = load_contract()
        self.contract = GitLabContract(doc)
        self.examples = {op["name"]: (op["response"].get("doc_examples") or [None])[0] for op in doc["operations"]}
        self.token = token
        self.project_id, self.path = project_id, path
        self.default_branch = "main"
        self.commits: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, str] = {}
        self.mrs: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[str]] = {}
        self.requests: list[GLRequest] = []
        self.violations: list[str] = []
        self._queued: dict[str, deque[GLReply]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.handlers: dict[str, Callable[[GLRequest], GLReply]] = {
            "get-project": self._project,
            "get-branch": self._branch,
            "create-commit": self._create_commit,
            "list-merge-requests": self._list_mrs,
            "create-merge-request": self._create_mr,
            "update-merge-request": self._update_mr,
            "create-merge-request-note": self._note,
        }

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> MergeRequestsFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def queue(self, name: str, *replies: GLReply) -> None:
        self._queued.setdefault(name, deque()).extend(replies)

    def calls(self, name: str) -> list[GLRequest]:
        return [r for r in self.requests if r.name == name]

    def writes(self) -> list[GLRequest]:
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    # people ------------------------------------------------------------------------------------
    def seed(self, files: dict[str, str], *, branch: str = "main") -> str:
        parent = self.branches.get(branch)
        return self._commit(branch, files, [parent] if parent else [], "seed", "Jane")

    def push_as(self, author: str, branch: str, files: dict[str, str]) -> str:
        head = self.branches[branch]
        return self._commit(branch, {**self.commits[head]["files"], **files}, [head], "a person's change", author)

    def close(self, iid: int) -> None:
        self.mrs[iid]["state"] = "closed"

    def merge(self, iid: int) -> None:
        self.mrs[iid]["state"] = "merged"

    def file_on(self, branch: str, path: str) -> str | None:
        head = self.branches.get(branch)
        return None if head is None else self.commits[head]["files"].get(path)

    # HTTP --------------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> GLReply:
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            m = self.contract.match(method, split.path)
            body = json.loads(raw_body) if raw_body else None
            args = self.contract.check_request(m, query, body)
        except (ContractViolation, ValueError) as exc:
            self.violations.append(str(exc))
            return GLReply(400, {"message": f"contract violation: {exc}"})
        request = GLRequest(m.name, method, m.params, args, headers, body)
        with self._lock:
            self.requests.append(request)
            queued = self._queued.get(m.name)
            reply = queued.popleft() if queued else None
            if reply is None:
                if self.token is not None and self.token not in (
                    headers.get("private-token"),
                    headers.get("job-token"),
                ):
                    reply = GLReply(401, {"message": "401 Unauthorized"})
                else:
                    reply = self.handlers[m.name](request)
        try:
            self.contract.check_response(m, reply.status, reply.body)
        except ContractViolation as exc:
            self.violations.append(f"fake replied outside the contract: {exc}")
        return reply

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
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return _Handler

    # state -------------------------------------------------------------------------------------
    def _commit(self, branch: str, files: dict[str, str], parents: list[str], message: str, author: str) -> str:
        sha = _sha(files, parents, message, author, len(self.commits))
        self.commits[sha] = {"files": dict(files), "parents": parents, "message": message, "author": author}
        self.branches[branch] = sha
        for mr in self.mrs.values():
            if mr["source_branch"] == branch and mr["state"] == "opened":
                mr["sha"] = sha
        return sha

    def _commit_body(self, sha: str) -> dict[str, Any]:
        c = self.commits[sha]
        body: dict[str, Any] = copy.deepcopy(self.examples["create-commit"])
        body.update(
            id=sha,
            short_id=sha[:11],
            title=c["message"].splitlines()[0],
            message=c["message"],
            author_name=c["author"],
            committer_name=c["author"],
            parent_ids=c["parents"],
        )
        return body

    def _ours(self, request: GLRequest) -> bool:
        return request.params.get("id") in (str(self.project_id), self.path)

    def _project(self, request: GLRequest) -> GLReply:
        if not self._ours(request):
            return GLReply(404, {"message": "404 Project Not Found"})
        body = copy.deepcopy(self.examples["get-project"])
        body.update(id=self.project_id, default_branch=self.default_branch, path_with_namespace=self.path)
        return GLReply(200, body)

    def _branch(self, request: GLRequest) -> GLReply:
        name = request.params["branch"]
        if not self._ours(request) or name not in self.branches:
            return GLReply(404, {"message": "404 Branch Not Found"})
        body = copy.deepcopy(self.examples["get-branch"])
        c = self.commits[self.branches[name]]
        body["name"] = name
        body["commit"].update(
            id=self.branches[name], message=c["message"], author_name=c["author"], parent_ids=c["parents"]
        )
        return GLReply(200, body)

    def _create_commit(self, request: GLRequest) -> GLReply:
        data = request.args
        branch, start = data["branch"], data.get("start_branch")
        if branch in self.branches and start and not data.get("force"):
            return GLReply(
                400, {"message": "A branch called 'x' already exists. Switch to that branch in order to make changes"}
            )
        source = start if start and (branch not in self.branches or data.get("force")) else branch
        if source not in self.branches:
            return GLReply(400, {"message": "You can only create or edit files when you are on a branch"})
        base = self.branches[source]
        files = dict(self.commits[base]["files"])
        for action in data["actions"]:
            if action["action"] == "update" and action["file_path"] not in files:
                return GLReply(400, {"message": "A file with this name doesn't exist"})
            files[action["file_path"]] = action.get("content", "")
        sha = self._commit(branch, files, [base], data["commit_message"], data.get("author_name", "container-gate-bot"))
        return GLReply(201, self._commit_body(sha))

    def _mr_body(self, iid: int) -> dict[str, Any]:
        mr = self.mrs[iid]
        body: dict[str, Any] = copy.deepcopy(self.examples["create-merge-request"])
        body.update(
            id=1000 + iid,
            iid=iid,
            project_id=self.project_id,
            source_project_id=mr.get("source_project_id", self.project_id),
            target_project_id=self.project_id,
            title=mr["title"],
            description=mr["description"],
            state=mr["state"],
            source_branch=mr["source_branch"],
            target_branch=mr["target_branch"],
            sha=mr["sha"],
            labels=mr["labels"],
            web_url=f"{self.url}/{self.path}/-/merge_requests/{iid}",
        )
        return body

    def _list_mrs(self, request: GLRequest) -> GLReply:
        if not self._ours(request):
            return GLReply(404, {"message": "404 Project Not Found"})
        state = request.args.get("state", "all")
        source = request.args.get("source_branch")
        found = [
            self._mr_body(i)
            for i, mr in sorted(self.mrs.items())
            if state in ("all", mr["state"]) and (source is None or mr["source_branch"] == source)
        ]
        return GLReply(200, found)

    def _create_mr(self, request: GLRequest) -> GLReply:
        data = request.args
        if data["source_branch"] not in self.branches:
            return GLReply(400, {"message": "Source branch does not exist"})
        if any(m["source_branch"] == data["source_branch"] and m["state"] == "opened" for m in self.mrs.values()):
            return GLReply(409, {"message": ["Another open merge request already exists for this source branch"]})
        iid = max(self.mrs, default=0) + 1
        labels = data.get("labels") or ""
        self.mrs[iid] = {
            "title": data["title"],
            "description": data.get("description") or "",
            "state": "opened",
            "source_branch": data["source_branch"],
            "target_branch": data["target_branch"],
            "sha": self.branches[data["source_branch"]],
            "labels": [x for x in (labels.split(",") if isinstance(labels, str) else labels) if x],
            "reviewer_ids": data.get("reviewer_ids", []),
            "assignee_ids": data.get("assignee_ids", []),
        }
        return GLReply(201, self._mr_body(iid))

    def _update_mr(self, request: GLRequest) -> GLReply:
        iid = int(request.params["merge_request_iid"])
        if iid not in self.mrs:
            return GLReply(404, {"message": "404 Not found"})
        mr = self.mrs[iid]
        data = request.args
        for key in ("title", "description"):
            if key in data:
                mr[key] = data[key]
        if data.get("state_event") == "close":
            mr["state"] = "closed"
        return GLReply(200, self._mr_body(iid))

    def _note(self, request: GLRequest) -> GLReply:
        iid = int(request.params["merge_request_iid"])
        self.notes.setdefault(iid, []).append(request.args["body"])
        body = copy.deepcopy(self.examples["create-merge-request-note"])
        body.update(body=request.args["body"], noteable_iid=iid, project_id=self.project_id)
        return GLReply(201, body)
