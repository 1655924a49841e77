"""Git history scanning on real repositories built by each test (scanners/git/, `scan` history modes).

Every planted credential is a synthetic token minted at run time; every git call is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import make_token, run_cli

RULE = "github-pat-classic"
GIT_TIMEOUT = 60

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


class Repo:
    """A throwaway repository with deterministic identities and dates."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        self.tick = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []))

    def env(self) -> dict[str, str]:
        self.tick += 1
        date = f"2024-01-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00+00:00"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update({"GIT_AUTHOR_NAME": "Ada Dev", "GIT_AUTHOR_EMAIL": "ada@example.com",
                    "GIT_COMMITTER_NAME": "Ada Dev", "GIT_COMMITTER_EMAIL": "ada@example.com",
                    "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(self.path)})
        return env

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        proc = subprocess.run(["git", "-C", str(self.path), *args], input=input, capture_output=True,
                              env=self.env(), timeout=GIT_TIMEOUT, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args[:2])} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str | bytes, content: str | bytes) -> None:
        path = Path(os.fsdecode(self.path)) / os.fsdecode(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, message: str, files: dict | None = None, *, remove: tuple[str, ...] = ()) -> str:
        for rel, content in (files or {}).items():
            self.write(rel, content)
        for rel in remove:
            self.git("rm", "-r", "-q", "--", rel)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def scan(*args: str | os.PathLike[str], code: int | None = None) -> dict:
    res = run_cli(["scan", *[str(a) for a in args], "-f", "json"])
    assert res.exception is None, res.exception
    if code is not None:
        assert res.code == code, res.output
    return json.loads(res.stdout)


def leaks(doc: dict) -> list[dict]:
    return sorted((f for f in doc["findings"] if f["rule_id"] == RULE),
                  key=lambda f: (f["location"]["path"], f["location"].get("commit", "")))


def by_path(doc: dict) -> dict[str, dict]:
    return {f["location"]["path"]: f for f in leaks(doc)}


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


# -- the correctness cases ----------------------------------------------------------------------
def test_added_then_deleted_is_reported_at_introducing_commit(repo):
    token = make_token()
    repo.commit("init", {"README.md": "hello\n"})
    intro = repo.commit("add config", {"deploy/app.txt": f"DEBUG=1\n\nGITHUB_TOKEN={token}\n"})
    repo.commit("remove config", remove=("deploy/app.txt",))
    res = run_cli(["scan", repo.path, "-f", "json"])
    assert res.code == 1, res.output
    assert token not in res.output
    doc = json.loads(res.stdout)
    [f] = leaks(doc)
    loc = f["location"]
    assert loc == {"source": "git", "path": "deploy/app.txt", "line": 3, "commit": intro,
                   "author": "Ada Dev", "email": "ada@example.com", "date": loc["date"]}
    assert loc["date"].startswith("2024-01-")
    assert f["extra"]["in_head"] is False
    assert "rewriting history is optional" in f["remediation"]
    assert doc["summary"]["commits"] == 3 and doc["summary"]["blobs"] >= 2


def test_still_in_head_reported_once_with_history_attribution(repo):
    token = make_token()
    repo.commit("init", {"README.md": "hello\n"})
    intro = repo.commit("add", {"app.txt": f"TOKEN={token}\n"})
    repo.commit("unrelated", {"README.md": "hello again\n"})
    doc = scan(repo.path, code=1)
    [f] = leaks(doc)  # not once from the working tree and once from history
    assert f["location"]["commit"] == intro and f["extra"]["in_head"] is True
    assert "rotate it and remove it" in f["remediation"]
    no_hist = scan(repo.path, "--no-history", code=1)
    [w] = leaks(no_hist)
    assert w["location"]["source"] == "file" and w["fingerprint"] == f["fingerprint"]


def test_moved_to_another_line_and_another_file(repo):
    token = make_token()
    first = repo.commit("add", {"a.conf": f"x=1\nTOKEN={token}\n"})
    repo.commit("move down", {"a.conf": f"x=1\ny=2\nz=3\nTOKEN={token}\n"})
    moved = repo.commit("move file", {"b.conf": f"# moved\nTOKEN={token}\n", "a.conf": "x=1\n"})
    found = by_path(scan(repo.path, code=1))
    assert set(found) == {"a.conf", "b.conf"}
    assert found["a.conf"]["location"]["commit"] == first and found["a.conf"]["location"]["line"] == 2
    assert found["a.conf"]["extra"]["in_head"] is False
    assert found["b.conf"]["location"]["commit"] == moved and found["b.conf"]["location"]["line"] == 2
    assert found["b.conf"]["extra"]["in_head"] is True


