"""Fixtures that start Debian's real `docker-registry` (plain, and with token auth) for the test session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.registry.servers import (
    Front,
    RegistryServer,
    TokenIssuer,
    _make_issuer,
    _serve_issuer,
    require_registry,
    start_registry,
    stop,
)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A plain (no auth) registry for the whole session; tests use their own repository names."""
    server = start_registry(tmp_path_factory.mktemp("registry"))
    yield server
    stop(server)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, TokenIssuer]]:
    """A registry with `auth: token`, trusting a token issuer served from the test process."""
    require_registry()
    tmp = tmp_path_factory.mktemp("token-registry")
    issuer, bundle = _make_issuer(tmp)
    issuer.server = _serve_issuer(issuer)
    auth = {
        "token": {
            "realm": issuer.realm,
            "service": issuer.service,
            "issuer": issuer.issuer,
            "rootcertbundle": str(bundle),
        }
    }
    server = start_registry(tmp, auth)
    yield server, issuer
    stop(server)
    issuer.server.shutdown()
    issuer.server.server_close()


@pytest.fixture
def front(registry: RegistryServer) -> Iterator[Callable[..., Front]]:
    """Factory for `Front` servers before the session registry; closes them after the test."""
    made: list[Front] = []

    def make(**kwargs: Any) -> Front:
        made.append(Front(registry.url, **kwargs))
        return made[-1]

    yield make
    for f in made:
        f.close()
