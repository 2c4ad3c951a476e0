"""Concurrency (issue 4): eight fetches on one lockfile and one cache, a lock holder killed with
SIGKILL, and the soak test: SIGKILL at 20 random moments of a multi-file fetch.
"""

import os
import random
import re
import stat
import sys
import threading
import time
import unittest

from fault_support import (LARGE, LARGE_MANIFEST, TEMP_SUFFIXES, TINY, TWO_MODELS_MANIFEST,
                           WEIGHTS, WEIGHTS_MANIFEST, FaultTestCase, throttle)

MB = 1 << 20
PROCESSES = 8
KILLS = 20


class SnapshotWatcher(threading.Thread):
    """Polls every snapshots/ folder of the cache while processes run, and records anything a
    reader could see that is not a complete file: a dangling link, a link to a blob of the wrong
    size, a regular file, a temporary."""

    def __init__(self, cache, sizes):
        super().__init__(daemon=True)
        self.cache = cache
        self.sizes = sizes  # {(repo folder, path): size}
        self.stop = threading.Event()
        self.violations = []
        self.polls = 0
        self.seen = 0

    def run(self):
        while not self.stop.is_set():
            self.poll()
            self.polls += 1

    def poll(self):
        if not self.cache.is_dir():
            return
        for repo in os.listdir(self.cache):
            snapshots = self.cache / repo / "snapshots"
            if not snapshots.is_dir():
                continue
            for folder, _, files in os.walk(snapshots):
                for name in files:
                    path = os.path.join(folder, name)
                    relative = os.path.relpath(path, snapshots).split(os.sep, 1)[-1]
                    self.check(repo, relative, path)

    def check(self, repo, relative, path):
        try:
            if not stat.S_ISLNK(os.lstat(path).st_mode):
                self.violations.append(f"not a symlink: {path}")
                return
        except FileNotFoundError:
            return  # renamed away between listing and checking
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            if os.path.lexists(path):
                self.violations.append(f"dangling link: {path}")
            return
        self.seen += 1
        # A link's own temporary name (`name.<hex>.tmp`, renamed over `name` a moment later)
        # points at the same complete blob.
        name = re.sub(r"\.[0-9a-f]{8}\.tmp$", "", relative)
        expected = self.sizes.get((repo, name))
        if expected is None:
            self.violations.append(f"unexpected entry: {path}")
        elif size != expected:
            self.violations.append(f"{path}: {size} bytes, not {expected}")


class LockedSizes:

    def locked_sizes(self):
        sizes = {}
        for name, model in self.read_lock()["models"].items():
            folder = "models--" + model["repo"].replace("/", "--")
            for locked in model["files"]:
                sizes[(folder, locked["path"])] = locked["size"]
        return sizes


class TestConcurrency(LockedSizes, FaultTestCase):

    def test_eight_processes_share_one_cache(self):
        self.lock(TWO_MODELS_MANIFEST, separate_cache=True)
        # Slow enough that the eight runs overlap for over a second.
        throttle(self.hub, 16 * MB, match="")
        watcher = SnapshotWatcher(self.cache, self.locked_sizes())
        watcher.start()
        processes = [self.start("fetch") for _ in range(PROCESSES)]
        results = [self.finish(process) for process in processes]
        watcher.stop.set()
        watcher.join()

        for code, out, err in results:
            self.assertEqual(code, 0, err)
        self.assertEqual(watcher.violations, [])
        self.assertGreater(watcher.seen, 0)

        # Each file crossed the network once: one /resolve/ and one byte transfer (CDN or
        # resolve-cache) per file, nothing else.
        lock = self.read_lock()["models"]
        requests = self.requests()
        files = [(model["repo"], f["path"]) for model in lock.values() for f in model["files"]]
        for repo, path in files:
            self.assertEqual(len(self.resolve_gets(path, repo)), 1, (repo, path))
        byte_transfers = [r for r in requests["requests"]
                          if r["listener"] == "cdn" or r["path"].startswith("/api/resolve-cache/")]
        self.assertEqual(len(byte_transfers), len(files))
        self.assertEqual(requests["total"], 2 * len(files), requests["counts"])
        fetched = sum(int(m.group(1)) for _, _, err in results
                      for m in re.finditer(r"Fetched (\d+) file", err))
        self.assertEqual(fetched, len(files))
        sys.stderr.write(f"\n  {PROCESSES} processes, {len(files)} files, "
                         f"{requests['total']} requests ({len(byte_transfers)} byte transfers), "
                         f"{watcher.polls} snapshot polls saw {watcher.seen} entries\n")
        self.assert_complete("large", LARGE)
        self.assert_complete("tiny", TINY)

    def test_a_killed_lock_holder_blocks_nobody(self):
        self.lock(WEIGHTS_MANIFEST)
        throttle(self.hub, 2 * MB)
        holder = self.start("fetch")
        self.wait_for_partial(holder, MB)
        self.hub.clear_faults()  # the holder's transfer keeps its throttle
        waiter = self.start("fetch")
        time.sleep(0.5)
        # The second process waits for the blob's lock instead of downloading it too.
        self.assertIsNone(waiter.poll())
        self.assertEqual(len(self.resolve_gets(WEIGHTS)), 1)
        holder.kill()
        killed = time.monotonic()
        code, _, err = self.finish(waiter, timeout=30)
        self.assertEqual(code, 0, err)
        self.assertLess(time.monotonic() - killed, 10)
        gets = self.cdn_gets(WEIGHTS)
        self.assertEqual(len(gets), 2)
        # It continued the dead holder's partial download.
        start = int(re.fullmatch(r"bytes=(\d+)-(\d+)?", gets[1]["range"]).group(1))
        self.assertGreaterEqual(start, MB)
        self.assert_complete()


