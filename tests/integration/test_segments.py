"""Large files in segments (issue 5): a file of 64 MiB or more comes over several connections at
once, each asking for its own closed range, and its bytes and hash come out right; a run killed
in the middle leaves segments with holes between them, which the next run cuts back to their
complete prefix and resumes instead of downloading the file again.
"""

import re
import signal
import time
import unittest

from fault_support import FaultTestCase, throttle

HUGE = "test-org/huge-model"
WEIGHTS = "weights.dat"  # 72 MiB, LFS: 9 pieces of 8 MiB
SIZE = 72 << 20
HUGE_MANIFEST = """
    models:
      huge:
        repo: test-org/huge-model
"""
CLOSED_RANGE = re.compile(r"bytes=(\d+)-(\d+)$")


class TestSegments(FaultTestCase):

    def cdn_ranges(self):
        """(first, last) of every CDN GET of the file, in order; fails on an open range."""
        ranges = []
        for request in self.cdn_gets(WEIGHTS, repo=HUGE):
            match = CLOSED_RANGE.match(request["range"] or "")
            self.assertIsNotNone(match, f"not a closed range: {request['range']}")
            ranges.append((int(match[1]), int(match[2])))
        return ranges

    def test_a_large_file_comes_over_several_connections(self):
        self.lock(HUGE_MANIFEST)
        self.run_tool("fetch", check=0)
        self.assert_complete("huge", HUGE)
        ranges = self.cdn_ranges()
        self.assertGreaterEqual(len(ranges), 2, ranges)
        # Together the ranges cover the file; every one starts at a multiple of 8 MiB but the
        # first, which starts at 0.
        covered = sorted(ranges)
        self.assertEqual(covered[0][0], 0)
        self.assertEqual(max(last for _, last in covered), SIZE - 1)
        for first, _ in covered:
            self.assertEqual(first % (8 << 20), 0, covered)
        # Only the first request went through the Hub (with its redirect); the others went to
        # the CDN URL it led to.
        self.assertEqual(len(self.resolve_gets(WEIGHTS, repo=HUGE)), 1)

    def test_a_killed_run_leaves_segments_that_the_next_run_resumes(self):
        self.lock(HUGE_MANIFEST)
        throttle(self.hub, 1 << 20, match=WEIGHTS)  # 1 MiB/s per answer: 8 s per segment
        process = self.start("fetch", "--no-progress")
        self.wait_for_partial(process, 24 << 20, repo=HUGE)  # a segment far into the file
        time.sleep(2)  # about 2 MiB into each segment, the first one included
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.hub.clear_faults()
        self.hub.reset_requests()

        self.run_tool("fetch", check=0)
        self.assert_complete("huge", HUGE)
        # The leftover was cut back at its first hole (the segments after it are dropped: what
        # they hold is not known) and continued from there, not fetched again from byte 0.
        ranges = self.cdn_ranges()
        self.assertTrue(ranges)
        self.assertGreaterEqual(min(first for first, _ in ranges), 1 << 20, ranges)
        resumed = sum(r["bytes"] for r in self.cdn_gets(WEIGHTS, repo=HUGE))
        self.assertLessEqual(resumed, SIZE - (1 << 20))

    def test_a_corrupted_byte_fails_the_hash_and_the_file_comes_again(self):
        self.lock(HUGE_MANIFEST)
        self.hub.add_fault({"action": "corrupt", "offset": 777, "listener": "cdn",
                            "match": WEIGHTS, "times": 1})
        self.run_tool("fetch", check=0)
        self.assert_complete("huge", HUGE)
        gets = self.cdn_gets(WEIGHTS, repo=HUGE)
        self.assertEqual(sum(1 for g in gets if "corrupt" in g["faults"]), 1)
        # The whole file came twice: each pass starts with a segment at byte 0.
        self.assertEqual(sum(1 for first, _ in self.cdn_ranges() if first == 0), 2)

    def test_corruption_every_time_fails_and_links_nothing(self):
        self.lock(HUGE_MANIFEST)
        self.hub.add_fault({"action": "corrupt", "offset": 777, "listener": "cdn",
                            "match": WEIGHTS, "times": -1})
        result = self.run_tool("fetch", check=4)
        self.assertIn("huge/weights.dat", result.stderr)
        self.assertIn(f"expected sha256 {self.hub.file(HUGE, WEIGHTS).sha256}", result.stderr)
        self.assertIn("tried 2 times", result.stderr)
        self.assert_not_linked(WEIGHTS, name="huge", repo=HUGE)
        self.assertEqual(self.partials(HUGE), {})  # bytes that failed the hash are not kept


if __name__ == "__main__":
    unittest.main()
