"""Building the forge clients the CLI passes in: base URL rules, tokens from the environment, retries.

Plain http is allowed only to loopback (a local fake or proxy), by the rule every credential-carrying
client of the gate follows (`gate.urls`). Tokens are read here and handed to the client library; they never appear
in argv, messages or exceptions of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gate.urls import credential_url_problem, is_loopback_host
from remediate.forge import ForgeError
from remediate.forge.gitremote import redact

if TYPE_CHECKING:
    import github
    import gitlab

RETRY_STATUSES = (429, 500, 502, 503, 504)


def check_api_url(url: str, what: str) -> str:
    """`url` without a trailing slash; an error naming the flag when a token must not go there (`gate.urls`)."""
    problem = credential_url_problem(url)
    if problem is not None:
        raise ForgeError(f"{what} {redact(url)}: {problem}", fatal=True)
    return url.rstrip("/")


def token_from(env: Mapping[str, str], *names: str) -> str | None:
    """The first non-empty of the named variables."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def github_client(api_url: str, token: str | None) -> github.Github:
    """PyGithub on `api_url` (GitHub Enterprise Server: `https://HOST/api/v3`), REST only.

    Retries: PyGithub's own (5xx, primary and secondary rate limits as `Retry-After` and
    `x-ratelimit-reset` say) plus 429, bounded to 5 attempts and a 5 minute wait."""
    import github
    from github import Auth, GithubRetry

    local = is_loopback_host(urlsplit(api_url).hostname)
    retry = GithubRetry(
        secondary_rate_wait=60,
        max_rate_limit_wait=300,
        total=5,
        backoff_factor=0 if local else 1,
        status_forcelist=list(RETRY_STATUSES),
    )
    return github.Github(
        auth=Auth.Token(token) if token else None,
        base_url=api_url,
        retry=retry,
        per_page=100,
        timeout=30,
        lazy=True,
        # GitHub asks for a second between writes; a loopback server (a fake, a proxy) needs no spacing
        seconds_between_requests=0 if local else 0.25,
        seconds_between_writes=0 if local else 1.0,
    )


def gitlab_client(api_url: str, token: str | None, *, job_token: bool = False) -> gitlab.Gitlab:
    """python-gitlab on a GitLab instance URL (`https://gitlab.example.com`, without `/api/v4`)."""
    import gitlab

    url = api_url.removesuffix("/api/v4")
    kwargs: dict[str, object] = {"retry_transient_errors": True, "timeout": 30, "per_page": 100}
    if token and job_token:
        kwargs["job_token"] = token
    elif token:
        kwargs["private_token"] = token
    return gitlab.Gitlab(url, **kwargs)  # type: ignore[arg-type]
