"""The OCI client against Debian's real docker-registry: pagination, digests, mirrors, token auth, 429s."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from remediate.credentials import collect, env_key, from_docker_config
from remediate.errors import RegistryError
from remediate.imageref import parse
from remediate.registry import Credential, OciRegistryClient, retrying_session
from tests.integration.registry.oci import Pusher
from tests.integration.registry.servers import TOKEN_PASSWORD, TOKEN_USER, Front, RegistryServer, TokenIssuer

pytestmark = pytest.mark.registry


class Counted:
    """A retrying session whose response hook records every request the client makes."""

    def __init__(self) -> None:
        self.session = retrying_session(retries=3, backoff=0.1)
        self.calls: list[tuple[str, str, int]] = []
        self.authorization: list[str | None] = []
        self.session.hooks["response"].append(self._record)

    def _record(self, resp: requests.Response, *args: object, **kwargs: object) -> None:
        self.calls.append((resp.request.method or "", resp.request.url or "", resp.status_code))
        self.authorization.append(resp.request.headers.get("Authorization"))


@pytest.fixture
def counted() -> Iterator[Counted]:
    c = Counted()
    yield c
    c.session.close()


@pytest.fixture(scope="module")
def many_tags(registry: RegistryServer) -> dict[str, str]:
    """120 tags in one repository, each with its own digest, plus a multi-arch tag."""
    with requests.Session() as s:
        pusher = Pusher(registry.url, session=s)
        digests = {f"1.{i}.0": pusher.image("library/many", f"1.{i}.0") for i in range(120)}
        digests["multi"] = pusher.multiarch("library/many", "multi")
    return digests


def test_registry_returns_every_tag_in_one_answer(
    registry: RegistryServer, many_tags: dict[str, str], counted: Counted
) -> None:
    client = OciRegistryClient(counted.session, mirrors={"docker.io": registry.url}, page_size=50)
    assert sorted(client.list_tags(parse("many"))) == sorted(many_tags)
    assert len(counted.calls) == 1


def test_tags_are_read_from_every_page_and_cached(
    many_tags: dict[str, str], counted: Counted, front: Callable[..., Front]
) -> None:
    paged = front(paginate=True)
    client = OciRegistryClient(counted.session, mirrors={"docker.io": paged.url}, page_size=50)
    tags = client.list_tags(parse("many:1.0.0"))
    assert sorted(tags) == sorted(many_tags) and len(tags) == 121
    pages = [url for method, url, _ in counted.calls if "/tags/list" in url]
    assert len(pages) == 3 and pages[0].endswith("/v2/library/many/tags/list?n=50")
    assert "last=" in pages[1] and "last=" in pages[2]
    client.list_tags(parse("docker.io/library/many:9"))
    assert len(counted.calls) == 3, "a second lookup of the same repository must come from the cache"


def test_digests_by_head_single_and_multi_arch(
    registry: RegistryServer, many_tags: dict[str, str], counted: Counted
) -> None:
    client = OciRegistryClient(counted.session, mirrors={"docker.io": registry.url})
    ref = parse("library/many")
    assert client.digest(ref, "1.7.0") == many_tags["1.7.0"]
    assert client.digest(ref, "multi") == many_tags["multi"]
    index = requests.get(
        f"{registry.url}/v2/library/many/manifests/multi",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=10,
    )
    assert index.json()["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m for m, _, _ in counted.calls] == ["HEAD", "HEAD"]
    client.digest(ref, "multi")
    assert len(counted.calls) == 2


def test_loopback_registry_without_mirror_and_unknown_repository(registry: RegistryServer, counted: Counted) -> None:
    with requests.Session() as s:
        digest = Pusher(registry.url, session=s).image("org/direct", "2.3.1")
    client = OciRegistryClient(counted.session)
    ref = parse(f"127.0.0.1:{registry.port}/org/direct:2.3.1")
    assert client.list_tags(ref) == ("2.3.1",) and client.digest(ref, "2.3.1") == digest
    assert counted.calls[0][1].startswith(f"http://127.0.0.1:{registry.port}/v2/org/direct/")
    with pytest.raises(RegistryError) as err:
        client.list_tags(parse(f"localhost:{registry.port}/org/absent:1"))
    assert err.value.status == 404 and "NAME_UNKNOWN" in err.value.reason
    assert f"org/absent on localhost:{registry.port}" in err.value.diagnostics()
    with pytest.raises(RegistryError) as missing_tag:
        client.digest(ref, "9.9.9")
    assert missing_tag.value.status == 404


@pytest.fixture(scope="module")
def token_images(token_registry: tuple[RegistryServer, TokenIssuer]) -> dict[str, str]:
    server, _ = token_registry
    with requests.Session() as s:
        pusher = Pusher(server.url, session=s, username=TOKEN_USER, password=TOKEN_PASSWORD)
        return {
            "public": pusher.image("public/app", "1.0.0"),
            "private": pusher.image("private/app", "1.0.0"),
        }


def test_anonymous_bearer_token_flow(
    token_registry: tuple[RegistryServer, TokenIssuer], token_images: dict[str, str], counted: Counted
) -> None:
    server, issuer = token_registry
    before = len(issuer.requests)
    client = OciRegistryClient(counted.session)
    ref = parse(f"localhost:{server.port}/public/app:1.0.0")
    assert client.list_tags(ref) == ("1.0.0",)
    assert client.digest(ref, "1.0.0") == token_images["public"]
    asked = issuer.requests[before:]
    assert len(asked) == 1, "the token is cached for the repository scope"
    assert asked[0]["authorization"] == "" and asked[0]["query"]["scope"] == ["repository:public/app:pull"]
    assert asked[0]["query"]["service"] == [issuer.service]


def test_private_repository_needs_credentials_from_docker_config(
    token_registry: tuple[RegistryServer, TokenIssuer], token_images: dict[str, str], tmp_path: Path, counted: Counted
) -> None:
    server, issuer = token_registry
    ref = parse(f"localhost:{server.port}/private/app:1.0.0")
    with pytest.raises(RegistryError) as err:
        OciRegistryClient(counted.session).list_tags(ref)
    assert err.value.status == 401
    auth = base64.b64encode(f"{TOKEN_USER}:{TOKEN_PASSWORD}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {f"localhost:{server.port}": {"auth": auth}}}))
    creds, _ = from_docker_config({"DOCKER_CONFIG": str(tmp_path)})
    client = OciRegistryClient(counted.session, credentials=creds.get)
    assert client.list_tags(ref) == ("1.0.0",)
    assert issuer.requests[-1]["authorization"] == f"Basic {auth}"
    assert TOKEN_PASSWORD not in repr(creds) and TOKEN_PASSWORD not in str(err.value.diagnostics())


def test_ready_token_from_the_environment_is_sent_as_bearer_once_the_registry_asks(
    token_registry: tuple[RegistryServer, TokenIssuer], token_images: dict[str, str], counted: Counted
) -> None:
    server, issuer = token_registry
    token = issuer.issue("repository:private/app:pull", authorized=True)
    before = len(issuer.requests)
    client = OciRegistryClient(counted.session, credentials={f"localhost:{server.port}": Credential(token=token)}.get)
    ref = parse(f"localhost:{server.port}/private/app:1.0.0")
    assert client.digest(ref, "1.0.0") == token_images["private"]
    # No secret before the challenge; then the ready token straight away, without asking the token service.
    assert [status for _, _, status in counted.calls] == [401, 200]
    assert counted.authorization == [None, f"Bearer {token}"]
    assert len(issuer.requests) == before


@pytest.mark.parametrize("header", [{"Retry-After": "1"}, {"RateLimit-Reset": "1"}])
def test_429_is_retried_after_the_servers_wait(
    many_tags: dict[str, str], counted: Counted, header: dict[str, str], front: Callable[..., Front]
) -> None:
    proxy = front(throttle=2, headers=header)
    client = OciRegistryClient(counted.session, mirrors={"docker.io": proxy.url})
    start = time.monotonic()
    assert client.digest(parse("many"), "1.3.0") == many_tags["1.3.0"]
    assert time.monotonic() - start >= 1.9, "two waits of one second each"
    assert proxy.seen == 3


def test_429_that_never_ends_becomes_a_registry_error(counted: Counted, front: Callable[..., Front]) -> None:
    proxy = front(throttle=100, headers={"Retry-After": "0"})
    client = OciRegistryClient(counted.session, mirrors={"docker.io": proxy.url})
    with pytest.raises(RegistryError) as err:
        client.list_tags(parse("many"))
    assert err.value.status == 429 and proxy.seen == 4  # the first try and three retries
    assert f"mirror {proxy.url}" in err.value.diagnostics()


def test_harbor_robot_account_from_the_environment_reaches_the_token_service_intact(
    token_registry: tuple[RegistryServer, TokenIssuer], token_images: dict[str, str], counted: Counted
) -> None:
    # `$` and `+` in a Harbor robot name must survive the variable, the Basic header and the token request.
    server, issuer = token_registry
    host = f"localhost:{server.port}"
    key = env_key(host)
    assert key is not None
    env = {
        f"CONTAINER_GATE_REGISTRY_{key}_USERNAME": TOKEN_USER,
        f"CONTAINER_GATE_REGISTRY_{key}_PASSWORD": TOKEN_PASSWORD,
    }
    creds, _ = collect(env, {host})
    assert TOKEN_USER.startswith("robot$") and creds[host].username == TOKEN_USER
    client = OciRegistryClient(counted.session, credentials=creds.get)
    assert client.digest(parse(f"{host}/private/app:1.0.0"), "1.0.0") == token_images["private"]
    expected = "Basic " + base64.b64encode(f"{TOKEN_USER}:{TOKEN_PASSWORD}".encode()).decode()
    assert issuer.requests[-1]["authorization"] == expected
