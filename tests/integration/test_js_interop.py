"""Cache interop with the official JavaScript client, `@huggingface/hub` (pinned in js/package.json).

Both directions, against the fake Hub:
- a cache written by `hfmodels fetch` is listed correctly by the JS `scanCacheDir`: every repo with
  its type and id, each revision with its refs, files, blobs and sizes, and no warning;
- files that JS `snapshotDownload` wrote into an empty cache are used by `hfmodels fetch` with no
  request at all, pass `hfmodels verify`, and `hfmodels lock` hashes them without downloading;
- files that hfmodels fetched are reused by JS `snapshotDownload` without a download.

The node modules are installed on first use with `npm ci` into js/node_modules (gitignored). The
test is skipped only if node or npm is missing (scripts/install-deps installs them).

Known limits of @huggingface/hub 2.17.5, not of hfmodels, that shape the assertions:
- `scanCacheDir` lists only the top-level files of a snapshot (`scanSnapshotDir` skips
  sub-folders) and only top-level refs (`refs/refs/pr/1` is skipped), so sub-folder files are
  checked here in Python, the same way (realpath of the snapshot entry = the blob);
- `snapshotDownload` puts paths into URLs without encoding them, so it cannot download names with
  `#` or `?`: test-org/weird-paths is only used in the hfmodels -> JS direction.
"""

import fcntl
import functools
import json
import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

from support import HubTestCase, sha256_of

JS_DIR = Path(__file__).resolve().parent / "js"
PACKAGE = "@huggingface/hub"


@functools.lru_cache(maxsize=None)
def node_tools():
    """(node, npm) once the pinned client is installed in js/node_modules; raises SkipTest if
    node or npm is missing. Quick when already installed: no npm call at all."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise unittest.SkipTest("node and npm are not installed (scripts/install-deps installs them)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout
    match = re.match(r"v(\d+)", version.strip())
    if not match or int(match.group(1)) < 18:
        raise unittest.SkipTest(f"{PACKAGE} needs node 18 or later, this is {version.strip() or 'unknown'}")

    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"][PACKAGE]
    installed_manifest = JS_DIR / "node_modules" / PACKAGE / "package.json"
    # npm writes node_modules/.package-lock.json on install; older than package-lock.json means
    # the lock changed since.
    hidden_lock = JS_DIR / "node_modules" / ".package-lock.json"

    def installed():
        return (installed_manifest.is_file()
                and json.loads(installed_manifest.read_text()).get("version") == pinned
                and hidden_lock.is_file()
                and hidden_lock.stat().st_mtime >= (JS_DIR / "package-lock.json").stat().st_mtime)

    if installed():
        return node, npm
    # Test modules run side by side (ctest -j): one `npm ci` at a time, and a module that waited
    # finds the install done.
    with open(JS_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed():
            result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error",
                                     "--omit=optional", "--ignore-scripts"],
                                    cwd=JS_DIR, capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                raise RuntimeError(f"`npm ci` in {JS_DIR} failed ({result.returncode}):\n"
                                   f"{result.stdout}\n{result.stderr}")
            if not installed():
                raise RuntimeError(f"`npm ci` did not install {PACKAGE} {pinned}")
    return node, npm


def world_commit_files(hub, repo, revision, kind="model"):
    """{path: file entry} of the commit `revision` names in the fake Hub's world."""
    commit = hub.commit_id(repo, revision, type=kind)
    for described in hub.describe()["repos"]:
        if described["id"] == repo and described["type"] == kind:
            for entry in described["commits"].values():
                if entry["id"] == commit:
                    return commit, entry["files"]
    raise KeyError(f"{kind} {repo}@{revision} is not in the world")


