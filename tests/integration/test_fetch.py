"""`hfmodels fetch`: the cache it builds, and what it costs when there is nothing to do (issue 2)."""

import os
import re
import unittest

from support import HubTestCase, HubTestCaseExtras, sha256_of, walk_all

MANIFEST = """
    models:
      tiny:
        repo: test-org/tiny-model
      weird:
        repo: test-org/weird-paths
      squad:
        repo: test-datasets/tiny-dataset
        type: dataset
      gguf:
        repo: test-org/tiny-gguf
        quant: Q5_K_M
"""
REPOS = {"tiny": ("test-org/tiny-model", "model"), "weird": ("test-org/weird-paths", "model"),
         "squad": ("test-datasets/tiny-dataset", "dataset"), "gguf": ("test-org/tiny-gguf", "model")}


class FetchTestCase(HubTestCaseExtras, HubTestCase):

    def lock(self, manifest=MANIFEST):
        self.write_manifest(manifest)
        self.run_tool("lock", check=0)
        self.hub.reset_requests()

    def assert_cached(self, name):
        """Every locked file of `name` is in the cache in the Python layout, with its locked bytes."""
        repo, kind = REPOS[name]
        model = self.read_lock()["models"][name]
        repo_dir = self.repo_dir(repo, kind)
        snapshot = repo_dir / "snapshots" / model["commit"]
        self.assertTrue(model["files"])
        for locked in model["files"]:
            path, etag = locked["path"], locked["etag"]
            expected = self.hub.file(repo, path, type=kind)
            self.assertEqual(etag, expected.etag)
            blob = repo_dir / "blobs" / etag
            self.assertTrue(blob.is_file() and not blob.is_symlink(), path)
            self.assertEqual(sha256_of(blob), locked["sha256"], path)
            self.assertEqual(blob.stat().st_size, locked["size"], path)
            # 40-hex git sha1 for regular files, 64-hex sha256 for LFS files.
            self.assertEqual(len(etag), 64 if expected.lfs else 40, path)
            link = snapshot / path
            self.assertTrue(link.is_symlink(), path)
            target = os.readlink(link)
            self.assertEqual(target, "../" * (2 + path.count("/")) + "blobs/" + etag, path)
            self.assertFalse(os.path.isabs(target))
            self.assertEqual(os.path.realpath(link), os.path.realpath(blob))
            self.assertEqual(sha256_of(link), locked["sha256"], path)
        ref = repo_dir / "refs" / model["revision"]
        self.assertEqual(ref.read_bytes(), model["commit"].encode())
        return model


