"""`hfmodels lock`: what the lockfile pins, and when it re-resolves (issue 2)."""

import re
import unittest

from support import HubTestCase, HubTestCaseExtras, git_blob_sha1, sha256_of

TINY_FILES = [".gitattributes", "README.md", "config.json", "generation_config.json",
              "model.safetensors", "tokenizer.json"]
WEIRD_FILES = ["config.json", "deep/a/b/c/d/e.txt", "deep/a/model.safetensors",
               "hash#dir/file#1.bin", "percent%20literal.txt", "plus+sign.txt",
               "question?mark.txt", "sub/dir/nested.txt", "unicodé/ファイル.json",
               "with space/file name.txt"]


class LockTestCase(HubTestCaseExtras, HubTestCase):

    def assert_pins(self, name, repo, paths, rev="main", type="model"):
        """The model's lock entry pins exactly `paths` at `rev`, with the fake Hub's values."""
        model = self.read_lock()["models"][name]
        self.assertEqual(model["repo"], repo)
        self.assertEqual(model["type"], type)
        self.assertEqual(model["commit"], self.hub.commit_id(repo, rev, type=type))
        self.assertEqual([f["path"] for f in model["files"]], sorted(paths))
        for locked in model["files"]:
            expected = self.hub.file(repo, locked["path"], rev=rev, type=type)
            self.assertEqual(locked["size"], expected.size, locked["path"])
            self.assertEqual(locked["sha256"], expected.sha256, locked["path"])
            self.assertEqual(locked["etag"], expected.etag, locked["path"])
        return model