def _conflicting_merge(repo, resolution: dict[str, str], conflicted: str = "notes.txt") -> str:
    """Two branches change `conflicted`; the merge's resolution writes `resolution` (path -> text; the
    conflicted file gets "bc" unless given). Returns the merge's commit id."""
    repo.commit("base", {conflicted: "a\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side", {conflicted: "b\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main", {conflicted: "c\n"})
    repo.git("merge", "-q", "side", "-m", "merge side", check=False)  # conflicts
    for path, text in {conflicted: "bc\n", **resolution}.items():
        repo.write(path, text)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-edit")
    assert len(repo.git("rev-list", "--parents", "-n1", "HEAD").split()) == 3
    return repo.git("rev-parse", "HEAD")


def _merge_writes(repo, path: str, text: str) -> str:
    """A conflicting merge whose resolution also writes `text` at `path` (new in the merge)."""
    return _conflicting_merge(repo, {path: text})


def test_secret_in_merge_resolution(repo):
    token = make_token()
    merge = _conflicting_merge(repo, {"settings.ini": f"mode=bc\nTOKEN={token}\n"}, conflicted="settings.ini")
    [f] = leaks(scan(repo.path, code=1))
    assert f["location"]["commit"] == merge and f["location"]["line"] == 2


def test_attribution_across_merges(repo):
    """Merges are read only where they wrote new content (`-c`): a secret that arrives only in a merge
    resolution is the merge's; one from a --no-ff merged and then deleted branch is its branch commit's;
    a file renamed on a branch keeps both paths' introducing commits; the same secret in two files is
    reported at each."""
    resolved, branch_only, renamed_tok, twice = make_token(), make_token(), make_token(), make_token()
    base = repo.commit("base", {"settings.ini": "mode=a\n", "svc/old.cfg": f"TOKEN={renamed_tok}\n"})
    # 1. only through a merge resolution (both sides changed the line; the resolution adds the token)
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side", {"settings.ini": "mode=b\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main", {"settings.ini": "mode=c\n"})
    repo.git("merge", "-q", "side", "-m", "merge side", check=False)
    repo.write("settings.ini", f"mode=bc\nTOKEN={resolved}\n")
    repo.git("add", "settings.ini")
    repo.git("commit", "-q", "--no-edit")
    resolution = repo.git("rev-parse", "HEAD")
    # 2. on a branch merged with --no-ff, then deleted; 3. a rename on that branch
    repo.git("checkout", "-q", "-b", "topic")
    on_branch = repo.commit("topic", {"topic/keys.txt": f"TOKEN={branch_only}\n"})
    repo.git("mv", "svc/old.cfg", "svc/new.cfg")
    rename = repo.commit("rename on topic")
    repo.git("checkout", "-q", "main")
    repo.commit("main moves on", {"README.md": "x\n"})
    repo.git("merge", "-q", "--no-ff", "topic", "-m", "merge topic")
    repo.git("branch", "-q", "-D", "topic")
    # 4. the same secret in two files, added by two commits
    first = repo.commit("one", {"a/one.env": f"TOKEN={twice}\n"})
    second = repo.commit("two", {"b/two.env": f"X=1\nTOKEN={twice}\n"})
    found = by_path(scan(repo.path, code=1))
    assert found["settings.ini"]["location"]["commit"] == resolution
    assert found["settings.ini"]["location"]["line"] == 2
    assert found["topic/keys.txt"]["location"]["commit"] == on_branch
    assert found["svc/old.cfg"]["location"]["commit"] == base and found["svc/old.cfg"]["extra"]["in_head"] is False
    assert found["svc/new.cfg"]["location"]["commit"] == rename and found["svc/new.cfg"]["extra"]["in_head"]
    assert (found["a/one.env"]["location"]["commit"], found["b/two.env"]["location"]["commit"]) == (first, second)
    assert found["b/two.env"]["location"]["line"] == 2
    assert found["a/one.env"]["secret_sha256"] == found["b/two.env"]["secret_sha256"]
    assert len(found) == 6


def test_same_blob_at_two_paths_added_by_one_merge(repo):
    """A blob already attributed at one path is not looked for again in merges."""
    token = make_token()
    merge = _conflicting_merge(repo, {"a.txt": f"TOKEN={token}\n", "copy.txt": f"TOKEN={token}\n"}, conflicted="a.txt")
    found = by_path(scan(repo.path, code=1))
    assert {p: f["location"]["commit"] for p, f in found.items()} == {"a.txt": merge, "copy.txt": merge}


def test_unmerged_branch_and_tag_only_commit(repo):
    on_branch, on_tag = make_token(), make_token()
    repo.commit("init", {"README.md": "hi\n"})
    repo.git("checkout", "-q", "-b", "abandoned")
    branch_commit = repo.commit("wip", {"wip.txt": f"TOKEN={on_branch}\n"})
    repo.git("checkout", "-q", "main")
    tag_commit = repo.commit("release", {"release.txt": f"TOKEN={on_tag}\n"})
    repo.git("tag", "-a", "v1", "-m", "v1")
    repo.git("reset", "-q", "--hard", "HEAD~1")  # the commit now lives only under the tag
    doc = scan(repo.path, code=1)
    found = by_path(doc)
    assert found["wip.txt"]["location"]["commit"] == branch_commit
    assert found["release.txt"]["location"]["commit"] == tag_commit
    assert all(f["extra"]["in_head"] is False for f in found.values())
    only_main = by_path(scan(repo.path, "--branch", "main", code=0))
    assert only_main == {}


def test_file_under_deleted_directory(repo):
    token = make_token()
    intro = repo.commit("add", {"old/deep/dir/creds.txt": f"user=svc\ntoken: {token}\n"})
    repo.commit("drop dir", remove=("old",))
    [f] = leaks(scan(repo.path, code=1))
    assert f["location"]["path"] == "old/deep/dir/creds.txt" and f["location"]["commit"] == intro


def test_secret_data_in_history_is_decoded_and_sealed_ciphertext_is_not_judged(repo):
    """A Secret committed with base64 data and deleted later is found in history as in the tree (decoded,
    at its key's line); SealedSecret ciphertext under secret-like names is no finding there either."""
    import base64
    import random

    token = make_token()
    encoded = base64.b64encode(token.encode()).decode()
    rng = random.Random(7)
    cipher = "AgB" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                             for _ in range(300))
    repo.commit("init", {"README.md": "hello\n"})
    intro = repo.commit("add manifests", {
        "k8s/gh.yaml": f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: gh\ntype: Opaque\ndata:\n  token: {encoded}\n",
        "k8s/sealed.yaml": ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: pay\nspec:\n"
                            f"  encryptedData:\n    STRIPE_SECRET_KEY: {cipher}\n    DB_PASSWORD: {cipher[::-1]}\n"),
    })
    repo.commit("drop the plain secret", remove=("k8s/gh.yaml",))
    doc = scan(repo.path, code=1)
    found = [(f["rule_id"], f["location"]["path"], f["location"]["line"], f["location"]["commit"]) for f in leaks(doc)]
    assert found == [("github-pat-classic", "k8s/gh.yaml", 7, intro)]
    assert token not in json.dumps(doc) and encoded not in json.dumps(doc)


