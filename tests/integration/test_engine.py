"""The download engine (issue 10): every received byte kept across interruptions, each byte asked
for once on a clean run, progress that tells the truth, and the checks that belong to the
transfer: a regular file's git blob id, sizes a lockfile may claim, the disk space a partial
already holds, and partials that must never be written through.
"""

import json
import os
import random
import re
import shutil
import signal
import sys
import time
import unittest

from fault_support import FaultTestCase, LARGE, WEIGHTS, WEIGHTS_MANIFEST, throttle

MB = 1 << 20
HUGE = "test-org/huge-model"
HUGE_SIZE = 72 << 20
HUGE_MANIFEST = """
    models:
      huge:
        repo: test-org/huge-model
"""
TINY = "test-org/tiny-model"
RANGE = re.compile(r"bytes=(\d+)-(\d+)?$")


class EngineTestCase(FaultTestCase):

    def asked(self, path, repo):
        """(first, last) of every CDN GET of `path`, in order (no Range: the whole file)."""
        size = self.hub.file(repo, path).size
        ranges = []
        for request in self.cdn_gets(path, repo=repo):
            match = RANGE.match(request["range"] or "")
            ranges.append((int(match[1]), int(match[2] or size - 1)) if match else (0, size - 1))
        return ranges


class TestEveryByteOnce(EngineTestCase):

    def test_a_clean_run_asks_for_each_byte_once(self):
        # Two connections slow, the others fast: the fast ones finish first and take over parts
        # of the slow ones' segments, never asking for a byte another request asked for.
        self.lock(HUGE_MANIFEST)
        self.hub.add_fault({"action": "bandwidth", "bytes_per_sec": 2 * MB, "listener": "cdn",
                            "match": WEIGHTS, "times": 2})
        self.run_tool("fetch", check=0)
        self.assert_complete("huge", HUGE)
        ranges = sorted(self.asked(WEIGHTS, HUGE))
        connections = {r["seq"] for r in self.cdn_gets(WEIGHTS, repo=HUGE) if r["range"]}
        self.assertGreater(len(ranges), 4, "a 72 MiB file comes over several connections")
        for (_, last), (first, _) in zip(ranges, ranges[1:]):
            self.assertEqual(first, last + 1, f"ranges overlap or leave a gap: {ranges}")
        self.assertEqual((ranges[0][0], ranges[-1][1]), (0, HUGE_SIZE - 1))
        sent = self.settled(lambda: sum(r["bytes"] for r in self.cdn_gets(WEIGHTS, repo=HUGE)),
                            lambda total: total >= HUGE_SIZE)
        self.assertEqual(sent, HUGE_SIZE)