class TestLockPins(LockTestCase):

    def test_regular_and_lfs_files(self):
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
        """)
        self.run_tool("lock", check=0)
        model = self.assert_pins("tiny", "test-org/tiny-model", TINY_FILES)
        self.assertEqual(self.read_lock()["version"], 1)
        self.assertEqual(model["revision"], "main")
        self.assertRegex(model["manifest"], r"^sha256:[0-9a-f]{64}$")
        files = {f["path"]: f for f in model["files"]}
        # A regular file: the etag is the git blob sha1, and it still has its own sha256.
        config = self.hub.file("test-org/tiny-model", "config.json")
        self.assertFalse(config.lfs)
        self.assertRegex(files["config.json"]["etag"], r"^[0-9a-f]{40}$")
        self.assertEqual(files["config.json"]["etag"], git_blob_sha1(config.blob.content.read_all()))
        self.assertNotEqual(files["config.json"]["sha256"], files["config.json"]["etag"])
        # An LFS file: the etag is the sha256 of the content, not the pointer's git sha1.
        weights = self.hub.file("test-org/tiny-model", "model.safetensors")
        self.assertTrue(weights.lfs)
        self.assertEqual(files["model.safetensors"]["etag"], weights.sha256)
        self.assertNotEqual(files["model.safetensors"]["etag"], weights.oid)

    def test_lock_downloads_regular_files_into_the_cache(self):
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
        """)
        self.run_tool("lock", check=0)
        blobs = self.repo_dir("test-org/tiny-model") / "blobs"
        for path in TINY_FILES:
            entry = self.hub.file("test-org/tiny-model", path)
            if entry.lfs:
                continue
            self.assertEqual(sha256_of(blobs / entry.etag), entry.sha256, path)
        # As blobs only: no client may take a half snapshot for the revision (issue 9).
        self.assertFalse((self.repo_dir("test-org/tiny-model") / "snapshots").exists())
        self.assertFalse((self.repo_dir("test-org/tiny-model") / "refs").exists())
        # Weights are not downloaded to lock: the CDN was never asked.
        self.assertEqual(self.requests()["listeners"]["cdn"]["total"], 0)
        self.assertFalse((blobs / self.hub.file("test-org/tiny-model", "model.safetensors").etag)
                         .exists())

    def test_dataset(self):
        self.write_manifest("""
            models:
              squad:
                repo: test-datasets/tiny-dataset
                type: dataset
        """)
        self.run_tool("lock", check=0)
        self.assert_pins("squad", "test-datasets/tiny-dataset",
                         [".gitattributes", "README.md", "data/test.csv", "data/train.csv",
                          "data/train-00000-of-00001.parquet"], type="dataset")
        self.assertTrue(self.repo_dir("test-datasets/tiny-dataset", "dataset").is_dir())
        self.assertFalse(self.repo_dir("test-datasets/tiny-dataset", "model").exists())
        # The dataset was asked for under /datasets/, never as a model.
        paths = self.request_paths()
        self.assertTrue(any("/datasets/test-datasets/tiny-dataset" in p for p in paths), paths)
        self.assertFalse(any(p.startswith("/api/models/") for p in paths), paths)

    def test_include_exclude_patterns_as_hf_download(self):
        # The patterns mean what they mean to `hf download --include/--exclude`: fnmatch on the
        # whole path (`*` crosses `/`), and a trailing `/` names a folder.
        self.write_manifest("""
            models:
              every_txt:
                repo: test-org/weird-paths
                include: ["*.txt"]
              nested_txt:
                repo: test-org/weird-paths
                include: ["**/*.txt"]
                exclude: ["deep/"]
              deep:
                repo: test-org/weird-paths
                include: ["deep/"]
              no_weights:
                repo: test-org/weird-paths
                exclude: ["*.safetensors", "*.bin", "unicod*"]
              one_char:
                repo: test-org/weird-paths
                include: ["question?mark.tx?", "[ps]*.txt"]
        """)
        self.run_tool("lock", check=0)
        repo = "test-org/weird-paths"
        every_txt = ["deep/a/b/c/d/e.txt", "percent%20literal.txt", "plus+sign.txt",
                     "question?mark.txt", "sub/dir/nested.txt", "with space/file name.txt"]
        self.assert_pins("every_txt", repo, every_txt)
        self.assert_pins("nested_txt", repo, ["sub/dir/nested.txt", "with space/file name.txt"])
        self.assert_pins("deep", repo, ["deep/a/b/c/d/e.txt", "deep/a/model.safetensors"])
        self.assert_pins("no_weights", repo, ["config.json"] + every_txt)
        self.assert_pins("one_char", repo, ["percent%20literal.txt", "plus+sign.txt",
                                            "question?mark.txt", "sub/dir/nested.txt"])
        self.assertEqual(self.read_lock()["models"]["deep"]["patterns"], "fnmatch")

    def test_lockfile_of_the_segment_rule_is_not_stale(self):
        # Before the fnmatch rule, `**/*.txt` also took top-level files and `*` stayed within a
        # folder. A lockfile written then (no `patterns` key) keeps working as it is.
        self.write_manifest("""
            models:
              txt:
                repo: test-org/weird-paths
                include: ["**/*.txt"]
        """)
        self.run_tool("lock", check=0)
        digest = self.read_lock()["models"]["txt"]["manifest"]
        # The same files as the old rule selected, with the entry's digest and no `patterns`:
        # byte for byte what the old version wrote.
        other = self.root / "other"
        other.mkdir()
        self.write_manifest("""
            models:
              txt:
                repo: test-org/weird-paths
                include: ["*.txt"]
        """, folder=other)
        self.run_tool("lock", cwd=other, check=0)
        text = self.lockfile(other).read_text()
        self.assertIn("    patterns: fnmatch\n", text)
        old_text = re.sub(r"    manifest: \S+\n", f"    manifest: {digest}\n", text)
        old_text = old_text.replace("    patterns: fnmatch\n", "")
        self.lockfile().write_text(old_text)

        status = self.run_tool("status", check=0)
        self.assertIn("missing", status.stdout)
        self.assertNotIn("stale", status.stdout)
        self.run_tool("fetch", check=0)
        self.hub.reset_requests()
        self.run_tool("lock", check=0)
        self.assertEqual(self.lockfile().read_text(), old_text, "an unchanged entry keeps its pin")
        self.assert_no_requests("re-lock of an unchanged manifest")
        # A hand edit is still caught under the old rule: a file the entry never selected.
        edited = old_text.replace("    files:\n", "    files:\n      - path: config.json\n"
                                  "        size: 1\n        sha256: " + "a" * 64 +
                                  "\n        etag: " + "b" * 40 + "\n", 1)
        self.lockfile().write_text(edited)
        self.assertIn("which the manifest entry does not select",
                      self.run_tool("fetch", check=6).stderr)
        # `lock --update` re-resolves the branch under the new rule, and records it.
        self.lockfile().write_text(old_text)
        self.run_tool("lock", "--update", check=0)
        after = self.read_lock()["models"]["txt"]
        self.assertEqual(after["patterns"], "fnmatch")
        self.assertEqual([f["path"] for f in after["files"]],
                         ["deep/a/b/c/d/e.txt", "sub/dir/nested.txt", "with space/file name.txt"])

    def test_quant_single_file_and_split_shards(self):
        self.write_manifest("""
            models:
              q4km:
                repo: test-org/tiny-gguf
                quant: Q4_K_M
              q4k:
                repo: test-org/tiny-gguf
                quant: Q4_K
              q5:
                repo: test-org/tiny-gguf
                quant: Q5_K_M
              q8:
                repo: test-org/tiny-gguf
                quant: q8_0
        """)
        self.run_tool("lock", check=0)
        repo = "test-org/tiny-gguf"
        self.assert_pins("q4km", repo, ["model-Q4_K_M.gguf"])
        # Q4_K is a prefix of Q4_K_M: it must not pick that file too.
        self.assert_pins("q4k", repo, ["model-Q4_K.gguf"])
        self.assert_pins("q5", repo, ["Q5_K_M/model-Q5_K_M-00001-of-00002.gguf",
                                      "Q5_K_M/model-Q5_K_M-00002-of-00002.gguf"])
        self.assert_pins("q8", repo, ["model-Q8_0.gguf"])

    def test_a_gguf_repo_locked_whole_warns_with_its_quantizations(self):
        self.write_manifest("""
            models:
              every:
                repo: test-org/tiny-gguf
              one:
                repo: test-org/tiny-gguf
                quant: Q8_0
        """)
        result = self.run_tool("lock", check=0)
        warnings = [line for line in result.stderr.splitlines() if "quantizations" in line]
        self.assertEqual(len(warnings), 1, result.stderr)
        self.assertIn("every: test-org/tiny-gguf holds 4 GGUF quantizations", warnings[0])
        for quant in ("Q4_K ", "Q4_K_M ", "Q5_K_M ", "Q8_0 "):
            self.assertIn(quant, warnings[0])
        self.assertIn("`hfmodels add test-org/tiny-gguf:Q4_K`", warnings[0])

    def test_the_card_licence_is_recorded(self):
        self.write_manifest("""
            models:
              licensed:
                repo: test-org/tiny-gguf
                quant: Q8_0
              pinned:
                repo: test-org/multi-quant-GGUF
                revision: %s
                quant: Q2_K
              unlicensed:
                repo: tiny-root-model
        """ % self.hub.commit_id("test-org/multi-quant-GGUF", "main"))
        self.run_tool("lock", check=0)
        models = self.read_lock()["models"]
        self.assertEqual(models["licensed"]["license"], "apache-2.0")
        self.assertEqual(models["pinned"]["license"], "mit", "a commit pin asks for it too")
        self.assertNotIn("license", models["unlicensed"])
        self.assertIn("    license: apache-2.0\n    manifest: ", self.lockfile().read_text())
        # A lockfile without it (written before it existed) still reads.
        text = self.lockfile().read_text().replace("    license: apache-2.0\n", "")
        self.lockfile().write_text(text)
        self.run_tool("fetch", "licensed", check=0)

    def test_exact_files(self):
        self.write_manifest("""
            models:
              picked:
                repo: test-org/weird-paths
                files: ["with space/file name.txt", "hash#dir/file#1.bin", config.json]
        """)
        self.run_tool("lock", check=0)
        self.assert_pins("picked", "test-org/weird-paths",
                         ["config.json", "hash#dir/file#1.bin", "with space/file name.txt"])

    def test_weird_paths_and_root_repo(self):
        self.write_manifest("""
            models:
              weird:
                repo: test-org/weird-paths
              root:
                repo: tiny-root-model
        """)
        self.run_tool("lock", check=0)
        self.assert_pins("weird", "test-org/weird-paths", WEIRD_FILES)
        self.assert_pins("root", "tiny-root-model", ["config.json", "model.safetensors"])
        # Regular files with odd names were downloaded during lock and hashed from their bytes.
        blobs = self.repo_dir("test-org/weird-paths") / "blobs"
        for path in ["unicodé/ファイル.json", "with space/file name.txt", "percent%20literal.txt",
                     "question?mark.txt", "plus+sign.txt"]:
            entry = self.hub.file("test-org/weird-paths", path)
            self.assertEqual(sha256_of(blobs / entry.etag), entry.sha256, path)
            self.assertEqual(self.locked_files("weird")[path]["sha256"], entry.sha256, path)
        self.assertTrue((self.cache / "models--tiny-root-model" / "blobs").is_dir())

    def test_models_are_sorted(self):
        self.write_manifest("""
            models:
              zeta:
                repo: tiny-root-model
              alpha:
                repo: test-org/tiny-model
                include: ["*.json"]
              Mid:
                repo: test-org/tiny-gguf
                quant: Q8_0
        """)
        self.run_tool("lock", check=0)
        lock = self.read_lock()
        self.assertEqual(lock["order"], sorted(["zeta", "alpha", "Mid"]))
        for model in lock["models"].values():
            paths = [f["path"] for f in model["files"]]
            self.assertEqual(paths, sorted(paths))


