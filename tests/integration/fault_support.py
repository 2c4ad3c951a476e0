"""Helpers shared by the fault, concurrency, disk and secrets tests (issue 4): running hfmodels in
the background, waiting for a partial download to appear, and checking that the cache holds only
complete, verified files.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

from support import HubTestCase, HubTestCaseExtras, sha256_of, walk_all

LARGE = "test-org/large-model"
TINY = "test-org/tiny-model"
WEIGHTS = "weights.dat"  # 12 MB, LFS: from the CDN
SAFETENSORS = "model.safetensors"  # 24 MB, LFS: from the CDN

LARGE_MANIFEST = """
    models:
      large:
        repo: test-org/large-model
"""
WEIGHTS_MANIFEST = """
    models:
      large:
        repo: test-org/large-model
        files: [weights.dat]
"""
TWO_MODELS_MANIFEST = """
    models:
      large:
        repo: test-org/large-model
      tiny:
        repo: test-org/tiny-model
"""

# A temporary of a download in progress or left behind, in any tool's naming.
PARTIAL_SUFFIXES = (".incomplete", ".part", ".tmp")
# With the download engine's record of what a partial holds (`<partial>.ranges`).
TEMP_SUFFIXES = PARTIAL_SUFFIXES + (".ranges",)


def range_start(request):
    """The first byte a logged request asked for (`Range: bytes=N-` or `bytes=N-M`), or None
    without a Range."""
    value = request["range"]
    return None if value is None else int(value[len("bytes="):].split("-")[0])


def throttle(hub, bytes_per_sec, match=WEIGHTS):
    """Slows every CDN answer for `match` down, so a test can act in the middle of it."""
    hub.add_fault({"action": "bandwidth", "bytes_per_sec": bytes_per_sec, "listener": "cdn",
                   "match": match, "times": -1})


class FaultTestCase(HubTestCaseExtras, HubTestCase):
    """HubTestCase with background runs and cache checks."""

    def setUp(self):
        super().setUp()
        self.processes = []

    def tearDown(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            for stream in (process.stdout, process.stderr):
                if stream:
                    stream.close()
        super().tearDown()

    def lock(self, manifest=LARGE_MANIFEST, separate_cache=False):
        """Writes the manifest and locks it. With `separate_cache`, the regular files that
        `lock` downloads to learn their sha256 go to another cache, so a fetch afterwards has
        every file to download."""
        self.write_manifest(manifest)
        env = self.env(HF_HUB_CACHE=str(self.root / "lock-cache")) if separate_cache else None
        self.run_tool("lock", env=env, check=0)
        self.hub.reset_requests()

    def start(self, *args, env=None):
        """Starts hfmodels in the background (stdout/stderr captured)."""
        process = subprocess.Popen([self.binary, *map(str, args)], cwd=self.project,
                                   env=env or self.env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.processes.append(process)
        return process

    def finish(self, process, timeout=120):
        out, err = process.communicate(timeout=timeout)
        return process.returncode, out, err

    def blobs(self, repo=LARGE):
        return self.repo_dir(repo) / "blobs"

    def partials(self, repo=LARGE, etag=None):
        """Partial downloads in blobs/ (of blob `etag` only, if given), as {path: size}; their
        records are not counted."""
        folder = self.blobs(repo)
        found = {}
        if not folder.is_dir():
            return found
        for entry in os.scandir(folder):
            if entry.name.endswith(PARTIAL_SUFFIXES) and (etag is None or entry.name.startswith(etag)):
                try:
                    found[Path(entry.path)] = entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    pass  # renamed or removed just now
        return found

    def wait_for_partial(self, process, minimum, repo=LARGE, etag=None, timeout=30):
        """Waits until a partial download of at least `minimum` bytes exists; returns its size."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sizes = self.partials(repo, etag).values()
            if sizes and max(sizes) >= minimum:
                return max(sizes)
            if process.poll() is not None:
                self.fail(f"hfmodels ended ({process.returncode}) before {minimum} bytes arrived:\n"
                          f"{process.stderr.read()}")
            time.sleep(0.01)
        self.fail(f"no partial download of {minimum} bytes within {timeout} s")

    def cdn_gets(self, path, repo=LARGE):
        """The CDN requests for `path` of `repo`, in order (the LFS bytes)."""
        sha = self.hub.file(repo, path).sha256
        return [r for r in self.requests()["requests"]
                if r["listener"] == "cdn" and r["method"] == "GET" and r["path"].endswith(sha)]

    def resolve_gets(self, path, repo=LARGE):
        """The Hub's /resolve/ GETs for `path` of `repo`: one per download attempt."""
        return [r for r in self.requests()["requests"]
                if r["listener"] == "hub" and r["method"] == "GET" and "/resolve/" in r["path"]
                and r["path"].startswith(f"/{repo}/") and r["path"].endswith("/" + path)]

    def assert_complete(self, name="large", repo=LARGE):
        """Every locked file of `name` is linked, complete and has its locked sha256; nothing
        partial is left in blobs/."""
        model = self.read_lock()["models"][name]
        snapshot = self.repo_dir(repo) / "snapshots" / model["commit"]
        for locked in model["files"]:
            link = snapshot / locked["path"]
            self.assertTrue(link.is_symlink(), locked["path"])
            self.assertEqual(link.stat().st_size, locked["size"], locked["path"])
            self.assertEqual(sha256_of(link), locked["sha256"], locked["path"])
        self.assertEqual(self.partials(repo), {})
        self.run_tool("verify", name, check=0)

    def assert_not_linked(self, path, name="large", repo=LARGE):
        """Neither the snapshot entry nor the blob of `path` exists."""
        model = self.read_lock()["models"][name]
        locked = {f["path"]: f for f in model["files"]}[path]
        link = self.repo_dir(repo) / "snapshots" / model["commit"] / path
        self.assertFalse(os.path.lexists(link), f"{path} appeared under snapshots/")
        self.assertFalse((self.blobs(repo) / locked["etag"]).exists(), f"blob of {path} exists")

    def assert_snapshots_hold_no_temporaries(self):
        for path in walk_all(self.cache):
            if "snapshots" in path.parts:
                self.assertFalse(path.name.endswith(TEMP_SUFFIXES), path)

    def interrupt(self, process, sig=signal.SIGINT):
        """Sends `sig`; returns (seconds until the process ended, returncode, stdout, stderr)."""
        sent = time.monotonic()
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
        return time.monotonic() - sent, process.returncode, out, err