def test_binary_looking_text_is_scanned_and_real_binary_is_skipped(repo):
    token, hidden = make_token(), make_token()
    looks_binary = b"\x89PNG\r\n\x1a\n\xff\xfe\x01\x02" + f"\nTOKEN={token}\n".encode() + bytes(range(1, 9))
    real_binary = b"\x00\x01\x02" + f"TOKEN={hidden}\n".encode()
    repo.commit("add", {"assets/notes.txt": looks_binary, "assets/blob.txt": real_binary})
    doc = scan(repo.path, code=1)
    assert set(by_path(doc)) == {"assets/notes.txt"}
    assert doc["summary"]["skipped"].get("binary", 0) >= 1


def test_renamed_file(repo):
    token = make_token()
    intro = repo.commit("add", {"conf/old.txt": f"TOKEN={token}\n"})
    repo.git("mv", "conf/old.txt", "conf/new.txt")
    renamed = repo.commit("rename")
    found = by_path(scan(repo.path, code=1))
    assert found["conf/old.txt"]["location"]["commit"] == intro
    assert found["conf/old.txt"]["extra"]["in_head"] is False
    assert found["conf/new.txt"]["location"]["commit"] == renamed
    assert found["conf/new.txt"]["extra"]["in_head"] is True
    assert found["conf/old.txt"]["secret_sha256"] == found["conf/new.txt"]["secret_sha256"]


