"""Offline mode: no connection at all; everything cached works, anything missing is exit 5 (issue 2)."""

import unittest

from support import HubTestCase, HubTestCaseExtras

MANIFEST = """
    models:
      tiny:
        repo: test-org/tiny-model
      gguf:
        repo: test-org/tiny-gguf
        quant: Q4_K_M
"""

# The three ways to say "offline", as (extra args, extra env).
OFFLINE_WAYS = {
    "HF_HUB_OFFLINE=1": ((), {"HF_HUB_OFFLINE": "1"}),
    "--offline": (("--offline",), {}),
    "HFMODELS_OFFLINE=1": ((), {"HFMODELS_OFFLINE": "1"}),
}


class TestOffline(HubTestCaseExtras, HubTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)
        self.run_tool("fetch", check=0)
        self.hub.reset_requests()

    def run_offline(self, way, *args, check=None):
        flags, env = OFFLINE_WAYS[way]
        return self.run_tool(*flags, *args, env=self.env(**env), check=check)

    def test_everything_cached_works_offline(self):
        for way in OFFLINE_WAYS:
            with self.subTest(way=way):
                result = self.run_offline(way, "fetch", check=0)
                self.assertEqual(result.stdout + result.stderr, "")
                self.run_offline(way, "fetch", "gguf", check=0)
                self.run_offline(way, "verify", check=0)
                path = self.run_offline(way, "path", "tiny", "config.json", check=0)
                self.assertEqual(path.stdout.strip(),
                                 str(self.snapshot("test-org/tiny-model") / "config.json"))
                self.run_offline(way, "status", check=0)
                self.assert_no_requests(way)

    def test_offline_with_a_file_missing(self):
        lock = self.read_lock()["models"]["tiny"]
        files = {f["path"]: f for f in lock["files"]}
        repo_dir = self.repo_dir("test-org/tiny-model")
        (repo_dir / "snapshots" / lock["commit"] / "model.safetensors").unlink()
        (repo_dir / "blobs" / files["model.safetensors"]["etag"]).unlink()
        for way in OFFLINE_WAYS:
            with self.subTest(way=way):
                result = self.run_offline(way, "fetch", check=5)
                self.assertIn("tiny/model.safetensors", result.stderr)
                self.assertIn("hfmodels fetch", result.stderr)
                # Only the missing file is listed.
                self.assertNotIn("tiny/config.json", result.stderr)
                self.assertNotIn("gguf/", result.stderr)
                self.assert_no_requests(way)
        # Asking only for the complete model still works offline.
        self.run_offline("HF_HUB_OFFLINE=1", "fetch", "gguf", check=0)
        result = self.run_offline("HF_HUB_OFFLINE=1", "fetch", "tiny", check=5)
        self.assertIn("hfmodels fetch tiny", result.stderr)
        self.assert_no_requests("offline fetch of one model")
        # And back online the same command repairs it.
        self.run_tool("fetch", check=0)
        self.run_offline("HF_HUB_OFFLINE=1", "fetch", check=0)

    def test_offline_missing_lists_every_missing_file(self):
        for name, repo in (("tiny", "test-org/tiny-model"), ("gguf", "test-org/tiny-gguf")):
            lock = self.read_lock()["models"][name]
            for locked in lock["files"]:
                (self.repo_dir(repo) / "snapshots" / lock["commit"] / locked["path"]).unlink()
                (self.repo_dir(repo) / "blobs" / locked["etag"]).unlink()
        result = self.run_offline("--offline", "fetch", check=5)
        for name in ("tiny", "gguf"):
            for locked in self.read_lock()["models"][name]["files"]:
                self.assertIn(f"{name}/{locked['path']}", result.stderr)
        self.assert_no_requests("offline fetch with an empty cache")

    def test_offline_lock_of_changed_entry(self):
        self.write_manifest(MANIFEST.replace("quant: Q4_K_M", "quant: Q8_0"))
        before = self.lockfile().read_bytes()
        for way in OFFLINE_WAYS:
            with self.subTest(way=way):
                result = self.run_offline(way, "lock", check=5)
                self.assertIn("gguf", result.stderr)
                self.assertEqual(self.lockfile().read_bytes(), before)
                self.assert_no_requests(way)

    def test_offline_lock_of_new_entry(self):
        self.write_manifest(MANIFEST + "      root:\n        repo: tiny-root-model\n")
        result = self.run_offline("HF_HUB_OFFLINE=1", "lock", check=5)
        self.assertIn("root", result.stderr)
        self.assert_no_requests("offline lock of a new entry")

    def test_offline_lock_of_unchanged_manifest(self):
        before = self.lockfile().read_bytes()
        for way in OFFLINE_WAYS:
            with self.subTest(way=way):
                self.run_offline(way, "lock", check=0)
                self.assertEqual(self.lockfile().read_bytes(), before)
                self.assert_no_requests(way)

    def test_offline_false_values_stay_online(self):
        self.write_manifest(MANIFEST + "      root:\n        repo: tiny-root-model\n")
        self.run_tool("lock", env=self.env(HF_HUB_OFFLINE="0"), check=0)
        self.assertIn("root", self.read_lock()["models"])


if __name__ == "__main__":
    unittest.main()
