"""Faults (issue 4): retries with back-off, rate limits, stalls, resume within a run and across
runs, integrity after corruption, and Ctrl-C. Every fault comes from the fake Hub's fault rules.
"""

import hashlib
import os
import re
import signal
import socket
import time
import unittest

from fault_support import (LARGE, LARGE_MANIFEST, SAFETENSORS, WEIGHTS, WEIGHTS_MANIFEST,
                           FaultTestCase, range_start, throttle)

MB = 1 << 20


class TestRetries(FaultTestCase):

    def test_transient_statuses_are_retried_with_backoff(self):
        self.lock(WEIGHTS_MANIFEST)
        # No Retry-After: the plain back-off, 1 s then 2 s (each 75-125 %).
        self.hub.add_fault({"action": "status", "status": 503, "match": "/resolve/", "times": 2})
        started = time.monotonic()
        self.run_tool("fetch", check=0)
        elapsed = time.monotonic() - started
        statuses = [r["status"] for r in self.resolve_gets(WEIGHTS)]
        self.assertEqual(statuses, [503, 503, 302])
        self.assertGreaterEqual(elapsed, 0.75 + 1.5)
        self.assertLess(elapsed, 15)
        self.assert_complete()

    def test_api_calls_are_retried(self):
        self.write_manifest(LARGE_MANIFEST)
        # Every rule that matches a request fires on it, so each URL gets one kind of fault.
        self.hub.add_fault({"action": "status", "status": 504, "match": "/revision/",
                            "retry_after": 0, "times": 2})
        self.hub.add_fault({"action": "drop", "match": "/tree/", "times": 1})
        self.run_tool("lock", check=0)
        requests = self.requests()["requests"]
        revision = [r["status"] for r in requests if "/revision/" in r["path"]]
        tree = [r["status"] for r in requests if "/tree/" in r["path"]]
        self.assertEqual(revision, [504, 504, 200])
        self.assertEqual(tree, [0, 200])

    def test_rate_limit_waits_as_the_hub_asks(self):
        self.lock(WEIGHTS_MANIFEST)
        # The fake's 429 carries `Retry-After: 1` and `RateLimit: "resolvers";r=0;t=1`; the
        # RateLimit header wins and means t + 1 = 2 s (Python's rule).
        self.hub.add_fault({"action": "status", "status": 429, "retry_after": 1,
                            "match": "/resolve/", "times": 1})
        self.run_tool("fetch", check=0)
        first, second = self.resolve_gets(WEIGHTS)[:2]
        self.assertEqual(first["status"], 429)
        self.assertGreaterEqual(second["time"] - first["time"], 1.9)
        self.assertLess(second["time"] - first["time"], 4)
        self.assert_complete()

    def test_a_rate_limit_too_long_to_wait_for_fails_at_once(self):
        self.write_manifest(LARGE_MANIFEST)
        self.hub.add_fault({"action": "status", "status": 429, "retry_after": 600,
                            "match": "/api/models/", "times": -1})
        started = time.monotonic()
        result = self.run_tool("lock", check=3)
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("rate limit", result.stderr)
        self.assertIn("600", result.stderr)
        self.assertEqual(self.request_count(), 1)

    def test_the_final_error_says_how_often_it_was_tried(self):
        self.write_manifest(LARGE_MANIFEST)
        self.hub.add_fault({"action": "status", "status": 500, "retry_after": 0,
                            "match": "/api/models/", "times": -1})
        result = self.run_tool("lock", check=3)
        self.assertIn("HTTP 500", result.stderr)
        self.assertIn("tried 6 times", result.stderr)
        self.assertEqual(self.request_count(), 6)
        self.assertFalse(self.lockfile().exists())

    def test_download_error_after_retries_names_the_file(self):
        self.lock(WEIGHTS_MANIFEST)
        self.hub.add_fault({"action": "status", "status": 503, "retry_after": 0,
                            "match": "/resolve/", "times": -1})
        result = self.run_tool("fetch", check=3)
        self.assertIn("large/weights.dat", result.stderr)
        self.assertIn("tried 6 times", result.stderr)
        self.assertEqual(len(self.resolve_gets(WEIGHTS)), 6)
        self.assert_not_linked(WEIGHTS)

    def test_one_cause_for_every_file_is_one_error_line(self):
        self.lock(LARGE_MANIFEST, separate_cache=True)
        files = len(self.read_lock()["models"]["large"]["files"])
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
        result = self.run_tool("fetch", "--no-progress", env=self.env(HF_ENDPOINT=endpoint),
                               check=3)
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        self.assertEqual(len(errors), 2, result.stderr)
        self.assertIn(f"the same for {files - 1} more files (large/", errors[0])
        self.assertIn(f"{files} of {files} files could not be fetched", errors[1])

    def test_different_causes_keep_their_own_lines(self):
        self.lock(LARGE_MANIFEST, separate_cache=True)
        self.hub.add_fault({"action": "status", "status": 404, "match": WEIGHTS, "times": -1})
        self.hub.add_fault({"action": "status", "status": 401, "match": SAFETENSORS,
                            "times": -1})
        result = self.run_tool("fetch", "--no-progress", check=3)
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        self.assertEqual(len(errors), 3, result.stderr)
        self.assertTrue(any(f"large/{WEIGHTS}" in line for line in errors), result.stderr)
        self.assertTrue(any(f"large/{SAFETENSORS}" in line for line in errors), result.stderr)
        self.assertNotIn("the same for", result.stderr)

    def test_not_found_and_forbidden_are_not_retried(self):
        self.write_manifest("""
            models:
              gone:
                repo: test-org/no-such-model
        """)
        self.run_tool("lock", check=3)
        self.assertEqual(self.request_count(), 1)
        self.hub.reset_requests()
        # A token without access to a gated repo: 403, once.
        self.write_manifest("""
            models:
              gated:
                repo: test-org/gated-model
        """)
        self.run_tool("lock", env=self.env(HF_TOKEN="hf_test_user"), check=3)
        config = [r for r in self.requests()["requests"]
                  if "/resolve/" in r["path"] and r["path"].endswith("/config.json")]
        self.assertEqual([r["status"] for r in config], [403])