def test_submodule_pointer_is_skipped(repo, tmp_path):
    token = make_token()
    repo.commit("add", {"app.txt": f"TOKEN={token}\n"})
    missing = "1234567890abcdef1234567890abcdef12345678"  # a commit this repository does not have
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{missing},vendor/lib")
    repo.git("commit", "-q", "-m", "submodule")
    doc = scan(repo.path, code=1)
    assert set(by_path(doc)) == {"app.txt"}
    assert doc["summary"]["warnings"] == []


def test_shallow_clone_warns_and_since_missing_base_exits_2(repo, tmp_path):
    token = make_token()
    first = repo.commit("one", {"a.txt": "a\n"})
    repo.commit("two", {"b.txt": f"TOKEN={token}\n"})
    repo.commit("three", {"c.txt": "c\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True,
                   capture_output=True, timeout=GIT_TIMEOUT, env=repo.env())
    doc = scan(clone, code=1)
    assert any("shallow" in w for w in doc["summary"]["warnings"])
    res = run_cli(["scan", str(clone), "--since", first, "-f", "json"])
    assert res.code == 2, res.output
    assert "unknown revision" in res.stderr and "git fetch --unshallow" in res.stderr
    assert "Traceback" not in res.output


def test_corrupt_object_is_reported_and_skipped(repo):
    token, other = make_token(), make_token()
    repo.commit("good", {"good.txt": f"TOKEN={token}\n"})
    repo.commit("bad", {"bad.txt": f"TOKEN={other}\nmore\n"})
    bad = repo.git("rev-parse", "HEAD:bad.txt")
    obj = repo.path / ".git" / "objects" / bad[:2] / bad[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"x\x9c this is not a zlib stream" * 4)
    res = run_cli(["scan", str(repo.path), "--no-progress", "-f", "json"])
    assert res.code == 1, res.output  # findings, not a fatal error
    doc = json.loads(res.stdout)
    assert "good.txt" in by_path(doc)
    assert any(bad in w for w in doc["summary"]["warnings"])
    assert doc["summary"]["skipped"].get("corrupt", 0) + doc["summary"]["skipped"].get("missing", 0) >= 1


def test_non_utf8_path(repo):
    token = make_token()
    name = b"caf\xe9-secrets.txt"
    intro = repo.commit("add", {name: f"TOKEN={token}\n"})
    repo.commit("rm", remove=(os.fsdecode(name),))
    res = run_cli(["scan", str(repo.path), "-f", "json"])
    assert res.code == 1, res.output
    [f] = leaks(json.loads(res.stdout))
    assert f["location"]["path"] == "caf\\xe9-secrets.txt" and f["location"]["commit"] == intro
    text = run_cli(["scan", str(repo.path)])  # the text report prints it without crashing
    assert text.code == 1 and text.exception is None and "caf" in text.stdout


def test_bare_repository_and_mirror_history_only(repo, tmp_path):
    token = make_token()
    intro = repo.commit("add", {"app.txt": f"TOKEN={token}\n"})
    for flag in ("--bare", "--mirror"):
        dest = tmp_path / f"clone{flag}"
        subprocess.run(["git", "clone", "-q", flag, str(repo.path), str(dest)], check=True, capture_output=True,
                       timeout=GIT_TIMEOUT, env=repo.env())
        doc = scan(dest, code=1)
        [f] = leaks(doc)
        assert f["location"]["commit"] == intro and f["extra"]["in_head"] is True
        assert doc["summary"]["files"] == 0  # the object store is not scanned as files


def test_stash_only_with_flag(repo):
    token = make_token()
    repo.commit("init", {"app.txt": "TOKEN=\n"})
    repo.write("app.txt", f"TOKEN={token}\n")
    repo.git("stash", "-q")
    assert leaks(scan(repo.path, code=0)) == []
    [f] = leaks(scan(repo.path, "--stash", code=1))
    assert f["location"]["path"] == "app.txt" and f["extra"]["in_head"] is False


# -- CI modes ---------------------------------------------------------------------------------------------
def test_since_scans_only_new_content(repo):
    old, new = make_token(), make_token()
    repo.commit("old leak", {"old.txt": f"TOKEN={old}\n"})
    base = repo.commit("base", {"README.md": "x\n"})
    repo.git("checkout", "-q", "-b", "pr")
    intro = repo.commit("pr leak", {"new.txt": f"TOKEN={new}\n"})
    doc = scan(repo.path, "--since", base, code=1)
    assert set(by_path(doc)) == {"new.txt"}
    assert by_path(doc)["new.txt"]["location"]["commit"] == intro
    assert doc["summary"]["files"] == 0  # no working-tree sweep in CI mode
    assert doc["summary"]["blobs"] == 1 and doc["summary"]["commits"] == 1  # cost: only the new content
    clean = scan(repo.path, "--since", "pr", code=0)
    assert leaks(clean) == []
    res = run_cli(["scan", str(repo.path), "--since", "no-such-ref"])
    assert res.code == 2 and "unknown revision" in res.stderr


def test_staged_scans_only_the_index(repo):
    committed, staged, unstaged = make_token(), make_token(), make_token()
    repo.commit("old", {"old.txt": f"TOKEN={committed}\n"})
    repo.write("new.txt", f"A=1\nTOKEN={staged}\n")
    repo.git("add", "new.txt")
    repo.write("notyet.txt", f"TOKEN={unstaged}\n")
    res = run_cli(["scan", str(repo.path), "--staged", "-f", "json"])
    assert res.code == 1, res.output
    [f] = leaks(json.loads(res.stdout))
    assert f["location"]["path"] == "new.txt" and f["location"]["line"] == 2
    assert "commit" not in f["location"]
    assert staged not in res.output and committed not in res.output


def test_staged_outside_a_repository_is_a_usage_error(tmp_path):
    (tmp_path / "plain").mkdir()
    res = run_cli(["scan", str(tmp_path / "plain"), "--staged"])
    assert res.code == 2 and "git repository" in res.stderr


# -- fingerprints, equality with the file scan, parallelism ----------------------------------------------
def test_fingerprint_survives_history_rewrite(repo, tmp_path):
    token = make_token()
    repo.commit("init", {"README.md": "x\n"})
    repo.commit("leak", {"app.txt": f"TOKEN={token}\n"})
    repo.commit("more", {"other.txt": "y\n"})
    before = leaks(scan(repo.path, code=1))[0]
    repo.git("reset", "-q", "--soft", "HEAD~2")  # squash the two commits
    repo.git("commit", "-q", "-m", "squashed")
    after = leaks(scan(repo.path, "--branch", "main", code=1))[0]
    assert after["location"]["commit"] != before["location"]["commit"]
    assert after["fingerprint"] == before["fingerprint"]


def test_history_matches_working_tree_rule_for_rule(repo, tmp_path):
    tokens = [make_token() for _ in range(4)]
    files = {
        "a/app.env": f"GITHUB_TOKEN={tokens[0]}\n",  # a credential file by name (path-gated rules)
        "b/config.yaml": f"auth:\n  token: {tokens[1]}\n  other: {tokens[2]}\n",
        "c/notes.md": f"ignored {tokens[3]}  # secretkeeper:allow\n",
        "d/aws.ini": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
        "e/plain.txt": "nothing here\n",
    }
    repo.commit("all", files)
    as_files = scan(repo.path, "--no-history")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True, capture_output=True,
                   timeout=GIT_TIMEOUT, env=repo.env())
    as_history = scan(bare)

    def key(doc: dict) -> set[tuple]:
        return {(f["rule_id"], f["location"]["path"], f["location"]["line"], f["secret_sha256"], f["fingerprint"])
                for f in doc["findings"]}

    assert key(as_files) == key(as_history)
    assert len(leaks(as_history)) >= 2  # the allowlisted line is dropped in both