class JsTestCase(HubTestCase):
    """A HubTestCase that can run the official JS client (no tests of its own)."""

    @classmethod
    def setUpClass(cls):
        cls.node, _ = node_tools()
        super().setUpClass()

    def run_node(self, script, *args, check=True):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
               "LC_ALL": "C.UTF-8", "NO_COLOR": "1"}
        result = subprocess.run([self.node, str(JS_DIR / script), *map(str, args)], cwd=JS_DIR,
                                env=env, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            self.fail(f"node {script} {' '.join(map(str, args))} exited {result.returncode}\n"
                      f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def js_scan(self, cache):
        return json.loads(self.run_node("scan.mjs", cache).stdout)

    def js_snapshot(self, cache, repo, revision=None, kind="model"):
        name = repo if kind == "model" else f"{kind}s/{repo}"
        args = [cache, self.hub.endpoint, name] + ([revision] if revision else [])
        last = self.run_node("snapshot.mjs", *args).stdout.strip().splitlines()[-1]
        return Path(json.loads(last)["snapshot"])


class JsInteropTest(JsTestCase):

    def cache_state(self, cache):
        """Every entry under the cache: a symlink's target, a ref's content, or (size, inode,
        mtime) of any other file. Refs are compared by content: clients rewrite them freely."""
        state = {}
        for path in sorted(Path(cache).rglob("*")):
            rel = str(path.relative_to(cache))
            if path.is_symlink():
                state[rel] = ("link", os.readlink(path))
            elif path.is_file() and "/refs/" in rel:
                state[rel] = ("ref", path.read_bytes())
            elif path.is_file():
                st = path.stat()
                state[rel] = ("file", st.st_size, st.st_ino, st.st_mtime_ns)
        return state

    def downloads(self, requests):
        """File downloads in a request log: resolve calls on the Hub and anything on the CDN."""
        return [f"{r['listener']} {r['method']} {r['path']}" for r in requests["requests"]
                if r["listener"] == "cdn" or "/resolve/" in r["path"] or "/resolve-cache/" in r["path"]]

    # ---- hfmodels -> JS ------------------------------------------------------------------------

    # name: (repo, kind, revision, manifest lines, which world files the entry selects)
    MODELS = {
        "tiny": ("test-org/tiny-model", "model", "main", [], None),
        "squad": ("test-datasets/tiny-dataset", "dataset", "main", ["type: dataset"], None),
        "weird": ("test-org/weird-paths", "model", "main", [], None),
        "gguf": ("test-org/tiny-gguf", "model", "main", ["quant: Q4_K_M"],
                 lambda path: path == "model-Q4_K_M.gguf"),
        "gguf_split": ("test-org/tiny-gguf", "model", "main", ["quant: Q5_K_M"],
                       lambda path: path.startswith("Q5_K_M/")),
        "root": ("tiny-root-model", "model", "main", [], None),
        "old": ("test-org/versioned", "model", "v1", ["revision: v1"], None),
        "new": ("test-org/versioned", "model", "next", ["revision: next"], None),
    }

    def write_models(self, names):
        lines = ["models:"]
        for name in names:
            repo, _, _, extra, _ = self.MODELS[name]
            lines += [f"  {name}:", f"    repo: {repo}"] + [f"    {line}" for line in extra]
        self.write_manifest("\n".join(lines) + "\n")

    def expected_cache(self, names):
        """{(kind, repo): {commit: {"refs": set, "files": {path: world entry}}}} for `names`."""
        expected = {}
        for name in names:
            repo, kind, revision, _, select = self.MODELS[name]
            commit, files = world_commit_files(self.hub, repo, revision, kind)
            revisions = expected.setdefault((kind, repo), {})
            entry = revisions.setdefault(commit, {"refs": set(), "files": {}})
            entry["refs"].add(revision)
            entry["files"].update({p: f for p, f in files.items() if select is None or select(p)})
        return expected

    def test_scan_cache_dir_lists_a_cache_written_by_hfmodels(self):
        names = list(self.MODELS)
        self.write_models(names)
        self.run_tool("lock", "-q", check=0)
        self.run_tool("fetch", "-q", check=0)
        self.run_tool("verify", check=0)
        expected = self.expected_cache(names)
        cache = Path(os.path.realpath(self.cache))

        # The layout in full, sub-folders included, as the JS scanner resolves it (realpath).
        for (kind, repo), revisions in expected.items():
            repo_dir = cache / f"{kind}s--{repo.replace('/', '--')}"
            for commit, entry in revisions.items():
                for path, world in entry["files"].items():
                    link = repo_dir / "snapshots" / commit / path
                    self.assertTrue(link.is_symlink(), f"{link} is not a symlink")
                    self.assertFalse(os.path.isabs(os.readlink(link)), f"{link} is not relative")
                    self.assertEqual(Path(os.path.realpath(link)), repo_dir / "blobs" / world["etag"])
                    self.assertEqual(link.stat().st_size, world["size"])
                    self.assertEqual(sha256_of(link), world["sha256"])
                for ref in entry["refs"]:
                    self.assertEqual((repo_dir / "refs" / ref).read_bytes(), commit.encode())

        scan = self.js_scan(cache)
        self.assertEqual(scan["warnings"], [], "scanCacheDir reported corrupted repos")
        repos = {(r["id"]["type"], r["id"]["name"]): r for r in scan["repos"]}
        self.assertEqual(set(repos), set(expected))

        total = 0
        for key, revisions in expected.items():
            kind, repo = key
            with self.subTest(repo=repo):
                found = repos[key]
                repo_dir = cache / f"{kind}s--{repo.replace('/', '--')}"
                self.assertEqual(Path(found["path"]), repo_dir)
                self.assertEqual({r["commitOid"] for r in found["revisions"]}, set(revisions))
                blobs = {}
                for revision in found["revisions"]:
                    commit = revision["commitOid"]
                    entry = revisions[commit]
                    snapshot = repo_dir / "snapshots" / commit
                    self.assertEqual(Path(revision["path"]), snapshot)
                    self.assertEqual(set(revision["refs"]), entry["refs"])
                    # JS lists the top-level files of a snapshot only (see the module docstring).
                    top = {p: f for p, f in entry["files"].items() if "/" not in p}
                    listed = {str(Path(f["path"]).relative_to(snapshot)): f for f in revision["files"]}
                    self.assertEqual(set(listed), set(top))
                    for path, world in top.items():
                        blob = listed[path]["blob"]
                        self.assertEqual(Path(blob["path"]), repo_dir / "blobs" / world["etag"], path)
                        self.assertEqual(blob["size"], world["size"], path)
                        blobs[blob["path"]] = blob["size"]
                    self.assertEqual(revision["size"], sum(f["size"] for f in top.values()))
                self.assertEqual(found["filesCount"], len(blobs))
                self.assertEqual(found["size"], sum(blobs.values()))
                total += found["size"]
        self.assertEqual(scan["size"], total)
        # main is among the refs of every repo locked at main.
        for name, (repo, kind, revision, _, _) in self.MODELS.items():
            if revision == "main":
                found = repos[(kind, repo)]
                self.assertIn("main", [ref for r in found["revisions"] for ref in r["refs"]], name)

    def test_scan_ignores_what_hfmodels_leaves_beside_the_repos(self):
        """CACHEDIR.TAG, .locks/ and the state a failed download leaves must not make JS warn."""
        self.write_models(["tiny"])
        self.run_tool("lock", "-q", check=0)
        self.hub.add_fault({"action": "corrupt", "offset": 100, "listener": "cdn",
                            "match": "model.safetensors", "times": -1})
        self.run_tool("fetch", "-q", check=4)  # the LFS file arrives corrupted every time
        self.hub.clear_faults()
        self.assertFalse((self.snapshot("test-org/tiny-model") / "model.safetensors").exists())
        scan = self.js_scan(self.cache)
        # A repo without refs yet is what JS calls corrupted (it stats refs/ unconditionally);
        # accept that only if refs/ is really absent, otherwise there must be no warning.
        refs = self.repo_dir("test-org/tiny-model") / "refs"
        if refs.exists():
            self.assertEqual(scan["warnings"], [])
        self.run_tool("fetch", "-q", check=0)
        scan = self.js_scan(self.cache)
        self.assertEqual(scan["warnings"], [])
        self.assertEqual([r["id"] for r in scan["repos"]], [{"name": "test-org/tiny-model", "type": "model"}])
        files = {Path(f["path"]).name for f in scan["repos"][0]["revisions"][0]["files"]}
        self.assertEqual(files, set(world_commit_files(self.hub, "test-org/tiny-model", "main")[1]))

    # ---- JS -> hfmodels ------------------------------------------------------------------------

    JS_REPOS = [  # (model name, repo, kind, revision, manifest lines): no `#` or `?` in paths
        ("tiny", "test-org/tiny-model", "model", "main", []),
        ("squad", "test-datasets/tiny-dataset", "dataset", "main", ["type: dataset"]),
        ("gguf", "test-org/tiny-gguf", "model", "main", []),
        ("split", "test-org/tiny-gguf", "model", "main", ["quant: Q5_K_M"]),
        ("old", "test-org/versioned", "model", "v1", ["revision: v1"]),
        ("root", "tiny-root-model", "model", "main", []),
    ]

    def js_manifest(self):
        lines = ["models:"]
        for name, repo, _, _, extra in self.JS_REPOS:
            lines += [f"  {name}:", f"    repo: {repo}"] + [f"    {line}" for line in extra]
        self.write_manifest("\n".join(lines) + "\n")

    def js_download_all(self):
        snapshots = {}
        for name, repo, kind, revision, _ in self.JS_REPOS:
            if (repo, kind, revision) not in snapshots.values():
                snapshots[name] = self.js_snapshot(self.cache, repo, revision, kind)
        return snapshots

    def test_hfmodels_fetch_uses_files_written_by_js_snapshot_download(self):
        self.js_manifest()
        # Lock against a cache of its own, so that the JS cache below starts empty.
        self.run_tool("lock", "-q", "--cache-dir", self.root / "lock-cache", check=0)
        locked = self.lockfile().read_bytes()

        self.assertFalse(self.cache.exists())
        snapshots = self.js_download_all()
        before = self.cache_state(self.cache)
        self.assertTrue(any(kind == "link" for kind, *_ in before.values()), "JS made no symlinks")

        self.hub.reset_requests()
        result = self.run_tool("fetch", check=0)
        requests = self.requests()
        self.assertEqual(requests["total"], 0, f"fetch sent requests: {requests['counts']}")
        self.assertNotIn("fetched", result.stderr + result.stdout)
        self.run_tool("verify", check=0)
        self.assertEqual(self.request_count(), 0)
        # Nothing JS wrote was replaced or re-linked (refs included).
        after = self.cache_state(self.cache)
        self.assertEqual({k: v for k, v in after.items() if k in before}, before)

        for name, snapshot in snapshots.items():
            path = self.run_tool("path", name, check=0).stdout.strip()
            self.assertEqual(Path(path), snapshot, name)
        status = self.run_tool("status", check=0).stdout
        for name, *_ in self.JS_REPOS:
            self.assertRegex(status, rf"(?m)^\s*{name}\b.*\bcached\b", status)
        self.assertEqual(self.request_count(), 0)

        # Offline works too: everything locked is in the JS-written cache.
        self.run_tool("fetch", "--offline", check=0)
        self.assertEqual(self.lockfile().read_bytes(), locked)

    def test_hfmodels_lock_hashes_files_written_by_js_without_downloading(self):
        self.js_manifest()
        self.run_tool("lock", "-q", "--cache-dir", self.root / "lock-cache", check=0)
        reference = self.lockfile().read_bytes()
        self.lockfile().unlink()
        self.js_download_all()

        self.hub.reset_requests()
        self.run_tool("lock", "-q", check=0)
        self.assertEqual(self.downloads(self.requests()), [], "lock downloaded files JS had cached")
        self.assertEqual(self.lockfile().read_bytes(), reference,
                         "the lock made from JS-cached files differs from one made from the Hub")
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        self.assertEqual(self.request_count(), 0)

    # ---- hfmodels -> JS snapshotDownload -------------------------------------------------------

    def test_js_snapshot_download_reuses_files_fetched_by_hfmodels(self):
        self.write_models(["tiny", "squad", "old"])
        self.run_tool("lock", "-q", check=0)
        self.run_tool("fetch", "-q", check=0)
        before = self.cache_state(self.cache)

        self.hub.reset_requests()
        for name in ["tiny", "squad", "old"]:
            repo, kind, revision, _, _ = self.MODELS[name]
            snapshot = self.js_snapshot(self.cache, repo, revision, kind)
            self.assertEqual(snapshot, Path(self.run_tool("path", name, check=0).stdout.strip()))
        self.assertEqual(self.downloads(self.requests()), [], "JS downloaded files hfmodels had cached")

        after = self.cache_state(self.cache)
        self.assertEqual({k: v for k, v in after.items() if k in before}, before)
        self.assertEqual(self.js_scan(self.cache)["warnings"], [])
        self.run_tool("verify", check=0)


if __name__ == "__main__":
    unittest.main()