class TestSoak(LockedSizes, FaultTestCase):

    def test_sigkill_at_random_moments(self):
        """SIGKILL `hfmodels fetch` at 20 random moments; after each, the next fetch completes
        and every file verifies. The seed is printed; HFMODELS_SOAK_SEED=N replays a run."""
        seed = int(os.environ.get("HFMODELS_SOAK_SEED", time.time_ns() % 1_000_000))
        rng = random.Random(seed)
        self.lock(LARGE_MANIFEST, separate_cache=True)
        repo_dir = self.repo_dir(LARGE)
        sizes = self.locked_sizes()
        stats = {"before the first byte": 0, "mid-download": 0, "after it finished": 0}
        resumed = 0
        started = time.monotonic()
        for kill in range(KILLS):
            # 24 MB at 24 MB/s and 12 MB beside it: a fetch of about a second.
            throttle(self.hub, 24 * MB, match="")
            process = self.start("fetch")
            # A quarter of the kills in the first 150 ms (start-up, lock, first request), the
            # rest spread over the transfers, the checks, the renames and the links.
            time.sleep(rng.uniform(0.0, 0.15) if rng.random() < 0.25 else rng.uniform(0.15, 1.1))
            finished = process.poll() is not None
            process.kill()
            process.wait()
            partial = self.partials()
            if finished:
                stats["after it finished"] += 1
            elif partial:
                stats["mid-download"] += 1
            else:
                stats["before the first byte"] += 1
            # Whatever the moment, a reader sees complete files or nothing.
            check = SnapshotWatcher(self.cache, sizes)
            check.poll()
            self.assertEqual(check.violations, [], f"kill {kill} (seed {seed})")

            self.hub.clear_faults()
            self.hub.reset_requests()
            result = self.run_tool("fetch")
            self.assertEqual(result.returncode, 0, f"kill {kill} (seed {seed}): {result.stderr}")
            if any(r["range"] for r in self.requests()["requests"]):
                resumed += 1
            self.assert_complete()

            # Start the next round from an empty repo folder (the locks stay, as they would).
            for sub in ("snapshots", "blobs", "refs"):
                folder = repo_dir / sub
                if folder.exists():
                    for root, dirs, files in os.walk(folder, topdown=False):
                        for name in files:
                            os.unlink(os.path.join(root, name))
                        for name in dirs:
                            path = os.path.join(root, name)
                            if os.path.islink(path):
                                os.unlink(path)
                            else:
                                os.rmdir(path)
        sys.stderr.write(f"\n  soak: {KILLS} kills survived in {time.monotonic() - started:.1f} s "
                         f"(seed {seed}): {stats}; {resumed} next fetches resumed a partial\n")


if __name__ == "__main__":
    unittest.main()