class TestResume(FaultTestCase):

    def test_dropped_connection_resumes_with_a_range(self):
        self.lock(WEIGHTS_MANIFEST)
        cut = 5 * MB
        self.hub.add_fault({"action": "cut", "after": cut, "listener": "cdn", "match": WEIGHTS})
        self.run_tool("fetch", check=0)
        gets = self.cdn_gets(WEIGHTS)
        self.assertEqual([range_start(r) for r in gets], [None, cut])
        self.assertEqual(gets[0]["bytes"], cut)
        # The retry went straight to the CDN URL the first resolve led to (a 403 from it would
        # send the file back to the Hub).
        self.assertEqual(len(self.resolve_gets(WEIGHTS)), 1)
        self.assert_complete()

    def test_connection_dropped_before_any_answer_is_retried(self):
        self.lock(WEIGHTS_MANIFEST)
        self.hub.add_fault({"action": "drop", "listener": "cdn", "match": WEIGHTS})
        self.run_tool("fetch", check=0)
        self.assertEqual([r["status"] for r in self.cdn_gets(WEIGHTS)], [0, 200])
        self.assert_complete()

    def test_stall_is_aborted_after_the_download_timeout_and_resumed(self):
        self.lock(WEIGHTS_MANIFEST)
        # The Hub sends the redirect's headers, then silence: a stall before the first byte.
        self.hub.add_fault({"action": "stall", "after": 0, "seconds": 60, "listener": "hub",
                            "match": "/resolve/"})
        # The CDN sends headers and 1 MB, then silence for a minute.
        self.hub.add_fault({"action": "stall", "after": MB, "seconds": 60, "listener": "cdn",
                            "match": WEIGHTS})
        started = time.monotonic()
        # HF_HUB_DOWNLOAD_TIMEOUT=1: one second without a byte ends a transfer.
        self.run_tool("fetch", env=self.env(HF_HUB_DOWNLOAD_TIMEOUT="1"), check=0)
        self.assertLess(time.monotonic() - started, 15)
        # The Hub again after its stall; the CDN URL it gave, after the CDN's.
        self.assertEqual([r["faults"] for r in self.resolve_gets(WEIGHTS)],
                         [["stall"], []])
        self.assertEqual([range_start(r) for r in self.cdn_gets(WEIGHTS)], [None, MB])
        self.assert_complete()

    def test_resume_across_runs_after_kill_9(self):
        self.lock(WEIGHTS_MANIFEST)
        throttle(self.hub, 4 * MB)
        process = self.start("fetch")
        self.wait_for_partial(process, 2 * MB)
        process.kill()
        process.wait()
        left = self.partials()
        self.assertEqual(len(left), 1, left)
        kept = max(left.values())
        self.assert_not_linked(WEIGHTS)
        self.hub.clear_faults()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        size = self.hub.file(LARGE, WEIGHTS).size
        gets = self.settled(lambda: self.cdn_gets(WEIGHTS),
                            lambda gets: len(gets) == 1 and
                            gets[0]["bytes"] == size - (range_start(gets[0]) or 0))
        self.assertEqual(len(gets), 1)
        # The bytes the record vouched for are kept: all but those of the last moments before
        # the kill (the record is written every 250 ms, plus a turn of the loop; 4 MB/s here).
        start = range_start(gets[0])
        self.assertLessEqual(start, kept)
        self.assertGreaterEqual(start, kept - 2 * MB)
        self.assertEqual(gets[0]["bytes"], size - start)
        self.assert_complete()

    def test_a_range_answered_with_200_starts_over_instead_of_appending(self):
        self.lock(WEIGHTS_MANIFEST)
        throttle(self.hub, 4 * MB)
        process = self.start("fetch")
        self.wait_for_partial(process, MB)
        process.kill()
        process.wait()
        self.hub.clear_faults()
        self.hub.reset_requests()
        self.hub.add_fault({"action": "ignore_range", "listener": "cdn", "match": WEIGHTS})
        self.run_tool("fetch", check=0)
        gets = self.cdn_gets(WEIGHTS)
        self.assertEqual(len(gets), 1)
        self.assertIsNotNone(gets[0]["range"])
        self.assertEqual(gets[0]["status"], 200)
        # Exactly the file, not the partial plus the file (huggingface_hub < 1.5 appended).
        self.assert_complete()

    def test_python_style_partial_is_resumed(self):
        """A `blobs/<etag>.incomplete` left by huggingface_hub <= 1.17 is continued."""
        self.lock(WEIGHTS_MANIFEST)
        weights = self.hub.file(LARGE, WEIGHTS)
        data = weights.blob.content.read_all()
        self.blobs().mkdir(parents=True)
        (self.blobs() / f"{weights.etag}.incomplete").write_bytes(data[:3 * MB])
        self.run_tool("fetch", check=0)
        self.assertEqual([range_start(r) for r in self.cdn_gets(WEIGHTS)], [3 * MB])
        self.assert_complete()