class TestFetchLayout(FetchTestCase):

    def test_cache_layout(self):
        self.lock()
        self.run_tool("fetch", check=0)
        for name in REPOS:
            self.assert_cached(name)
        tag = self.cache / "CACHEDIR.TAG"
        self.assertTrue(tag.read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55"))
        leftovers = [p for p in walk_all(self.cache)
                     if p.name.endswith((".incomplete", ".part", ".tmp"))]
        self.assertEqual(leftovers, [])
        # Deepest weird path: seven ../ up from snapshots/<commit>/deep/a/b/c/d to the repo folder.
        commit = self.read_lock()["models"]["weird"]["commit"]
        deep = self.repo_dir("test-org/weird-paths") / "snapshots" / commit / "deep/a/b/c/d/e.txt"
        self.assertTrue(os.readlink(deep).startswith("../../../../../../../blobs/"))
        # Only the cache was written: the project holds the manifest and the lockfile.
        self.assertEqual(sorted(p.name for p in self.project.iterdir()),
                         ["models.lock", "models.yaml"])

    def test_second_fetch_is_silent_and_sends_nothing(self):
        self.lock()
        self.run_tool("fetch", check=0)
        self.hub.reset_requests()
        result = self.run_tool("fetch", check=0)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr, "")
        self.assert_no_requests("second fetch")
        for name in REPOS:
            self.assert_cached(name)

    def test_fetch_name_fetches_only_that_model(self):
        self.lock()
        self.run_tool("fetch", "gguf", check=0)
        self.assert_cached("gguf")
        paths = self.request_paths()
        self.assertTrue(paths)
        cdn = [r for r in self.requests()["requests"] if r["listener"] == "cdn"]
        self.assertEqual(len(cdn), 2, cdn)
        for r in self.requests()["requests"]:
            if r["listener"] == "hub":
                self.assertIn("/test-org/tiny-gguf/", r["path"], r)
        # The other models' weights are still missing.
        weights = self.hub.file("test-org/tiny-model", "model.safetensors")
        self.assertFalse((self.repo_dir("test-org/tiny-model") / "blobs" / weights.etag).exists())
        status = self.run_tool("status", "--json", check=0)
        states = {e["model"]: e["state"] for e in self.json_lines(status.stdout)}
        self.assertEqual(states["gguf"], "cached")
        self.assertEqual(states["tiny"], "missing")

    def test_lfs_bytes_come_from_the_cdn(self):
        self.lock("""
            models:
              tiny:
                repo: test-org/tiny-model
        """)
        self.run_tool("fetch", check=0)
        size = self.hub.file("test-org/tiny-model", "model.safetensors").size
        requests = self.settled(self.requests, lambda requests: any(
            r["listener"] == "cdn" and r["bytes"] == size for r in requests["requests"]))
        cdn = [r for r in requests["requests"] if r["listener"] == "cdn"]
        self.assertEqual(len(cdn), 1, cdn)
        self.assertIn("model.safetensors", cdn[0]["path"] + cdn[0]["query"])
        self.assertEqual(cdn[0]["bytes"], size)
        hub_paths = [r["path"] for r in requests["requests"] if r["listener"] == "hub"]
        self.assertTrue(any(p.endswith("/resolve/" + self.read_lock()["models"]["tiny"]["commit"]
                                       + "/model.safetensors") for p in hub_paths), hub_paths)
        # No metadata call: only the bytes.
        self.assertFalse(any(p.startswith("/api/models") for p in hub_paths), hub_paths)
        self.assert_cached("tiny")

    def test_jobs_one(self):
        self.lock()
        result = self.run_tool("-j", "1", "fetch", check=0)
        for name in REPOS:
            self.assert_cached(name)
        self.assertIn("Fetched", result.stderr)

    def test_fetch_into_empty_cache_after_lock_elsewhere(self):
        # A teammate's lockfile: the regular files are not in this cache either.
        self.lock()
        other_cache = self.root / "other-cache"
        result = self.run_tool("fetch", "tiny", env=self.env(HF_HUB_CACHE=str(other_cache)),
                               check=0)
        self.assertIn("tiny/config.json", result.stderr)
        model = self.read_lock()["models"]["tiny"]
        snapshot = other_cache / "models--test-org--tiny-model" / "snapshots" / model["commit"]
        for locked in model["files"]:
            self.assertEqual(sha256_of(snapshot / locked["path"]), locked["sha256"])
        # No metadata requests: every file was fetched straight from its resolve URL.
        self.assertFalse(any(p.startswith("/api/models/") for p in self.request_paths()),
                         self.request_paths())


class TestFetchRepair(FetchTestCase):

    def test_missing_link_with_blob_present_is_relinked_without_download(self):
        self.lock()
        self.run_tool("fetch", check=0)
        model = self.read_lock()["models"]["weird"]
        snapshot = self.repo_dir("test-org/weird-paths") / "snapshots" / model["commit"]
        for path in ["hash#dir/file#1.bin", "unicodé/ファイル.json"]:
            (snapshot / path).unlink()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        self.assert_no_requests("re-linking blobs already present")
        self.assert_cached("weird")

    def test_missing_blob_is_downloaded_again(self):
        self.lock()
        self.run_tool("fetch", check=0)
        model = self.read_lock()["models"]["tiny"]
        files = {f["path"]: f for f in model["files"]}
        repo_dir = self.repo_dir("test-org/tiny-model")
        (repo_dir / "snapshots" / model["commit"] / "model.safetensors").unlink()
        (repo_dir / "blobs" / files["model.safetensors"]["etag"]).unlink()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        requests = self.requests()
        self.assertEqual(requests["listeners"]["cdn"]["total"], 1)
        self.assertTrue(all("model.safetensors" in r["path"] + r["query"]
                            for r in requests["requests"]), requests["counts"])
        self.assert_cached("tiny")


