"""A cache shared with the official clients (issue 9, points 9-11): `lock` alone publishes no
partial snapshot and no ref, so an offline read of the revision by another client gets the
complete snapshot or a clear error; `fetch` never moves a ref that another client wrote; and a
folder filled by `export` carries the local-dir records that `hf download --local-dir` reads.
"""

import os
import time
import unittest
from pathlib import Path

from support import HubTestCase, HubTestCaseExtras
from test_js_interop import JsTestCase

TINY = "test-org/tiny-model"
VERSIONED = "test-org/versioned"


class TestLockPublishesNothing(HubTestCaseExtras, JsTestCase):

    def test_an_offline_read_after_lock_alone_sees_all_or_nothing(self):
        self.write_manifest(f"models:\n  tiny:\n    repo: {TINY}\n")
        self.run_tool("lock", check=0)
        # tiny-model's files are all at the top, which is all the JS scanner lists.
        locked = {f["path"] for f in self.read_lock()["models"]["tiny"]["files"]}
        scan = self.js_scan(self.cache)
        for repo in scan["repos"]:
            for revision in repo["revisions"]:
                if "main" in revision.get("refs", []):
                    files = {Path(f["path"]).name for f in revision["files"]}
                    self.assertEqual(files, locked, "a partial snapshot is visible as main")
        # Nothing a client resolves a revision through: no ref, no snapshot folder (Python's
        # offline snapshot_download then says the revision is not cached).
        repo_dir = self.repo_dir(TINY)
        self.assertFalse((repo_dir / "refs").exists())
        self.assertFalse((repo_dir / "snapshots").exists())
        # After fetch the snapshot is complete and named by the ref.
        self.run_tool("fetch", check=0)
        scan = self.js_scan(self.cache)
        self.assertEqual(scan["warnings"], [])
        revisions = [r for repo in scan["repos"] for r in repo["revisions"]]
        self.assertEqual(len(revisions), 1)
        self.assertIn("main", revisions[0]["refs"])
        self.assertEqual({Path(f["path"]).name for f in revisions[0]["files"]}, locked)


class TestRefsAreNeverMovedBack(HubTestCaseExtras, HubTestCase):

    def test_fetch_keeps_a_newer_ref_another_client_wrote(self):
        self.write_manifest(f"models:\n  versioned:\n    repo: {VERSIONED}\n")
        self.run_tool("lock", check=0)
        self.run_tool("fetch", check=0)
        repo_dir = self.repo_dir(VERSIONED)
        old = self.hub.commit_id(VERSIONED, "main")
        newer = self.hub.commit_id(VERSIONED, "next")
        self.assertEqual((repo_dir / "refs" / "main").read_text(), old)
        # Python downloaded main after it moved: a newer snapshot and refs/main naming it.
        (repo_dir / "snapshots" / newer).mkdir(parents=True)
        (repo_dir / "refs" / "main").write_text(newer)
        self.run_tool("fetch", check=0)  # nothing to do
        self.assertEqual((repo_dir / "refs" / "main").read_text(), newer)
        next(iter((repo_dir / "snapshots" / old).iterdir())).unlink()
        self.run_tool("fetch", check=0)  # a file to put back
        self.assertEqual((repo_dir / "refs" / "main").read_text(), newer)
        # A ref naming nothing that exists is repaired.
        (repo_dir / "refs" / "main").write_text("f" * 40)
        self.run_tool("fetch", check=0)
        self.assertEqual((repo_dir / "refs" / "main").read_text(), old)


class TestExportForHfDownload(HubTestCaseExtras, HubTestCase):

    def read_metadata(self, local_dir, path):
        """huggingface_hub's read_download_metadata (docs/hub-and-cache.md §5.10): the record,
        or None when missing, malformed or older than the file."""
        meta = local_dir / ".cache" / "huggingface" / "download" / (path + ".metadata")
        try:
            lines = meta.read_text().split("\n")
            commit, etag, timestamp = lines[0].strip(), lines[1].strip(), float(lines[2].strip())
        except (OSError, IndexError, ValueError):
            return None
        if (local_dir / path).stat().st_mtime - 1 <= timestamp:
            return commit, etag
        return None

    def test_export_writes_the_records_hf_download_reads(self):
        self.write_manifest(f"models:\n  tiny:\n    repo: {TINY}\n")
        self.run_tool("lock", check=0)
        out = self.root / "export"
        self.run_tool("export", "tiny", "--to", out, check=0)
        local_dir = out / "tiny"
        meta = local_dir / ".cache" / "huggingface"
        self.assertEqual((meta / ".gitignore").read_bytes(), b"*")
        self.assertTrue((meta / "CACHEDIR.TAG").read_text().startswith(
            "Signature: 8a477f597d28d172789f06886806bc55\n"))
        commit = self.hub.commit_id(TINY, "main")
        for entry in self.read_lock()["models"]["tiny"]["files"]:
            path = entry["path"]
            # What `hf download --local-dir` compares with the etag of its HEAD on /resolve/.
            self.assertEqual(self.read_metadata(local_dir, path),
                             (commit, self.hub.file(TINY, path).etag), path)
            raw = (meta / "download" / (path + ".metadata")).read_text()
            self.assertEqual(raw.count("\n"), 3)
            self.assertTrue(raw.endswith("\n"))
        # A second export leaves the records alone.
        before = {p: p.stat().st_mtime_ns for p in (meta / "download").rglob("*.metadata")}
        time.sleep(0.05)
        self.run_tool("export", "tiny", "--to", out, check=0)
        self.assertEqual(before, {p: p.stat().st_mtime_ns
                                  for p in (meta / "download").rglob("*.metadata")})
        self.assertFalse(any(p.is_symlink() for p in local_dir.rglob("*")))
        self.assertEqual(os.listdir(out), ["tiny"])


if __name__ == "__main__":
    unittest.main()
