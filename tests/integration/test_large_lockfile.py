"""A large lockfile (issue 9, point 6): the checks `fetch` makes before any download are
linear and honour SIGTERM. Their speed is measured by bench/lockfile (0.6 s for 100,000 files),
not here; this test checks that a SIGTERM in the middle of them ends the run as an interruption
(exit 143), where a quadratic check used to run to its end and exit 0.
"""

import hashlib
import os
import re
import signal
import subprocess
import time
import unittest

from support import HubTestCase, HubTestCaseExtras

REPO = "test-org/tiny-model"
FILES = 60_000


class TestLargeLockfile(HubTestCaseExtras, HubTestCase):

    def make_large_lock(self):
        """A lockfile of FILES small LFS files, every one cached. It is the lock of the real
        manifest entry (same manifest digest), with its file list replaced and its `paths`
        digest recomputed, as `hfmodels lock` would write it for such a repo."""
        self.write_manifest(f"models:\n  big:\n    repo: {REPO}\n    include: ['*.json']\n")
        self.run_tool("lock", check=0)
        text = self.lockfile().read_text()
        commit = re.search(r"commit: ([0-9a-f]{40})", text).group(1)
        head = text[:text.index("    paths: ")]
        repo_dir = self.repo_dir(REPO)
        snapshot = repo_dir / "snapshots" / commit
        (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
        snapshot.mkdir(parents=True, exist_ok=True)
        paths, entries = [], []
        for i in range(FILES):
            path = f"f-{i:06d}.json"
            data = b"{}%d\n" % i
            sha = hashlib.sha256(data).hexdigest()
            (repo_dir / "blobs" / sha).write_bytes(data)
            os.symlink(f"../../blobs/{sha}", snapshot / path)
            paths.append(path)
            entries.append(f"      - path: {path}\n        size: {len(data)}\n"
                           f"        sha256: {sha}\n        etag: {sha}\n")
        digest = hashlib.sha256("".join(p + "\n" for p in sorted(paths)).encode()).hexdigest()
        self.lockfile().write_text(head + f"    paths: sha256:{digest}\n    files:\n"
                                   + "".join(entries))
        self.hub.reset_requests()

    def wait_until_it_handles_sigterm(self, process):
        """Until `process` catches or blocks SIGTERM (its handling is set up, so a signal is no
        longer the default kill), read from /proc: a sleep would race with a slow start (a
        sanitizer build starts slowly)."""
        bit = 1 << (signal.SIGTERM - 1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = open(f"/proc/{process.pid}/status").read()
            except OSError:
                break
            masks = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
            if any(int(masks.get(key, "0"), 16) & bit for key in ("SigCgt", "SigBlk")):
                return
            time.sleep(0.002)
        self.fail("hfmodels never got ready to handle SIGTERM")

    def test_sigterm_during_the_checks_interrupts_the_run(self):
        self.make_large_lock()
        self.run_tool("fetch", check=0, timeout=120)  # all cached: a no-op
        self.assert_no_requests("a no-op fetch of a large lockfile")
        process = subprocess.Popen([self.binary, "fetch"], cwd=self.project, env=self.env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.wait_until_it_handles_sigterm(process)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        waited = time.monotonic() - sent
        if process.returncode == 0:
            self.fail(f"the run ignored SIGTERM and finished its checks ({waited:.1f} s later)")
        self.assertEqual(process.returncode, 143, stderr)
        self.assertLess(waited, 30, "a hang guard, not a speed test")


if __name__ == "__main__":
    unittest.main()
