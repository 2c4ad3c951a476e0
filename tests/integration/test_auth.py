"""Tokens: where hfmodels reads them, where it sends them, and where they must never appear (issue 2)."""

import os
import unittest

from support import HubTestCase, HubTestCaseExtras, sha256_of, walk_all

ALLOWED = "hf_test_allowed"
NO_ACCESS = "hf_test_user"
GATED = "test-org/gated-model"
MANIFEST = """
    models:
      gated:
        repo: test-org/gated-model
      public:
        repo: test-org/tiny-model
"""


class TestAuth(HubTestCaseExtras, HubTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest(MANIFEST)

    def assert_gated_model_cached(self):
        model = self.read_lock()["models"]["gated"]
        self.assertEqual(model["commit"], self.hub.commit_id(GATED, "main"))
        snapshot = self.snapshot(GATED)
        paths = [f["path"] for f in model["files"]]
        self.assertEqual(paths, [".gitattributes", "README.md", "config.json",
                                 "model.safetensors"])
        for locked in model["files"]:
            expected = self.hub.file(GATED, locked["path"])
            self.assertEqual(locked["sha256"], expected.sha256)
            self.assertEqual(sha256_of(snapshot / locked["path"]), expected.sha256)

    def assert_token_kept_secret(self, token, *outputs):
        requests = self.requests()
        self.assertGreater(requests["listeners"]["hub"]["with_auth"], 0,
                           "the Hub listener never saw the token")
        self.assertGreater(requests["listeners"]["cdn"]["total"], 0, "nothing came from the CDN")
        self.assertEqual(requests["listeners"]["cdn"]["with_auth"], 0,
                         "the token was sent to the CDN")
        for output in outputs:
            self.assertNotIn(token, output)
        needle = token.encode()
        for path in walk_all(self.cache) + [self.lockfile()]:
            if path.is_symlink():
                self.assertNotIn(token, os.readlink(path), path)
                self.assertNotIn(token, str(path))
            elif path.is_file():
                self.assertNotIn(needle, path.read_bytes(), path)
            self.assertNotIn(token, str(path))
        for path in self.project.iterdir():
            self.assertNotIn(needle, path.read_bytes(), path)

    def lock_and_fetch(self, env, *flags):
        locked = self.run_tool(*flags, "lock", env=env, check=0)
        fetched = self.run_tool(*flags, "fetch", env=env, check=0)
        self.assert_gated_model_cached()
        return locked, fetched

    def test_without_token_fails_clearly(self):
        result = self.run_tool("lock", check=3)
        self.assertIn("gated", result.stderr)
        self.assertIn("HF_TOKEN", result.stderr)
        self.assertIn("token", result.stderr.replace("HF_TOKEN", ""))
        self.assertIn("gated/", result.stderr)  # names the model/file
        self.assertFalse(self.lockfile().exists())
        self.assertEqual(self.requests()["listeners"]["hub"]["with_auth"], 0)

    def test_hf_token(self):
        locked, fetched = self.lock_and_fetch(self.env(HF_TOKEN=ALLOWED))
        self.assert_token_kept_secret(ALLOWED, locked.stdout, locked.stderr, fetched.stdout,
                                      fetched.stderr)

    def test_hugging_face_hub_token(self):
        locked, fetched = self.lock_and_fetch(self.env(HUGGING_FACE_HUB_TOKEN=ALLOWED))
        self.assert_token_kept_secret(ALLOWED, locked.stderr, fetched.stderr)

    def test_hf_token_wins_over_legacy_variable(self):
        self.lock_and_fetch(self.env(HF_TOKEN=ALLOWED, HUGGING_FACE_HUB_TOKEN=NO_ACCESS))

    def test_token_file_in_hf_home(self):
        self.hf_home.mkdir(parents=True, exist_ok=True)
        (self.hf_home / "token").write_text(ALLOWED + "\n")
        locked, fetched = self.lock_and_fetch(self.env())
        self.assert_token_kept_secret(ALLOWED, locked.stderr, fetched.stderr)

    def test_token_file_at_hf_token_path(self):
        token_file = self.root / "secrets" / "hf-token"
        token_file.parent.mkdir()
        token_file.write_text(ALLOWED)
        # A wrong token in the default place must not be used when HF_TOKEN_PATH is set.
        self.hf_home.mkdir(parents=True, exist_ok=True)
        (self.hf_home / "token").write_text(NO_ACCESS)
        self.lock_and_fetch(self.env(HF_TOKEN_PATH=str(token_file)))

    def test_token_without_access(self):
        result = self.run_tool("lock", env=self.env(HF_TOKEN=NO_ACCESS), check=3)
        self.assertIn("gated", result.stderr)
        self.assertIn("access", result.stderr)
        self.assertNotIn(NO_ACCESS, result.stderr + result.stdout)
        self.assertFalse(self.lockfile().exists())

    def test_invalid_token(self):
        result = self.run_tool("lock", env=self.env(HF_TOKEN="hf_not_a_real_token"), check=3)
        self.assertIn("token", result.stderr)
        self.assertNotIn("hf_not_a_real_token", result.stderr + result.stdout)

    def test_fetch_of_gated_model_without_token(self):
        self.run_tool("lock", env=self.env(HF_TOKEN=ALLOWED), check=0)
        self.hub.reset_requests()
        result = self.run_tool("fetch", check=3)
        self.assertIn("gated/model.safetensors", result.stderr)
        self.assertIn("HF_TOKEN", result.stderr)
        self.assertFalse((self.snapshot(GATED) / "model.safetensors").exists())

    def test_verbose_output_redacts_the_token(self):
        env = self.env(HF_TOKEN=ALLOWED)
        locked, fetched = self.lock_and_fetch(env, "-v")
        # -v really traces HTTP (so the check below means something).
        self.assertIn("Authorization", locked.stderr)
        verified = self.run_tool("-v", "verify", env=env, check=0)
        status = self.run_tool("-v", "status", env=env, check=0)
        self.assert_token_kept_secret(ALLOWED, locked.stdout, locked.stderr, fetched.stdout,
                                      fetched.stderr, verified.stdout, verified.stderr,
                                      status.stdout, status.stderr)

    def test_json_output_has_no_token(self):
        env = self.env(HF_TOKEN=ALLOWED)
        locked = self.run_tool("--json", "lock", env=env, check=0)
        fetched = self.run_tool("--json", "fetch", env=env, check=0)
        self.assert_token_kept_secret(ALLOWED, locked.stdout, locked.stderr, fetched.stdout,
                                      fetched.stderr)

    def test_token_is_never_a_command_line_value(self):
        result = self.run_tool("--token", ALLOWED, "lock", check=2)
        self.assertNotIn(ALLOWED, result.stdout)


if __name__ == "__main__":
    unittest.main()