def test_parallel_readers_give_the_same_findings(repo, monkeypatch):
    from secretkeeper import workers

    tokens = [make_token() for _ in range(20)]  # > 16 blobs: the regex search of the walk
    for i, t in enumerate(tokens):
        repo.commit(f"c{i}", {f"svc{i % 3}/app{i}.txt": f"N={i}\n" + "filler line\n" * (i * 50) + f"TOKEN={t}\n"})
    serial = leaks(scan(repo.path, "--jobs", "1", code=1))
    monkeypatch.setattr(workers, "INLINE_BYTES", 0)  # a pool even for this small repository
    parallel = leaks(scan(repo.path, "--jobs", "2", code=1))
    assert len(serial) == 20
    assert [(f["location"], f["fingerprint"]) for f in serial] == [(f["location"], f["fingerprint"]) for f in parallel]


def test_no_findings_means_no_attribution_walk(repo, monkeypatch):
    from scanners.git.attribution import IntroWalk

    for i in range(5):
        repo.commit(f"c{i}", {f"f{i}.txt": f"clean {i}\n"})
    import secretkeeper.pipeline as scan_mod

    real_build = scan_mod.build_detector

    def without_path_rules(*args, **kwargs):  # path-gated rules need names, which the walk provides
        detector = real_build(*args, **kwargs)
        detector.path_rules = []
        return detector

    monkeypatch.setattr(scan_mod, "build_detector", without_path_rules)
    started = []
    real_start = IntroWalk.start
    monkeypatch.setattr(IntroWalk, "start", lambda self: started.append(1) or real_start(self))
    doc = scan(repo.path, code=0)
    assert doc["summary"]["blobs"] == 5 and started == []
    repo.commit("leak", {"x.txt": f"TOKEN={make_token()}\n"})
    scan(repo.path, code=1)
    assert started  # the walk runs only when there is something to attribute