class TestIntegrity(FaultTestCase):

    def test_one_corrupted_byte_is_downloaded_again(self):
        self.lock(WEIGHTS_MANIFEST)
        self.hub.add_fault({"action": "corrupt", "offset": 123457, "listener": "cdn",
                            "match": WEIGHTS})
        self.run_tool("fetch", check=0)
        gets = self.cdn_gets(WEIGHTS)
        self.assertEqual([g["faults"] for g in gets], [["corrupt"], []])
        self.assertEqual([g["range"] for g in gets], [None, None])
        self.assert_complete()

    def test_persistent_corruption_fails_with_both_hashes_and_links_nothing(self):
        self.lock(WEIGHTS_MANIFEST)
        weights = self.hub.file(LARGE, WEIGHTS)
        data = bytearray(weights.blob.content.read_all())
        data[777] ^= 0xFF
        corrupted = hashlib.sha256(data).hexdigest()
        self.hub.add_fault({"action": "corrupt", "offset": 777, "listener": "cdn",
                            "match": WEIGHTS, "times": -1})
        result = self.run_tool("fetch", check=4)
        self.assertIn("large/weights.dat", result.stderr)
        self.assertIn(f"expected sha256 {weights.sha256}", result.stderr)
        self.assertIn(f"got {corrupted}", result.stderr)
        self.assertIn("tried 2 times", result.stderr)
        self.assertEqual(len(self.cdn_gets(WEIGHTS)), 2)
        self.assert_not_linked(WEIGHTS)
        # Bytes that failed the hash are not kept for a resume.
        self.assertEqual(self.partials(), {})
        self.assert_snapshots_hold_no_temporaries()

    def test_truncated_answers_never_appear_under_snapshots(self):
        self.lock(WEIGHTS_MANIFEST)
        # Every answer cut after 1 MB, forever: the download keeps resuming while it progresses,
        # but nothing is linked until every byte is in and checked.
        self.hub.add_fault({"action": "cut", "after": MB, "listener": "cdn", "match": WEIGHTS,
                            "times": 3})
        self.run_tool("fetch", check=0)
        self.assertEqual([range_start(r) for r in self.cdn_gets(WEIGHTS)],
                         [None, MB, 2 * MB, 3 * MB])
        self.assert_complete()