class TestRelock(LockTestCase):

    MANIFEST = """
        models:
          tiny:
            repo: test-org/tiny-model
          weird:
            repo: test-org/weird-paths
            include: ["**/*.txt"]
          gguf:
            repo: test-org/tiny-gguf
            quant: Q5_K_M
    """

    def test_unchanged_manifest_is_byte_identical_and_offline(self):
        self.write_manifest(self.MANIFEST)
        self.run_tool("lock", check=0)
        first = self.lockfile().read_bytes()
        self.hub.reset_requests()
        result = self.run_tool("lock", check=0)
        self.assertEqual(self.lockfile().read_bytes(), first)
        self.assert_no_requests("re-lock of an unchanged manifest")
        self.assertIn("unchanged", result.stderr)
        # No timestamps or other run-dependent content: a fresh lock elsewhere gives the same bytes.
        other = self.root / "other"
        other.mkdir()
        self.write_manifest(self.MANIFEST, folder=other)
        self.run_tool("lock", cwd=other, check=0)
        self.assertEqual(self.lockfile(other).read_bytes(), first)

    def test_edit_reresolves_only_that_entry(self):
        self.write_manifest(self.MANIFEST)
        self.run_tool("lock", check=0)
        before = self.read_lock()
        self.write_manifest(self.MANIFEST.replace('include: ["**/*.txt"]',
                                                  'include: ["sub/**", "*.json"]'))
        self.hub.reset_requests()
        result = self.run_tool("lock", check=0)
        after = self.read_lock()
        self.assertEqual(after["models"]["tiny"], before["models"]["tiny"])
        self.assertEqual(after["models"]["gguf"], before["models"]["gguf"])
        self.assertEqual([f["path"] for f in after["models"]["weird"]["files"]],
                         ["config.json", "sub/dir/nested.txt", "unicodé/ファイル.json"])
        self.assertNotEqual(after["models"]["weird"]["manifest"],
                            before["models"]["weird"]["manifest"])
        paths = self.request_paths()
        self.assertTrue(paths, "the edited entry must be resolved against the Hub")
        self.assertTrue(all("weird-paths" in p for p in paths), paths)
        self.assertIn("1 resolved, 2 unchanged", result.stderr)

    def test_lock_name_only_touches_name(self):
        self.write_manifest("""
            models:
              a:
                repo: test-org/tiny-model
                include: ["*.json"]
              b:
                repo: tiny-root-model
        """)
        self.run_tool("lock", "a", check=0)
        lock = self.read_lock()
        self.assertEqual(list(lock["models"]), ["a"])
        self.assertTrue(all("tiny-root-model" not in p for p in self.request_paths()))
        self.assertFalse((self.cache / "models--tiny-root-model").exists())
        # Edit both; `lock b` re-resolves b and leaves a's (now stale) entry exactly as it was.
        self.run_tool("lock", check=0)
        before = self.read_lock()
        self.write_manifest("""
            models:
              a:
                repo: test-org/tiny-model
                include: ["*.md"]
              b:
                repo: tiny-root-model
                include: ["*.json"]
        """)
        self.hub.reset_requests()
        self.run_tool("lock", "b", check=0)
        after = self.read_lock()
        self.assertEqual(after["models"]["a"], before["models"]["a"])
        self.assertEqual([f["path"] for f in after["models"]["b"]["files"]], ["config.json"])
        self.assertTrue(all("tiny-root-model" in p for p in self.request_paths()),
                        self.request_paths())
        # a is stale now: fetch says so.
        result = self.run_tool("fetch", check=6)
        self.assertIn("a", result.stderr)

    def test_lock_unknown_name(self):
        self.write_manifest(self.MANIFEST)
        result = self.run_tool("lock", "tinny", check=2)
        self.assertIn("tinny", result.stderr)
        self.assertIn("tiny", result.stderr.replace("tinny", ""))
        self.assertFalse(self.lockfile().exists())

    def test_removed_model_disappears(self):
        self.write_manifest(self.MANIFEST)
        self.run_tool("lock", check=0)
        self.assertIn("gguf", self.read_lock()["models"])
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
              weird:
                repo: test-org/weird-paths
                include: ["**/*.txt"]
        """)
        before = self.read_lock()
        self.hub.reset_requests()
        result = self.run_tool("lock", check=0)
        after = self.read_lock()
        self.assertEqual(after["order"], ["tiny", "weird"])
        self.assertEqual(after["models"]["tiny"], before["models"]["tiny"])
        self.assertNotIn("gguf", self.lockfile().read_text(encoding="utf-8"))
        self.assertIn("removed", result.stderr)
        self.assert_no_requests("removing an entry")


class TestLockUpdate(LockTestCase):

    def write_versioned(self, c1):
        self.write_manifest(f"""
            models:
              branch:
                repo: test-org/versioned
                revision: main
              tag:
                repo: test-org/versioned
                revision: v1
              sha:
                repo: test-org/versioned
                revision: {c1}
              default:
                repo: test-org/versioned
        """)

    def test_update_follows_branches_only(self):
        repo = "test-org/versioned"
        c1 = self.hub.commit_id(repo, "c1")
        c2 = self.hub.commit_id(repo, "c2")
        self.write_versioned(c1)
        self.run_tool("lock", check=0)
        lock = self.read_lock()
        for name in ("branch", "tag", "sha", "default"):
            self.assertEqual(lock["models"][name]["commit"], c1, name)
        self.assertEqual(lock["models"]["sha"]["revision"], c1)
        self.assertEqual(lock["models"]["tag"]["revision"], "v1")
        self.assert_pins("branch", repo, ["config.json", "model.safetensors", "old.txt",
                                          "same.txt"], rev="c1")

        self.move_ref(repo, "main", "c2")
        self.move_ref(repo, "v1", "c2", kind="tag")

        # Without --update the pins stay (cargo semantics) and nothing is asked.
        self.hub.reset_requests()
        before = self.lockfile().read_bytes()
        self.run_tool("lock", check=0)
        self.assertEqual(self.lockfile().read_bytes(), before)
        self.assert_no_requests("lock without --update")

        self.run_tool("lock", "--update", check=0)
        lock = self.read_lock()
        self.assertEqual(lock["models"]["branch"]["commit"], c2)
        self.assertEqual(lock["models"]["default"]["commit"], c2)
        self.assertEqual(lock["models"]["tag"]["commit"], c1)
        self.assertEqual(lock["models"]["sha"]["commit"], c1)
        self.assert_pins("branch", repo, ["added.txt", "config.json", "model.safetensors",
                                          "same.txt"], rev="c2")
        self.assert_pins("tag", repo, ["config.json", "model.safetensors", "old.txt",
                                       "same.txt"], rev="c1")
        # The changed file got a new pin, the unchanged one kept its bytes.
        old_files = {f["path"]: f for f in lock["models"]["tag"]["files"]}
        new_files = {f["path"]: f for f in lock["models"]["branch"]["files"]}
        self.assertNotEqual(new_files["config.json"]["sha256"], old_files["config.json"]["sha256"])
        self.assertEqual(new_files["same.txt"], old_files["same.txt"])

    def test_update_single_name(self):
        repo = "test-org/versioned"
        self.write_manifest("""
            models:
              one:
                repo: test-org/versioned
              two:
                repo: test-org/versioned
                revision: main
        """)
        self.run_tool("lock", check=0)
        self.move_ref(repo, "main", "c2")
        self.run_tool("lock", "--update", "one", check=0)
        lock = self.read_lock()
        self.assertEqual(lock["models"]["one"]["commit"], self.hub.commit_id(repo, "c2"))
        self.assertEqual(lock["models"]["two"]["commit"], self.hub.commit_id(repo, "c1"))


class TestLockErrors(LockTestCase):

    def assert_fails_without_lockfile(self, code, *needles):
        result = self.run_tool("lock", check=code)
        self.assertTrue(result.stderr.startswith("hfmodels: error: "), result.stderr)
        for needle in needles:
            self.assertIn(needle, result.stderr)
        self.assertFalse(self.lockfile().exists())
        return result

    def test_selector_matching_nothing(self):
        for selector in ('include: ["*.xyz"]', "quant: Q3_K", 'files: ["nope.json"]',
                         'exclude: ["**"]'):
            with self.subTest(selector=selector):
                self.write_manifest(f"""
                    models:
                      fine:
                        repo: tiny-root-model
                      empty_one:
                        repo: test-org/tiny-gguf
                        {selector}
                """)
                self.assert_fails_without_lockfile(2, "empty_one")

    def test_selector_failure_keeps_existing_lockfile(self):
        self.write_manifest("""
            models:
              fine:
                repo: tiny-root-model
        """)
        self.run_tool("lock", check=0)
        before = self.lockfile().read_bytes()
        self.write_manifest("""
            models:
              fine:
                repo: tiny-root-model
              broken:
                repo: test-org/tiny-model
                include: ["weights/**"]
        """)
        result = self.run_tool("lock", check=2)
        self.assertIn("broken", result.stderr)
        self.assertEqual(self.lockfile().read_bytes(), before)

    def test_unknown_repo(self):
        self.write_manifest("""
            models:
              ghost:
                repo: test-org/does-not-exist
        """)
        result = self.assert_fails_without_lockfile(3, "test-org/does-not-exist")
        self.assertIn("not found", result.stderr)

    def test_unknown_revision(self):
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
                revision: no-such-branch
        """)
        result = self.assert_fails_without_lockfile(3, "no-such-branch")
        self.assertRegex(result.stderr, re.compile("revision", re.I))


if __name__ == "__main__":
    unittest.main()