def test_pre_commit_hooks_use_real_flags():
    yaml = pytest.importorskip("ruamel.yaml")
    hooks_file = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"
    hooks = yaml.YAML(typ="safe").load(hooks_file.read_text())
    ids = {h["id"]: h for h in hooks}
    assert ids["secretkeeper"]["entry"].startswith("secretkeeper scan --staged")
    assert ids["secretkeeper"]["pass_filenames"] is False


def test_pre_commit_style_run_blocks_staged_leak_without_printing_it(repo):
    token = make_token()
    repo.commit("init", {"README.md": "x\n"})
    repo.write("config.py", f'TOKEN = "{token}"\n')
    repo.git("add", "config.py")
    res = run_cli(["scan", "--staged", "--quiet"], cwd=repo.path)
    assert res.code == 1 and token not in res.output and "config.py" in res.stdout
    repo.git("reset", "-q")
    clean = run_cli(["scan", "--staged", "--quiet"], cwd=repo.path)
    assert clean.code == 0, clean.output


def test_path_gated_rule_in_history(repo, tmp_path):
    """A credential file recognised by name is found in history (and only at that name)."""
    cfg = tmp_path / "sk.yaml"
    cfg.write_text(
        "scan:\n"
        "  rules:\n"
        "    - id: test-credfile-value\n"
        "      description: value in a test credential file\n"
        "      severity: high\n"
        "      regex: 'value\\s*=\\s*(?P<secret>[A-Za-z0-9]{24,})'\n"
        "      path: '(^|/)creds\\.ini$'\n"
    )
    value = make_token()[4:28]  # 24 random alphanumerics
    intro = repo.commit("creds", {"conf/creds.ini": f"[x]\nvalue = {value}\n", "conf/other.ini": f"value = {value}\n"})
    repo.commit("rm", remove=("conf/creds.ini",))
    res = run_cli(["scan", str(repo.path), "-c", str(cfg), "-f", "json"])
    assert res.code == 1, res.output
    found = [f for f in json.loads(res.stdout)["findings"] if f["rule_id"] == "test-credfile-value"]
    assert [(f["location"]["path"], f["location"]["line"], f["location"]["commit"]) for f in found] == [
        ("conf/creds.ini", 2, intro)]
    assert found[0]["extra"]["in_head"] is False and value not in res.output


def test_credential_file_written_only_by_a_merge_is_named_and_attributed(repo):
    """A credential file that no ordinary commit adds is named by the merge walk (`-c`): its weak
    password, which only the credential-file rules report, is found at the merge."""
    merge = _merge_writes(repo, "deploy/.pgpass", "db.internal:5432:app:app:hunter22\n")
    repo.commit("drop it", remove=("deploy/.pgpass",))
    found = [f for f in scan(repo.path, code=1)["findings"] if f["location"]["path"] == "deploy/.pgpass"]
    assert found and {f["location"]["commit"] for f in found} == {merge}
    assert "hunter22" not in json.dumps(found)
    assert all(f["extra"]["in_head"] is False for f in found)