class TestInterruption(FaultTestCase):

    def interrupted_fetch(self, sig):
        self.lock(LARGE_MANIFEST)
        throttle(self.hub, 4 * MB, match="")
        process = self.start("fetch", "-j", "4")
        self.wait_for_partial(process, 2 * MB)
        return self.interrupt(process, sig)

    def assert_resumes(self):
        kept = self.partials()
        self.assertTrue(kept)
        for path in kept:
            # Parked under the name the next run (and huggingface_hub <= 1.17) looks for.
            self.assertRegex(path.name, r"^[0-9a-f]{64}\.incomplete$")
        self.assert_snapshots_hold_no_temporaries()
        self.hub.clear_faults()
        self.hub.reset_requests()
        self.run_tool("fetch", check=0)
        ranges = [r["range"] for path in (WEIGHTS, SAFETENSORS) for r in self.cdn_gets(path)]
        self.assertTrue(any(r and r.startswith("bytes=") for r in ranges), ranges)
        self.assert_complete()

    def test_ctrl_c_stops_within_a_second_and_the_next_fetch_resumes(self):
        seconds, code, out, err = self.interrupted_fetch(signal.SIGINT)
        self.assertEqual(code, 130, err)
        self.assertLess(seconds, 1.0, f"took {seconds:.2f} s to stop")
        lines = [line for line in err.splitlines() if line.startswith("hfmodels: error")]
        self.assertEqual(len(lines), 1, err)
        self.assertIn("interrupted", lines[0])
        self.assert_resumes()

    def test_sigterm(self):
        seconds, code, out, err = self.interrupted_fetch(signal.SIGTERM)
        self.assertEqual(code, 143, err)
        self.assertLess(seconds, 1.0, f"took {seconds:.2f} s to stop")
        self.assert_resumes()

    def test_ctrl_c_during_lock(self):
        self.write_manifest(LARGE_MANIFEST)
        self.hub.add_fault({"action": "latency", "seconds": 30, "match": "/revision/"})
        process = self.start("lock")
        deadline = time.monotonic() + 10
        while not self.requests()["requests"] and time.monotonic() < deadline:
            time.sleep(0.01)
        seconds, code, _, err = self.interrupt(process)
        self.assertEqual(code, 130, err)
        self.assertLess(seconds, 1.0)
        self.assertIn("interrupted", err)
        self.assertFalse(self.lockfile().exists())

    def test_ctrl_c_during_a_stall_and_during_a_backoff(self):
        self.lock(WEIGHTS_MANIFEST)
        self.hub.add_fault({"action": "stall", "after": MB, "seconds": 60, "listener": "cdn",
                            "match": WEIGHTS})
        process = self.start("fetch")
        self.wait_for_partial(process, MB)
        time.sleep(0.3)  # inside the stall: no byte moves
        seconds, code, _, err = self.interrupt(process)
        self.assertEqual(code, 130, err)
        self.assertLess(seconds, 1.0)
        # Waiting out a Retry-After of 30 s.
        self.hub.add_fault({"action": "status", "status": 503, "retry_after": 30,
                            "match": "/resolve/"})
        # The first run's requests must not count: a signal sent before the program has started
        # (a slow start under ASan on a loaded machine) kills it with the default action.
        self.hub.reset_requests()
        process = self.start("fetch")
        deadline = time.monotonic() + 10
        while not self.resolve_gets(WEIGHTS) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        seconds, code, _, err = self.interrupt(process)
        self.assertEqual(code, 130, err)
        self.assertLess(seconds, 1.0)
        self.hub.clear_faults()
        self.run_tool("fetch", check=0)
        self.assert_complete()


if __name__ == "__main__":
    unittest.main()
