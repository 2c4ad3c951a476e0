"""The day-two commands (issue 12): status --check, fetch --dry-run, --json on lock and path."""

import os
import unittest

from support import HubTestCase, HubTestCaseExtras

MANIFEST = """
    # a comment the commands must keep
    models:
      tiny:
        repo: test-org/tiny-model
      gguf:
        repo: test-org/tiny-gguf
        quant: Q5_K_M
"""


class DayTwoTestCase(HubTestCaseExtras, HubTestCase):
    pass


class TestStatusCheck(DayTwoTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)

    def test_exit_codes_follow_the_worst_state(self):
        self.assertIn("missing", self.run_tool("status", "--check", check=5).stdout)
        self.run_tool("status", check=0)  # without --check, a table and 0
        self.run_tool("fetch", check=0)
        self.hub.reset_requests()
        self.run_tool("status", "--check", check=0)
        # A cached file of the wrong size (replaced by hand, truncated): 4.
        target = self.snapshot("test-org/tiny-model") / "model.safetensors"
        blob = target.resolve()
        os.chmod(blob, 0o644)
        with open(blob, "r+b") as f:
            f.truncate(10)
        result = self.run_tool("status", "--check", check=4)
        self.assertIn("wrong size (1 of 6 files)", result.stdout)
        events = self.json_lines(self.run_tool("--json", "status", "--check", check=4).stdout)
        tiny = next(e for e in events if e["model"] == "tiny")
        self.assertEqual((tiny["state"], tiny["wrong_size"]), ("wrong size", 1))
        # A stale lockfile outranks the rest: 6.
        self.write_manifest(MANIFEST.replace("Q5_K_M", "Q8_0"))
        self.run_tool("status", "--check", check=6)
        # So does a model never locked.
        self.write_manifest(MANIFEST + "      more:\n        repo: tiny-root-model\n")
        self.run_tool("status", "--check", check=6)
        self.assert_no_requests("status --check")


class TestFetchDryRun(DayTwoTestCase):

    def test_lists_what_fetch_would_download_and_downloads_nothing(self):
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)
        self.hub.reset_requests()
        locked = {(name, f["path"]): f["size"] for name, model in self.read_lock()["models"].items()
                  for f in model["files"]}
        result = self.run_tool("--json", "fetch", "--dry-run", check=0)
        events = self.json_lines(result.stdout)
        downloads = [e for e in events if e["event"] == "download"]
        plan = events[-1]
        self.assertEqual(plan["event"], "plan")
        # lock already holds the regular files as blobs (it hashed them): those cost no bytes.
        self.assertEqual({(e["model"], e["path"]) for e in downloads}, set(locked))
        for e in downloads:
            self.assertEqual(e["size"], locked[(e["model"], e["path"])])
            self.assertIn(e["bytes"], (0, e["size"]))
        lfs = sum(e["size"] for e in downloads if e["path"].endswith((".gguf", ".safetensors")))
        self.assertEqual(plan["bytes"], lfs)
        self.assertEqual(plan["files"], len(locked))
        self.assertTrue(plan["fits"])
        self.assertGreater(plan["available"], 0)
        self.assert_no_requests("fetch --dry-run")
        self.assertFalse(self.snapshot("test-org/tiny-model").exists())
        text = self.run_tool("fetch", "--dry-run", "tiny", check=0).stdout
        self.assertIn("tiny/model.safetensors", text)
        self.assertNotIn("gguf/", text)
        self.assertRegex(text.splitlines()[-1], r"^Would download 6 files of 6 locked \(.*\); .* "
                                                r"free on .*: fits$")
        self.run_tool("fetch", check=0)
        text = self.run_tool("fetch", "--dry-run", check=0).stdout
        self.assertRegex(text, r"^Would download 0 files of 8 locked \(0 B\)")


class TestOutdated(DayTwoTestCase):

    def test_exit_1_after_the_branch_moves_and_0_after_lock_update(self):
        self.write_manifest("""
            models:
              follows:
                repo: test-org/versioned
              tagged:
                repo: test-org/versioned
                revision: v1
        """)
        self.run_tool("lock", check=0)
        before = self.lockfile().read_bytes()
        result = self.run_tool("outdated", check=0)
        self.assertIn("follows: main", result.stdout)
        self.assertIn("(current)", result.stdout)
        self.assertIn("tagged: v1", result.stdout)
        self.assertIn("(pinned)", result.stdout)

        self.move_ref("test-org/versioned", "main", "c2")
        result = self.run_tool("outdated", check=1)
        c1 = self.hub.commit_id("test-org/versioned", "v1")
        c2 = self.hub.commit_id("test-org/versioned", "v2")
        self.assertIn(f"follows: main {c1[:7]} -> {c2[:7]}, 4 files would change", result.stdout)
        for change in ("changed  config.json", "changed  model.safetensors", "added  added.txt",
                       "removed  old.txt"):
            self.assertIn(change, result.stdout)
        self.assertNotIn("same.txt", result.stdout)
        self.assertIn("hfmodels lock --update", result.stderr)
        events = {e["model"]: e for e in self.json_lines(
            self.run_tool("--json", "outdated", check=1).stdout)}
        self.assertEqual(events["follows"]["state"], "outdated")
        self.assertEqual((events["follows"]["locked"], events["follows"]["current"]), (c1, c2))
        self.assertEqual({c["path"]: c["change"] for c in events["follows"]["changes"]},
                         {"config.json": "changed", "model.safetensors": "changed",
                          "added.txt": "added", "old.txt": "removed"})
        self.assertEqual(events["tagged"]["state"], "pinned")
        self.run_tool("outdated", "tagged", check=0)
        self.assertEqual(self.lockfile().read_bytes(), before, "outdated writes nothing")

        self.run_tool("lock", "--update", check=0)
        self.run_tool("outdated", check=0)


class TestJsonEverywhere(DayTwoTestCase):

    def test_lock_and_path(self):
        self.write_manifest(MANIFEST)
        events = self.json_lines(self.run_tool("--json", "lock", check=0).stdout)
        self.assertEqual({(e["model"], e["state"]) for e in events if e["event"] == "locked"},
                         {("tiny", "resolved"), ("gguf", "resolved")})
        self.assertEqual(events[-1], {"event": "lock", "lockfile": "models.lock", "changed": True})
        events = self.json_lines(self.run_tool("--json", "path", "tiny", "config.json",
                                               check=0).stdout)
        self.assertEqual(events, [{"event": "path", "model": "tiny", "file": "config.json",
                                   "path": str(self.snapshot("test-org/tiny-model") /
                                               "config.json")}])


if __name__ == "__main__":
    unittest.main()