def test_the_walks_name_blobs_one_path_at_a_time(repo):
    """Both walks name blobs in threads of their own; the verdict they share (a Hyperscan path matcher, whose
    scratch space allows one scan at a time) is never entered by both at once."""
    import threading
    import time

    from scanners.git.attribution import IntroWalk
    from scanners.git.repo import find_repo

    _merge_writes(repo, "merged/only.cfg", "x = 1\n")
    for i in range(40):
        repo.commit(f"c{i}", {f"d{i % 7}/f{i}.cfg": f"v = {i}\n", f"d{i % 5}/g{i}.txt": f"w = {i}\n"})
    inside, overlaps, seen = [0], [], []
    guard = threading.Lock()

    def keep(path: str) -> bool:
        with guard:
            inside[0] += 1
            if inside[0] > 1:
                overlaps.append(path)
        time.sleep(0.002)
        with guard:
            inside[0] -= 1
            seen.append(path)
        return path.endswith(".cfg")

    git_repo = find_repo(repo.path)
    walk = IntroWalk(git_repo, ["refs/heads/main", "refs/heads/side"], None)
    try:
        walk.prefetch(keep)
        names, commits = walk.named([])
    finally:
        walk.close()
    assert overlaps == [] and "merged/only.cfg" in seen
    assert sorted(p.decode() for p in names.values()) == sorted({"merged/only.cfg", *(f"d{i % 7}/f{i}.cfg" for i in range(40))})
    assert commits == int(repo.git("rev-list", "--count", "--all"))


def test_a_walk_that_fails_part_way_is_walked_again_for_attribution(repo, monkeypatch):
    """A walk whose reader stops early (here: naming raises) leaves a partial spool: it is not read as the
    whole history (which would attribute findings to the wrong commits); attribution walks again, and the
    summary warns that names may be missing."""
    from scanners.git import names

    token = make_token()
    first = repo.commit("add", {"svc/app.env": f"TOKEN={token}\n"})
    for i in range(30):
        repo.commit(f"c{i}", {f"f{i}.txt": f"n={i}\n"})
    real = names.RawNames.feed
    calls = []

    def flaky(self, window):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(self, window)

    monkeypatch.setattr(names.RawNames, "feed", flaky)
    doc = scan(repo.path, code=1)
    [f] = leaks(doc)
    assert f["location"]["commit"] == first and f["location"]["path"] == "svc/app.env"
    assert any("credential files may be missed" in w for w in doc["summary"]["warnings"])


