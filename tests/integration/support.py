"""Shared fixtures for the integration tests: the real hfmodels binary against the fake Hub.

Every test gets a fresh temporary home (HOME, HF_HOME, the cache, a project folder with
models.yaml) and an environment with no token and no proxy, so nothing leaks in from the
machine. The fake Hub is started once per test class, on 127.0.0.1.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path.insert(0, str(TESTS / "fakehub"))

from fakehub import FakeHub  # noqa: E402

TEST_WORLD = TESTS / "fakehub" / "worlds" / "test.json"
DEMO_WORLD = TESTS / "fakehub" / "worlds" / "demo.json"


def hfmodels_binary():
    binary = os.environ.get("HFMODELS_BIN")
    if not binary or not Path(binary).is_file():
        raise unittest.SkipTest("HFMODELS_BIN does not name the built hfmodels binary")
    return binary


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class HubTestCase(unittest.TestCase):
    """A test class with one fake Hub and, per test, a clean home, cache and project folder."""

    world = TEST_WORLD

    @classmethod
    def setUpClass(cls):
        cls.binary = hfmodels_binary()
        cls.hub = FakeHub(str(cls.world))
        cls.hub.start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def setUp(self):
        self.root = Path(tempfile.mkdtemp(prefix="hfmodels-test-"))
        self.home = self.root / "home"
        self.hf_home = self.home / ".cache" / "huggingface"
        self.cache = self.hf_home / "hub"
        self.project = self.root / "project"
        self.project.mkdir(parents=True)
        self.hub.clear_faults()
        self.hub.reset_requests()

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    # The environment of one run: only what the test gives, never the machine's HF_* or proxies.
    def env(self, **extra):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "HF_HOME": str(self.hf_home),
            "HF_ENDPOINT": self.hub.endpoint,
            "LC_ALL": "C.UTF-8",
        }
        for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update({k: v for k, v in extra.items() if v is not None})
        return env

    def run_tool(self, *args, env=None, cwd=None, timeout=300, check=None):
        """Runs hfmodels; `check` is the expected exit code (None: don't check)."""
        result = subprocess.run(
            [self.binary, *map(str, args)],
            cwd=cwd or self.project,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check is not None and result.returncode != check:
            self.fail(
                f"hfmodels {' '.join(map(str, args))} exited {result.returncode}, expected {check}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def write_manifest(self, text, folder=None):
        path = (folder or self.project) / "models.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def lockfile(self, folder=None):
        return (folder or self.project) / "models.lock"

    def requests(self):
        return self.hub.requests()

    def settled(self, read, done, timeout=5.0):
        """Calls `read()` until `done(value)` holds or `timeout` passes, and returns the value.
        The fake Hub finishes a request's log entry (status, bytes) after the client may already
        have everything, so assertions on the last request's entry must wait for it."""
        deadline = time.monotonic() + timeout
        value = read()
        while not done(value) and time.monotonic() < deadline:
            time.sleep(0.05)
            value = read()
        return value

    def request_count(self):
        return self.hub.requests()["total"]

    def repo_dir(self, repo, kind="model"):
        return self.cache / (f"{kind}s--" + repo.replace("/", "--"))

    def snapshot(self, repo, revision="main", kind="model"):
        return self.repo_dir(repo, kind) / "snapshots" / self.hub.commit_id(repo, revision, type=kind)

    def json_lines(self, text):
        return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- Helpers added for the issue-2 integration tests (lock, fetch, offline, auth, verify, commands).

# Lockfile scalars: hfmodels writes plain or double-quoted YAML scalars (the escapes yaml-cpp used).
_YAML_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f",
                 "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
                 "_": "\xa0", "L": "\u2028", "P": "\u2029"}


def _yaml_scalar(text):
    text = text.strip()
    if text.startswith('"'):
        assert text.endswith('"') and len(text) >= 2, f"unterminated scalar {text!r}"
        body, out, i = text[1:-1], [], 0
        while i < len(body):
            c = body[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            e = body[i + 1]
            width = {"x": 2, "u": 4, "U": 8}.get(e)
            if width:
                out.append(chr(int(body[i + 2:i + 2 + width], 16)))
                i += 2 + width
            else:
                out.append(_YAML_ESCAPES[e])
                i += 2
        # \x escapes of UTF-8 bytes come out as latin-1 code points: put the bytes back together.
        joined = "".join(out)
        try:
            return joined.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return joined
    if text.startswith("'"):
        assert text.endswith("'") and len(text) >= 2, f"unterminated scalar {text!r}"
        return text[1:-1].replace("''", "'")
    if text.isdigit():
        return int(text)
    return text


def parse_lockfile(text):
    """Reads the models.lock layout hfmodels writes (no PyYAML in the stdlib):
    {"version": 1, "models": {name: {"repo", "type", "revision", "commit", "manifest",
    "files": [{"path", "size", "sha256", "etag"}, ...]}}, "order": [model names as written]}."""
    result = {"models": {}, "order": []}
    model = None
    entry = None
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if indent == 0:
            key, _, value = line.partition(":")
            if value.strip():
                result[key] = _yaml_scalar(value)
        elif indent == 2:
            name = _yaml_scalar(line[:-1]) if line.endswith(":") else line
            model = {"files": []}
            result["models"][name] = model
            result["order"].append(name)
        elif indent == 4:
            key, _, value = line.partition(":")
            if key != "files":
                model[key] = _yaml_scalar(value)
        elif indent == 6 and line.startswith("- "):
            entry = {}
            model["files"].append(entry)
            key, _, value = line[2:].partition(":")
            entry[key] = _yaml_scalar(value)
        elif indent == 8:
            key, _, value = line.partition(":")
            entry[key] = _yaml_scalar(value)
        else:
            raise AssertionError(f"unexpected lockfile line: {raw!r}")
    return result


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def walk_all(root):
    """Every entry under root (files, folders, symlinks; symlinks are not followed)."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.append(Path(folder) / name)
    return found


class HubTestCaseExtras:
    """Mixin for HubTestCase: lockfile reading, ref restoring and request assertions."""

    def read_lock(self, folder=None):
        return parse_lockfile(self.lockfile(folder).read_text(encoding="utf-8"))

    def locked_files(self, name, folder=None):
        return {f["path"]: f for f in self.read_lock(folder)["models"][name]["files"]}

    def move_ref(self, repo, ref, commit, kind="branch", type="model"):
        """Moves a ref on the shared fake Hub and puts it back when the test ends."""
        before = self.hub.repo(repo, type)
        table = {"branch": before.branches, "tag": before.tags, "pr": before.prs}[kind]
        original = table.get(ref)
        self.addCleanup(self.hub.move_ref, repo, ref, original, kind=kind, type=type)
        return self.hub.move_ref(repo, ref, commit, kind=kind, type=type)

    def assert_no_requests(self, what=""):
        counts = self.hub.requests()
        self.assertEqual(counts["total"], 0,
                         f"{what}: expected no request, got {counts['counts']}")

    def request_paths(self):
        return [r["path"] for r in self.hub.requests()["requests"]]
