"""The docker tag scheme (Renovate's rules) on the research notes' cases A1-A3 and E1-E19."""

from __future__ import annotations

import pytest

from remediate.versioning import Range, Rules, candidates, jump, parse_tag


def best(current: str, tags: str, update: str = "minor", **kw: object) -> list[str]:
    cur = parse_tag(current)
    assert cur is not None
    return [c.tag for c in candidates(cur, tags.split(), Rules(update=update, **kw))]  # type: ignore[arg-type]


def test_release_and_suffix_split_at_first_dash() -> None:
    v = parse_tag("3.12.1-slim-bookworm")
    assert v is not None and v.release == (3, 12, 1) and v.suffix == "slim-bookworm" and v.stable
    rc = parse_tag("3.13.0rc1")
    assert rc is not None and rc.release == (3, 13, 0) and rc.pre == "rc1" and not rc.stable
    tagged = parse_tag("v1.7.0")
    assert tagged is not None and tagged.v and tagged.release == (1, 7, 0)
    build = parse_tag("21.0.2_13-jre-jammy")
    assert build is not None and build.release == (21, 0, 2, 13) and build.suffix == "jre-jammy"


@pytest.mark.parametrize("tag", ["latest", "edge", "lts-alpine", "0a1b2c3", "deadbeef", "ltsc2022", "jammy", "iron"])
def test_non_version_tags(tag: str) -> None:
    assert parse_tag(tag) is None


def test_a1_compatible_candidates_and_update_levels() -> None:
    tags = "3.18.4 3.18.6 3.19.1 3.20.3 3.20 3 latest edge 20240606"
    assert best("3.18.4", tags) == ["3.20.3", "3.19.1", "3.18.6"]
    assert best("3.18.4", tags, "patch") == ["3.18.6"]
    assert best("3.18.4", tags + " 4.0.0", "major")[0] == "4.0.0"


def test_a2_a3_precision_kept_and_dates_never_chosen() -> None:
    assert best("3.19", "3.19 3.19.1 3.20 3.20.3") == ["3.20"]
    assert best("3", "3 3.20 20240606 edge", "major") == []


def test_e1_suffix_must_match_and_prereleases_skipped() -> None:
    tags = "3.12.1-slim-bookworm 3.12.2-slim 3.12.2-slim-bookworm 3.13.0-slim-bookworm 3.13.0rc1-slim-bookworm"
    assert best("3.12.1-slim-bookworm", tags) == ["3.13.0-slim-bookworm", "3.12.2-slim-bookworm"]


def test_e3_e5_e6_prerelease_rules() -> None:
    assert best("1.21-alpine", "1.21-alpine 1.22-alpine 1.22.1-alpine 1.23-alpine 1.23-alpine3.20") == [
        "1.23-alpine",
        "1.22-alpine",
    ]
    assert best("3.8.0-alpine3.10", "3.8.0-alpine3.10 3.8.0b1-alpine3.10") == []
    assert best("3.13.0rc2-slim", "3.13.0rc2-slim 3.13.0rc3-slim 3.13.0-slim 3.13.1-slim") == [
        "3.13.1-slim",
        "3.13.0-slim",
        "3.13.0rc3-slim",
    ]
    assert best("3.13.0rc1", "3.13.0rc1 3.14.0rc1") == []


def test_v_prefix_build_numbers_dates_and_hashes() -> None:
    assert best("v1.7.0", "v1.7.0 v1.8.0 v1.8.2 v1.9.0-rc.0 1.9.0") == ["v1.8.2", "v1.8.0"]
    assert best("21.0.2_13-jre-jammy", "21.0.2_13-jre-jammy 21.0.3_9-jre-jammy 21.0.3_9-jre-noble") == [
        "21.0.3_9-jre-jammy"
    ]
    assert best("jammy-20240808", "jammy-20240808 jammy-20240911 noble-20240904") == ["jammy-20240911"]
    assert best("20240115", "20240115 20240201 3") == ["20240201"]
    assert best("2024.01", "2024.01 2024.03 2024.03.15") == ["2024.03"]
    assert best("1.0.0", "1.0.0 abcdef1 1.0.1") == ["1.0.1"]


def test_e8_e19_long_suffixes_never_switch_distro() -> None:
    tags = "1.18.1-erlang-27.2-ubuntu-noble-20241118.1 1.18.2-erlang-27.2-alpine-3.21.0"
    assert best("1.18.1-erlang-27.2-alpine-3.21.0", tags) == ["1.18.2-erlang-27.2-alpine-3.21.0"]
    assert best("2.440.1-lts-jdk17", "2.440.1-lts-jdk17 2.452.2-lts-jdk17 2.452.2-lts-jdk21") == ["2.452.2-lts-jdk17"]


def test_jump_levels() -> None:
    def lv(a: str, b: str) -> str:
        x, y = parse_tag(a), parse_tag(b)
        assert x is not None and y is not None
        return jump(x, y)

    assert (lv("1.2.3", "1.2.4"), lv("1.2.3", "1.3.0"), lv("1.2.3", "2.0.0")) == ("patch", "minor", "major")
    assert lv("1.21", "1.22") == "minor" and lv("8", "9") == "major"


def test_ignore_versions_and_allowed_range() -> None:
    tags = "3.11.9 3.12.5 3.12.7 3.13.1"
    assert best("3.11.9", tags, ignore_versions=("3.13.*",)) == ["3.12.7", "3.12.5"]
    assert best("3.11.9", tags, allowed=Range.parse(">=3.11,<3.13")) == ["3.12.7", "3.12.5"]
    assert best("3.11.9", tags, allowed=Range.parse("<3.12.6")) == ["3.12.5"]
    with pytest.raises(ValueError, match="not a version bound"):
        Range.parse("~3.12")


def test_dash_prerelease_words_are_prereleases_not_variants() -> None:
    rc = parse_tag("3.13.0-rc1-slim")
    assert rc is not None and rc.pre == "-rc1" and rc.suffix == "slim" and not rc.stable
    assert best("3.12.0-slim", "3.13.0-rc1-slim 3.12.1-slim") == ["3.12.1-slim"]
    assert best("3.13.0-rc1", "3.13.0-rc1 3.13.0-rc2 3.13.0 3.14.0-rc1") == ["3.13.0", "3.13.0-rc2"]
    assert best("1.0.0-beta.1", "1.0.0-beta.1 1.0.0-beta.2 1.0.0") == ["1.0.0", "1.0.0-beta.2"]
