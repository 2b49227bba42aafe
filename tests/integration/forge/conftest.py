"""A real registry with a few alpine tags, for the forge tests that go through the whole CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.integration.registry.oci import Pusher
from tests.integration.registry.servers import RegistryServer, start_registry, stop


@pytest.fixture(scope="session")
def alpine_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path_factory.mktemp("forge-registry"))
    with requests.Session() as s:
        pusher = Pusher(server.url, session=s)
        for tag in ("3.14", "3.19", "3.20"):
            pusher.image("library/alpine", tag, salt="forge")
        for tag in ("1.35.0", "1.36.1"):
            pusher.image("library/busybox", tag, salt="forge")
    yield server
    stop(server)
