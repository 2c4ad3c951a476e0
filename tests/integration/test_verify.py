"""`hfmodels verify`: re-hash the cache against the lockfile (issue 2)."""

import os
import unittest

from support import HubTestCase, HubTestCaseExtras, sha256_of

MANIFEST = """
    models:
      tiny:
        repo: test-org/tiny-model
      weird:
        repo: test-org/weird-paths
        include: ["*.txt", "hash#dir/"]
"""


class TestVerify(HubTestCaseExtras, HubTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)
        self.run_tool("fetch", check=0)
        self.hub.reset_requests()

    def cached(self, name, path):
        repo = {"tiny": "test-org/tiny-model", "weird": "test-org/weird-paths"}[name]
        return self.snapshot(repo) / path

    def flip_byte(self, name, path, offset=5):
        blob = os.path.realpath(self.cached(name, path))  # write through the resolved path
        with open(blob, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0x01]))
        return blob

    def test_clean_cache(self):
        result = self.run_tool("verify", check=0)
        total = sum(len(m["files"]) for m in self.read_lock()["models"].values())
        self.assertIn(f"Verified {total} files", result.stderr)
        self.assertIn("0 mismatched, 0 missing", result.stderr)
        self.assert_no_requests("verify")

    def test_flipped_byte_in_lfs_blob(self):
        blob = self.flip_byte("tiny", "model.safetensors", offset=100)
        expected = self.locked_files("tiny")["model.safetensors"]["sha256"]
        actual = sha256_of(blob)
        self.assertNotEqual(actual, expected)
        result = self.run_tool("verify", check=4)
        self.assertIn("tiny/model.safetensors", result.stderr)
        self.assertIn(expected, result.stderr)
        self.assertIn(actual, result.stderr)
        self.assertIn("1 mismatched", result.stderr)
        # Only the bad file is reported.
        self.assertNotIn("tiny/config.json", result.stderr)
        self.assertNotIn("weird/", result.stderr)
        self.assert_no_requests("verify")

    def test_a_damaged_blob_is_named_never_exported_and_repaired_as_the_hint_says(self):
        blob = self.flip_byte("tiny", "model.safetensors", offset=100)
        result = self.run_tool("verify", check=4)
        self.assertIn(blob, result.stderr, "verify names the blob to delete")
        # Same size, so fetch takes it as cached; export must not ship it.
        out = self.root / "exported"
        exported = self.run_tool("export", "tiny", "--to", out, check=4)
        self.assertIn("tiny/model.safetensors", exported.stderr)
        self.assertIn(blob, exported.stderr)
        self.assertFalse((out / "tiny" / "model.safetensors").exists())
        self.assertEqual([p for p in out.rglob("*") if p.name.endswith(".tmp")], [])
        # The repair the hint gives: delete the blob, fetch again.
        os.remove(blob)
        self.run_tool("fetch", check=0)
        self.run_tool("verify", check=0)
        self.run_tool("export", "tiny", "--to", out, check=0)
        self.assertEqual(sha256_of(out / "tiny" / "model.safetensors"),
                         self.locked_files("tiny")["model.safetensors"]["sha256"])

    def test_flipped_byte_in_regular_file_with_odd_name(self):
        blob = self.flip_byte("weird", "with space/file name.txt", offset=0)
        result = self.run_tool("verify", check=4)
        self.assertIn("weird/with space/file name.txt", result.stderr)
        self.assertIn(sha256_of(blob), result.stderr)
        self.assertIn(self.locked_files("weird")["with space/file name.txt"]["sha256"],
                      result.stderr)

    def test_truncated_file(self):
        path = self.cached("weird", "hash#dir/file#1.bin")
        blob = os.path.realpath(path)
        size = self.locked_files("weird")["hash#dir/file#1.bin"]["size"]
        os.truncate(blob, size // 2)
        result = self.run_tool("verify", check=4)
        self.assertIn("weird/hash#dir/file#1.bin", result.stderr)
        self.assertIn(sha256_of(blob), result.stderr)
        self.assertIn(str(size), result.stderr)

    def test_missing_file(self):
        self.cached("tiny", "tokenizer.json").unlink()
        result = self.run_tool("verify", check=1)
        self.assertIn("tiny/tokenizer.json", result.stderr)
        self.assertIn("hfmodels fetch", result.stderr)
        self.assertIn("1 missing", result.stderr)
        # Mismatch beats missing.
        self.flip_byte("tiny", "config.json")
        self.run_tool("verify", check=4)

    def test_verify_name_limits_to_that_model(self):
        self.flip_byte("tiny", "config.json")
        result = self.run_tool("verify", "weird", check=0)
        self.assertNotIn("tiny", result.stderr)
        count = len(self.read_lock()["models"]["weird"]["files"])
        self.assertIn(f"Verified {count} files", result.stderr)
        self.run_tool("verify", "tiny", check=4)
        self.run_tool("verify", "weird", "tiny", check=4)
        result = self.run_tool("verify", "tinny", check=2)
        self.assertIn("Did you mean 'tiny'", result.stderr)

    def test_json_one_line_per_file(self):
        self.flip_byte("tiny", "config.json")
        self.cached("weird", "plus+sign.txt").unlink()
        result = self.run_tool("--json", "verify", check=4)
        lines = self.json_lines(result.stdout)  # every stdout line is JSON
        events = [e for e in lines if e["event"] == "verify"]
        lock = self.read_lock()["models"]
        expected = sorted((name, f["path"]) for name, m in lock.items() for f in m["files"])
        self.assertEqual(sorted((e["model"], e["path"]) for e in events), expected)
        # Besides one line per file, only error events (here: the mismatch).
        errors = [e for e in lines if e["event"] != "verify"]
        self.assertEqual([(e["event"], e["code"], e["subject"]) for e in errors],
                         [("error", 4, "tiny/config.json")])
        states = {(e["model"], e["path"]): e["state"] for e in events}
        self.assertEqual(states.pop(("tiny", "config.json")), "mismatch")
        self.assertEqual(states.pop(("weird", "plus+sign.txt")), "missing")
        self.assertEqual(set(states.values()), {"ok"})
        bad = next(e for e in events if e["path"] == "config.json")
        self.assertEqual(bad["expected_sha256"], self.locked_files("tiny")["config.json"]["sha256"])
        self.assertEqual(bad["actual_sha256"], sha256_of(self.cached("tiny", "config.json")))

    def test_json_limited_to_name(self):
        result = self.run_tool("--json", "verify", "tiny", check=0)
        events = self.json_lines(result.stdout)
        self.assertEqual(len(events), len(self.read_lock()["models"]["tiny"]["files"]))
        self.assertEqual({e["state"] for e in events}, {"ok"})
        self.assertEqual({e["model"] for e in events}, {"tiny"})

    def test_fetch_after_verify_failure_repairs_truncated_blob(self):
        # A blob with the wrong size is not taken as cached: fetch downloads it again.
        blob = os.path.realpath(self.cached("tiny", "model.safetensors"))
        os.truncate(blob, 10)
        self.run_tool("verify", check=4)
        self.run_tool("fetch", check=0)
        self.run_tool("verify", check=0)


if __name__ == "__main__":
    unittest.main()
