"""Path-gated rules: the Hyperscan path matcher agrees with `re.search` on every path."""

from __future__ import annotations

import re

import pytest

from secretkeeper.engine.pathmatch import PathMatcher
from secretkeeper.rules import load_builtin_rules

PATHS = [
    ".env", "app/.env.production", "deploy/prod.env", "src/environment.py", "home/u/.aws/credentials",
    "x/.aws/config", "credentials", "aws_credentials", "a/b/settings.py", "proj/settings/prod.py",
    "proj/settings/sub/prod.py", "kubeconfig", "ops/admin.kubeconfig", ".kube/config", "kube-config.yml",
    "etc/shadow", "etc/shadow-", "etc/shadowsocks.conf", "config/master.key", "config/credentials/prod.key",
    "site/wp-config.php", "site/wp-config-sample.php", "terraform.tfstate.backup", "a.tfstate.old",
    ".npmrc", "npmrc", "x.npmrc", ".netrc", "_netrc", "café/.env", "dir/naïve.env", "plain.txt",
    "", "/", "a//b/.pgpass", "my.ini", ".my.cnf", "app/auth.json", "Settings.PY",
]


def test_catalog_paths_match_like_re(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    patterns = [r.path_pattern for r in load_builtin_rules() if r.path]
    for cached in (False, True, True):  # compiled, then stored, then loaded from the cache
        matcher = PathMatcher(patterns, use_cache=cached)
        for path in PATHS:
            assert matcher.matching(path) == [i for i, p in enumerate(patterns) if p.search(path)], path
    assert list(tmp_path.glob("paths-*.db"))


def test_patterns_hyperscan_cannot_run_still_match(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    patterns = [re.compile(r"(?<!test/)secrets\.ini$"), re.compile(r"(?i)(^|/)vault\.json$"),
                re.compile(r"(^|/)naïve\.cfg$")]
    matcher = PathMatcher(patterns)
    assert matcher.matching("app/secrets.ini") == [0]
    assert matcher.matching("test/secrets.ini") == []
    assert matcher.matching("a/VAULT.JSON") == [1]
    assert matcher.matching("x/naïve.cfg") == [2]


def test_matcher_survives_pickling(tmp_path, monkeypatch) -> None:
    import pickle

    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    matcher = pickle.loads(pickle.dumps(PathMatcher([re.compile(r"(^|/)\.pypirc$")])))
    assert matcher.matching("home/.pypirc") == [0] and matcher.matching("home/pypirc") == []


@pytest.mark.parametrize("patterns", [[], [re.compile(r"\.env$")]])
def test_without_hyperscan_falls_back_to_re(patterns, monkeypatch) -> None:
    import secretkeeper.engine.pathmatch as pm

    monkeypatch.setattr(pm, "hyperscan", None)
    matcher = pm.PathMatcher(patterns)
    assert matcher.matching("prod.env") == ([0] if patterns else [])