class TestFetchOutput(FetchTestCase):

    def test_json_events(self):
        self.lock()
        result = self.run_tool("--json", "fetch", check=0)
        events = self.json_lines(result.stdout)  # every line parses
        kinds = [e["event"] for e in events]
        self.assertEqual(kinds[0], "plan")
        # lock downloaded the regular files already; fetch moves the LFS ones.
        lock = self.read_lock()
        lfs = [(name, f["path"]) for name, m in lock["models"].items() for f in m["files"]
               if len(f["etag"]) == 64]
        self.assertEqual(events[0]["files"], len(lfs))
        self.assertEqual(events[0]["bytes"], sum(
            f["size"] for m in lock["models"].values() for f in m["files"] if len(f["etag"]) == 64))
        starts = [e for e in events if e["event"] == "start"]
        dones = [e for e in events if e["event"] == "done"]
        self.assertEqual(sorted((e["model"], e["path"]) for e in starts), sorted(lfs))
        self.assertEqual(sorted(e["id"] for e in dones), sorted(e["id"] for e in starts))
        self.assertTrue(all(e["ok"] is True for e in dones))
        self.assertNotIn("error", kinds)
        # Nothing for people on stdout, and no JSON on stderr.
        self.assertFalse(any(line.strip().startswith("{") for line in result.stderr.splitlines()))

    def test_json_second_fetch_is_quiet(self):
        self.lock()
        self.run_tool("fetch", check=0)
        result = self.run_tool("--json", "fetch", check=0)
        self.assertEqual([e["event"] for e in self.json_lines(result.stdout)
                          if e["event"] in ("start", "done")], [])


class TestFetchErrors(FetchTestCase):

    def test_stale_lockfile(self):
        self.lock()
        self.write_manifest(MANIFEST.replace("quant: Q5_K_M", "quant: Q8_0"))
        result = self.run_tool("fetch", check=6)
        self.assertIn("gguf", result.stderr)
        self.assertIn("hfmodels lock", result.stderr)
        self.assertNotIn("tiny", result.stderr)
        self.assert_no_requests("stale lockfile")
        # Nothing was fetched for the other models either.
        weights = self.hub.file("test-org/tiny-model", "model.safetensors")
        self.assertFalse((self.repo_dir("test-org/tiny-model") / "blobs" / weights.etag).exists())

    def test_stale_lockfile_model_removed_from_manifest(self):
        self.lock()
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
        """)
        result = self.run_tool("fetch", check=6)
        self.assertIn("weird", result.stderr)
        self.assertIn("hfmodels lock", result.stderr)

    def test_missing_lockfile(self):
        self.write_manifest(MANIFEST)
        result = self.run_tool("fetch", check=2)
        self.assertIn("models.lock", result.stderr)
        self.assertIn("hfmodels lock", result.stderr)
        self.assert_no_requests("missing lockfile")
        self.assertFalse(self.cache.exists())

    def test_unknown_name(self):
        self.lock()
        result = self.run_tool("fetch", "tinny", check=2)
        self.assertIn("Did you mean 'tiny'", result.stderr)
        self.assert_no_requests("unknown name")



class TerminalProgressTest(FetchTestCase):

    def run_in_terminal(self, columns, *args):
        """Runs hfmodels with stderr on a pseudo-terminal `columns` wide; returns what it drew."""
        import fcntl, pty, struct, subprocess, termios
        controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        process = subprocess.Popen([self.binary, *map(str, args)], env=self.env(),
                                   cwd=self.project, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the program ended
                break
            if not chunk:
                break
            drawn += chunk
        os.close(controller)
        self.assertEqual(process.wait(timeout=120), 0, drawn.decode(errors="replace"))
        return drawn.decode(errors="replace")

    def test_bars_fit_an_80_column_terminal_and_keep_the_eta(self):
        self.lock("""
            models:
              large:
                repo: test-org/large-model
        """)
        self.hub.add_fault({"action": "bandwidth", "bytes_per_sec": 6_000_000,
                            "listener": "cdn", "times": -1})
        drawn = self.run_in_terminal(80, "fetch")
        lines = [line.split("\x1b[J")[-1] for line in drawn.replace("\r", "").split("\x1b[K\n")]
        totals = [line for line in lines if " files [" in line]
        self.assertTrue(totals, drawn)
        self.assertTrue(all(line.startswith("Total: ") for line in totals), totals)
        for line in lines:
            self.assertLess(len(line), 80, repr(line))
        self.assertTrue(any(re.search(r"ETA \d+(\.\d)?m?s$", line) for line in totals), totals)


if __name__ == "__main__":
    unittest.main()