def test_without_a_temp_file_the_walks_name_and_attribute_all_the_same(repo, monkeypatch):
    """The walks are spooled to an unlinked temp file for attribution; where none can be made (a full or
    read-only temp dir) they still name the blobs, and attribution walks the history again."""
    import scanners.git.attribution as attribution

    token = make_token()
    merge = _merge_writes(repo, "svc/.netrc", "machine api.internal login deploy password s3cr3t-Pass\n")
    repo.commit("token", {"app.env": f"TOKEN={token}\n"})
    spooled = scan(repo.path, code=1)["findings"]
    assert {f["location"]["commit"] for f in spooled if f["location"]["path"] == "svc/.netrc"} == {merge}
    assert {f["location"]["path"] for f in spooled} == {"svc/.netrc", "app.env"}

    def no_temp(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(attribution.tempfile, "TemporaryFile", no_temp)
    walked = scan(repo.path, code=1)["findings"]
    assert [(f["location"], f["fingerprint"]) for f in walked] == [(f["location"], f["fingerprint"]) for f in spooled]
    assert token not in json.dumps(walked)


def test_path_gated_scan_by_name_only_where_a_path_rule_could_match(repo, monkeypatch):
    """Names come from the attribution walk; a named blob is scanned with its name only if a path rule for that
    name matches somewhere in it (the gate); every other blob is read once, without a name."""
    import scanners.git.content as content

    secret = make_token()[4:28]
    plain = {f"src/m{i}.c": f"int f{i}(void) {{ return {i}; }}\n" for i in range(5)}
    repo.commit("c sources", {**plain, "src/keys.h": f'#define API_SECRET "{secret}"\n'})
    repo.commit("drop the key", remove=("src/keys.h",))
    passed: list[str] = []
    real = content._could_match

    def spy(detector, path, data):
        ok = real(detector, path, data)
        if ok:
            passed.append(path)
        return ok

    monkeypatch.setattr(content, "_could_match", spy)
    doc = scan(repo.path, "--jobs", "1", code=1)
    assert passed == ["src/keys.h"]
    [f] = [f for f in doc["findings"] if f["rule_id"] == "c-define-secret"]
    assert f["location"]["path"] == "src/keys.h" and f["extra"]["in_head"] is False


def test_table_cells_in_deleted_files_and_in_ci_modes(repo):
    """A CSV export deleted later: its password column is read in history as in the working tree, in the
    full-history scan (names from the attribution walk) and with --since (names from rev-list)."""
    password = "Xk9#mQ2vLp7"  # synthetic
    base = repo.commit("init", {"README.md": "hello\n"})
    intro = repo.commit("export", {"exports/users.csv": f"id,username,password\n1,ann,{password}\n"})
    repo.commit("remove export", remove=("exports/users.csv",))
    for extra in ((), ("--since", base)):
        res = run_cli(["scan", repo.path, "-f", "json", *extra])
        assert res.code == 1, res.output
        assert password not in res.output
        [f] = [f for f in json.loads(res.stdout)["findings"] if f["rule_id"] == "generic-password-assignment"]
        assert (f["location"]["path"], f["location"]["line"], f["location"]["commit"]) == ("exports/users.csv", 2, intro)


def test_excluded_paths_are_left_out_of_history_as_of_the_working_tree(repo):
    """`scan.exclude` globs and the default excluded directories drop history findings at those paths."""
    token = make_token()
    repo.commit("add", {"app.txt": f"TOKEN={token}\n", "ui/x.snap": f"TOKEN={token}\n",
                        "node_modules/lib/conf.js": f"TOKEN={token}\n",
                        ".secretkeeper.yaml": "scan:\n  exclude: ['*.snap']\n"})
    assert [f["location"]["path"] for f in leaks(scan(repo.path, code=1))] == ["app.txt"]
    repo.commit("no default excludes", {".secretkeeper.yaml": "scan:\n  default_excludes: false\n"})
    assert {f["location"]["path"] for f in leaks(scan(repo.path, code=1))} == {
        "app.txt", "ui/x.snap", "node_modules/lib/conf.js"}


@pytest.mark.parametrize("mode", [("--staged",), (), ("--no-history",)])
def test_a_repository_cannot_make_the_scan_run_its_fsmonitor_hook(repo, tmp_path, mode):
    """The checkout's git config is the attacker's: `core.fsmonitor` names a program that git runs when it
    refreshes the index (`git status` does; `diff-index` under --staged did)."""
    marker = tmp_path / "hook-ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho ran >> {marker}\n")
    hook.chmod(0o755)
    repo.commit("first", {"a.txt": "hello\n"})
    repo.write("b.txt", f"token = {make_token()}\n")
    repo.git("add", "b.txt")
    repo.git("config", "core.fsmonitor", str(hook))  # last: the test's own git commands would run it
    res = run_cli(["scan", repo.path, *mode, "-f", "json"])
    assert res.code == 1, res.output
    assert not marker.exists()


@pytest.mark.parametrize("many", [False, True], ids=["few-blobs", "many-blobs"])
def test_attribution_search_is_the_same_with_and_without_hyperscan(repo, monkeypatch, many):
    """The walk's search for the blobs with findings (one Hyperscan pass; `bytes.find` or a regex without
    Hyperscan) attributes every finding to the same commit and path either way."""
    from scanners.git import attribution

    count = 20 if many else 3  # more than 16 blobs: the regex fallback
    for i in range(count):
        repo.commit(f"c{i}", {f"d{i % 2}/f{i}.txt": f"v={i}\nTOKEN={make_token()}\n"})
    repo.commit("copy", {"copy/f0.txt": (Path(repo.path) / "d0/f0.txt").read_text()})
    if attribution.hyperscan is None:
        pytest.skip("hyperscan is not installed: only the fallback runs")
    found = [(f["location"]["path"], f["location"]["commit"]) for f in leaks(scan(repo.path, code=1))]
    monkeypatch.setattr(attribution, "hyperscan", None)
    assert [(f["location"]["path"], f["location"]["commit"]) for f in leaks(scan(repo.path, code=1))] == found
    assert len(found) == count + 1  # the copy is a new (path, secret): reported at the commit that made it
