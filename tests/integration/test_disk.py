"""Disk space (issue 4): a shortfall fails at once with "need X, have Y on PATH", before any
request; a disk that fills up during a download ends cleanly, takes no partial blob for a
complete one, and the next run resumes.

The tests that need a small filesystem mount a tmpfs (root, or a user and mount namespace);
where that is impossible they are skipped, and the check is still covered by a lockfile whose
size no disk can hold.
"""

import errno
import os
import re
import subprocess
import unittest

from fault_support import (LARGE, LARGE_MANIFEST, WEIGHTS, WEIGHTS_MANIFEST, FaultTestCase,
                           throttle)

MB = 1 << 20


class DiskTestCase(FaultTestCase):

    def mount_tmpfs(self, megabytes):
        """A tmpfs of `megabytes` MiB as the cache folder; skips the test if mounting fails."""
        mount = self.root / "small-disk"
        mount.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs",
                                 str(mount)], capture_output=True, text=True)
        if result.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", str(mount)], capture_output=True)
        self.cache = mount / "hub"
        return mount

    def env(self, **extra):
        extra.setdefault("HF_HUB_CACHE", str(self.cache))
        return super().env(**extra)


class TestDiskSpace(DiskTestCase):

    def test_shortfall_fails_at_once_before_any_request(self):
        self.lock(WEIGHTS_MANIFEST)
        # A lockfile promising a petabyte: no disk has room, so no byte may move.
        size = self.read_lock()["models"]["large"]["files"][0]["size"]
        text = self.lockfile().read_text()
        self.lockfile().write_text(text.replace(f"size: {size}\n", "size: 1000000000000000\n"))
        result = self.run_tool("fetch", check=1)
        self.assertRegex(result.stderr,
                         r"not enough disk space: need 909\.5 TiB, have [0-9.]+ [KMGT]?i?B on "
                         + re.escape(str(self.cache)))
        self.assertIn("HF_HUB_CACHE", result.stderr)
        self.assertEqual(self.request_count(), 0)
        self.assertEqual(self.partials(), {})

    def test_shortfall_on_a_small_filesystem(self):
        mount = self.mount_tmpfs(16)
        self.lock(LARGE_MANIFEST, separate_cache=True)
        result = self.run_tool("fetch", check=1)
        self.assertIn(f"need 34.3 MiB, have 16.0 MiB on {mount / 'hub'}", result.stderr)
        self.assertEqual(self.request_count(), 0)

    def test_blobs_already_cached_need_no_space(self):
        mount = self.mount_tmpfs(16)
        self.lock(WEIGHTS_MANIFEST)
        self.run_tool("fetch", check=0)
        # The snapshot link is gone, the 12 MB blob is still there: relinking needs no room,
        # though only 4 MB are free.
        commit = self.read_lock()["models"]["large"]["commit"]
        (self.repo_dir(LARGE) / "snapshots" / commit / WEIGHTS).unlink()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        self.assertEqual(self.request_count(), 0)
        self.assertTrue(mount.is_dir())

    def test_disk_full_during_a_download_ends_cleanly_and_resumes(self):
        mount = self.mount_tmpfs(24)
        self.lock(WEIGHTS_MANIFEST)
        throttle(self.hub, 4 * MB)
        process = self.start("fetch")
        self.wait_for_partial(process, 2 * MB)
        # Something else fills the disk while the download runs.
        filler = mount / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * (64 << 10))
            except OSError as error:
                self.assertEqual(error.errno, errno.ENOSPC)
        code, out, err = self.finish(process)
        self.assertEqual(code, 1, err)
        self.assertIn("No space left on device", err)
        self.assertIn("large/weights.dat", err)
        self.assert_not_linked(WEIGHTS)
        self.assert_snapshots_hold_no_temporaries()
        kept = max(self.partials().values())
        self.assertGreaterEqual(kept, 2 * MB)

        filler.unlink()
        self.hub.clear_faults()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        ranges = [r["range"] for r in self.cdn_gets(WEIGHTS)]
        self.assertEqual(len(ranges), 1)
        self.assertTrue(ranges[0] and ranges[0].startswith("bytes="), ranges)
        self.assert_complete()


if __name__ == "__main__":
    unittest.main()