class TestInterruptions(EngineTestCase):

    def test_interruptions_lose_only_what_was_in_flight(self):
        # Twenty interruptions at random moments, by SIGINT, SIGTERM and SIGKILL: every segment
        # that arrived is kept (a control record beside the partial says which, and is checked
        # on resume), so the CDN sends the file once plus what each interruption cut short.
        self.lock(HUGE_MANIFEST)
        chance = random.Random(1234)
        allowance = HUGE_SIZE
        # 512 KiB/s per connection, at most 8 MiB/s for the file: twenty interruptions come
        # before it is complete.
        throttle(self.hub, MB // 2, match=WEIGHTS)
        for round_ in range(20):
            self.hub.reset_requests()
            process = self.start("fetch", "--no-progress")
            # Once it is running (its first request): a signal before main() kills any program
            # with the default action, whatever it does about signals.
            deadline = time.monotonic() + 10
            while not self.requests()["requests"] and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(chance.uniform(0.0, 1.0))
            sig = chance.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
            process.send_signal(sig)
            code, _, err = self.finish(process)
            self.assertNotEqual(code, 0, f"round {round_}: finished before the signal")
            self.assertIn(code, (130, 143, -signal.SIGKILL), err)
            cut = [r for r in self.cdn_gets(WEIGHTS, repo=HUGE)
                   if r["status"] == 206 and r["bytes"] < self.request_length(r)]
            # What an interrupted connection may lose: the bytes it had received but not yet
            # written (up to half a second's), and what was in flight.
            allowance += len(cut) * MB
            self.sent_so_far = getattr(self, "sent_so_far", 0) + self.cdn_bytes()
        self.hub.clear_faults()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        self.assert_complete("huge", HUGE)
        total = getattr(self, "sent_so_far", 0) + self.cdn_bytes()
        print(f"\ninterruption storm: the CDN sent {total / MB:.1f} MiB for a "
              f"{HUGE_SIZE / MB:.0f} MiB file ({total / HUGE_SIZE:.2f}x; allowed "
              f"{allowance / MB:.1f} MiB)", file=sys.stderr)
        self.assertLessEqual(total, allowance,
                             f"the CDN sent {total / MB:.1f} MiB for a {HUGE_SIZE / MB:.0f} MiB "
                             f"file (allowed {allowance / MB:.1f})")

    def test_what_arrived_before_an_interruption_is_not_asked_again(self):
        # Interrupted half way (the landed engine kept only its complete prefix: 4 of 34 MiB,
        # and asked for the other 30 again), the next run asks only for what is missing, give
        # or take what each open connection had in flight.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            with self.subTest(signal=sig.name):
                shutil.rmtree(self.cache, ignore_errors=True)
                self.lock(HUGE_MANIFEST)
                throttle(self.hub, 2 * MB, match=WEIGHTS)
                process = self.start("fetch", "--no-progress")
                deadline = time.monotonic() + 60
                while self.cdn_bytes() < HUGE_SIZE // 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                process.send_signal(sig)
                self.finish(process)
                first = self.cdn_bytes()
                open_connections = len([r for r in self.cdn_gets(WEIGHTS, repo=HUGE)
                                        if r["bytes"] < self.request_length(r)])
                self.hub.clear_faults()
                self.hub.reset_requests()
                self.run_tool("fetch", check=0)
                self.assert_complete("huge", HUGE)
                second = self.cdn_bytes()
                self.assertLessEqual(second, HUGE_SIZE - first + open_connections * MB,
                                     f"{first / MB:.1f} MiB arrived before {sig.name}, "
                                     f"{second / MB:.1f} MiB were fetched after it")

    def request_length(self, request):
        match = RANGE.match(request["range"] or "")
        if not match:
            return HUGE_SIZE
        return int(match[2] or HUGE_SIZE - 1) - int(match[1]) + 1

    def cdn_bytes(self):
        return self.settled(lambda: sum(r["bytes"] for r in self.cdn_gets(WEIGHTS, repo=HUGE)),
                            lambda _: all(r["status"] is not None
                                          for r in self.cdn_gets(WEIGHTS, repo=HUGE)))

    def test_a_power_cut_loses_only_blocks_whose_bytes_are_wrong(self):
        # The record lists what was written, with a checksum per block; a block whose bytes are
        # not what was written (the kernel never wrote them before the power went) is fetched
        # again, the others are kept.
        self.lock(HUGE_MANIFEST)
        throttle(self.hub, 4 * MB, match=WEIGHTS)
        process = self.start("fetch", "--no-progress")
        self.wait_for_partial(process, 40 * MB, repo=HUGE)
        time.sleep(1)  # the record is written every half second
        process.kill()
        process.wait()
        partial = next(p for p in self.partials(HUGE) if p.name.endswith(".incomplete"))
        record = partial.with_name(partial.name + ".ranges")
        self.assertTrue(record.is_file(), list(self.partials(HUGE)))
        blocks = [line.split() for line in record.read_text().splitlines()[2:]]
        first, length = int(blocks[0][0]), int(blocks[0][1])
        with open(partial, "r+b") as f:  # as if these pages never reached the disk
            f.seek(first)
            f.write(b"\0" * length)
        self.hub.clear_faults()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        self.assert_complete("huge", HUGE)
        asked = self.asked(WEIGHTS, HUGE)
        self.assertTrue(any(a <= first <= b for a, b in asked), "the zeroed block came again")
        kept = sum(int(b[1]) for b in blocks) - length
        self.assertLessEqual(sum(b - a + 1 for a, b in asked), HUGE_SIZE - kept)


class TestProgress(EngineTestCase):

    def progress_events(self, stdout, path):
        events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        ids = {e["id"] for e in events if e["event"] == "start" and e["path"] == path}
        return [e for e in events if e["event"] == "progress" and e["id"] in ids]

    def test_speed_and_eta_follow_the_link_not_the_bytes_on_disk(self):
        cap = MB // 2  # per answer: weights.dat (12 MB) comes over one connection, 24 s in all
        self.lock(WEIGHTS_MANIFEST)
        throttle(self.hub, cap, match=WEIGHTS)
        process = self.start("--json", "fetch")
        self.wait_for_partial(process, 4 * MB, etag=self.hub.file(LARGE, WEIGHTS).sha256)
        process.send_signal(signal.SIGINT)
        code, out, err = self.finish(process)
        self.assertEqual(code, 130, err)
        fresh = self.progress_events(out, WEIGHTS)
        # Resumed with 4 MB on disk: the speed must still be the link's, not 4 MB over 1 s.
        code, out, err = self.finish(self.start("--json", "fetch"))
        self.assertEqual(code, 0, err)
        resumed = self.progress_events(out, WEIGHTS)
        for name, events in (("fresh", fresh), ("resumed", resumed)):
            after_5s = events[5:]  # one progress event a second
            self.assertTrue(after_5s, f"{name}: too few progress events: {events}")
            for event in after_5s:
                speed = event["bytes_per_second"]
                self.assertLess(abs(speed - cap) / cap, 0.25,
                                f"{name}: {speed:.0f} B/s against a cap of {cap} B/s")
                missing = event["size"] - event["bytes"]
                self.assertAlmostEqual(event["eta_seconds"], missing / speed, delta=0.5)
        self.assert_complete()

    def test_the_total_eta_is_never_below_the_slowest_files(self):
        self.lock()
        throttle(self.hub, MB // 2, match=WEIGHTS)  # 12 MB at 0.5 MB/s; the rest is fast
        code, out, err = self.finish(self.start("--json", "fetch"))
        self.assertEqual(code, 0, err)
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        checked = 0
        for event in events:
            if (event["event"] == "progress" and event["eta_seconds"] is not None
                    and event["total"]["eta_seconds"] is not None):
                self.assertGreaterEqual(event["total"]["eta_seconds"] + 0.5, event["eta_seconds"],
                                        event)
                checked += 1
        self.assertGreater(checked, 5)


class TestChecksOfTheTransfer(EngineTestCase):

    def test_an_etag_that_names_another_files_blob_is_an_integrity_error(self):
        # A hand-edited lockfile gives config.json the git blob id of tokenizer.json: its bytes
        # must never be stored under that name.
        self.lock("models:\n  tiny:\n    repo: test-org/tiny-model\n", separate_cache=True)
        text = self.lockfile().read_text()
        config = self.hub.file(TINY, "config.json").etag
        other = self.hub.file(TINY, "tokenizer.json")
        self.lockfile().write_text(text.replace(config, other.etag))
        result = self.run_tool("fetch", check=4)
        self.assertIn("tiny/config.json", result.stderr)
        self.assertIn(f"expected git blob id {other.etag}", result.stderr)
        self.assertIn("Nothing was added to the cache", result.stderr)
        blob = self.blobs(TINY) / other.etag
        if blob.exists():
            from support import sha256_of
            self.assertEqual(sha256_of(blob), other.sha256, "another file's blob was replaced")

    def test_a_size_no_file_can_have_is_refused_when_reading_the_lockfile(self):
        self.lock(WEIGHTS_MANIFEST)
        text = self.lockfile().read_text()
        size = str(self.hub.file(LARGE, WEIGHTS).size)
        self.lockfile().write_text(text.replace(f"size: {size}", "size: 18446744073709551000"))
        result = self.run_tool("fetch", check=2)
        self.assertIn("`size` must be a whole number of bytes", result.stderr)
        self.assertEqual(self.requests()["total"], 0)

    def test_the_disk_space_check_counts_what_a_partial_holds(self):
        # The cache on a small disk: 12 MB needed, 9 MB free, 6 MB already in a partial.
        mount = self.root / "small-disk"
        mount.mkdir()
        if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=15m tmpfs {mount}") != 0:
            self.skipTest("needs root to mount a small tmpfs")
        self.addCleanup(os.system, f"umount {mount}")
        env = self.env(HF_HUB_CACHE=str(mount / "hub"))
        self.lock(WEIGHTS_MANIFEST)
        throttle(self.hub, 2 * MB, match=WEIGHTS)
        process = self.start("fetch", env=env)
        deadline = time.monotonic() + 30
        etag = self.hub.file(LARGE, WEIGHTS).sha256
        blobs = mount / "hub" / "models--test-org--large-model" / "blobs"
        while time.monotonic() < deadline:
            sizes = [p.stat().st_size for p in blobs.glob(etag + ".*incomplete")] if blobs.is_dir() else []
            if sizes and max(sizes) >= 6 * MB:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        self.finish(process)
        self.hub.clear_faults()
        filler = mount / "filler"
        free = shutil.disk_usage(mount).free
        filler.write_bytes(b"\0" * max(0, free - 9 * MB))
        result = self.run_tool("fetch", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_a_partial_that_is_a_hard_link_or_someone_elses_is_never_written(self):
        self.lock(WEIGHTS_MANIFEST)
        etag = self.hub.file(LARGE, WEIGHTS).sha256
        blobs = self.blobs()
        blobs.mkdir(parents=True, exist_ok=True)
        victim = self.root / "victim"
        victim.write_bytes(b"precious" * 1000)
        os.link(victim, blobs / f"{etag}.incomplete")  # a planted hard link
        foreign = blobs / f"{etag}.0badc0de-1-00000000.incomplete"
        foreign.write_bytes(b"x" * 5000)
        if os.geteuid() == 0:
            os.chown(foreign, 12345, 12345)  # another user's
            old = time.time() - 3600
            os.utime(foreign, (old, old))
        self.run_tool("fetch", check=0)
        self.assert_complete()
        self.assertEqual(victim.read_bytes(), b"precious" * 1000)
        self.assertEqual(os.stat(victim).st_nlink, 1, "the planted link was unlinked, not used")


if __name__ == "__main__":
    unittest.main()
