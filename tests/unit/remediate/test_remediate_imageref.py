"""Reference normalisation follows Docker's `splitDockerDomain` (distribution/reference)."""

from __future__ import annotations

import pytest

from remediate.imageref import InvalidReference, api_host, is_loopback, locate, parse

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("alpine", "docker.io", "library/alpine", None, None),
        ("alpine:3.18.4", "docker.io", "library/alpine", "3.18.4", None),
        ("docker.io/library/nginx:1.25.3", "docker.io", "library/nginx", "1.25.3", None),
        ("index.docker.io/nginx:1.25", "docker.io", "library/nginx", "1.25", None),
        ("library/nginx:1.25.3", "docker.io", "library/nginx", "1.25.3", None),
        ("bitnami/redis:7.2.4", "docker.io", "bitnami/redis", "7.2.4", None),
        ("registry2.something.info:5005/node:8", "registry2.something.info:5005", "node", "8", None),
        ("localhost:5000/app:1.0.0", "localhost:5000", "app", "1.0.0", None),
        ("localhost/app:1.0.0", "localhost", "app", "1.0.0", None),
        ("Registry.Example/app:1.0", "Registry.Example", "app", "1.0", None),
        ("quay.io:443/prometheus/node-exporter:v1.7.0", "quay.io:443", "prometheus/node-exporter", "v1.7.0", None),
        (f"node:20.11.1@{D}", "docker.io", "library/node", "20.11.1", D),
        (f"gcr.io/distroless/java17@{D}", "gcr.io", "distroless/java17", None, D),
    ],
)
def test_parse_normalises_like_docker(text: str, registry: str, repository: str, tag: str, digest: str) -> None:
    ref = parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_familiar_name_and_str_round_trip() -> None:
    assert parse("docker.io/library/alpine:3.19").familiar == "alpine"
    assert str(parse(f"bitnami/redis:7@{D}")) == f"bitnami/redis:7@{D}"
    assert parse("ghcr.io/org/app:1").name == "ghcr.io/org/app"


@pytest.mark.parametrize("bad", ["", "Alpine:3", "alpine:", "alpine:3 ", "registry.io/UPPER:1", "a" * 64])
def test_invalid_references_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidReference):
        parse(bad)


def test_locate_tag_and_digest_spans() -> None:
    text = f"localhost:5000/app:1.0@{D}"
    where = locate(text)
    assert text[: where.name_end] == "localhost:5000/app"
    assert where.tag is not None and text[where.tag[0] : where.tag[1]] == "1.0"
    assert where.digest is not None and text[where.digest[0] : where.digest[1]] == D
    bare = locate("localhost:5000/app")
    assert bare.tag is None and bare.name_end == len("localhost:5000/app")


def test_api_host_and_loopback() -> None:
    assert api_host("docker.io") == "registry-1.docker.io"
    assert api_host("ghcr.io") == "ghcr.io"
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and is_loopback("[::1]:80")
    assert not is_loopback("example.com:5000") and not is_loopback("10.0.0.1")
