"""status, path, export and the command line itself (issue 2)."""

import json
import os
import re
import unittest

from support import HubTestCase, HubTestCaseExtras, sha256_of, walk_all

MANIFEST = """
    models:
      done:
        repo: tiny-root-model
      partial:
        repo: test-org/tiny-model
      edited:
        repo: test-org/tiny-gguf
        quant: Q8_0
"""


class CommandsTestCase(HubTestCaseExtras, HubTestCase):
    pass


class TestStatus(CommandsTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)
        # done: every file; partial: none in its snapshot (lock keeps the regular files it
        # hashes as blobs only);
        # edited: locked and fetched, then its manifest entry changes; added: never locked.
        self.run_tool("fetch", "done", "edited", check=0)
        self.write_manifest(MANIFEST.replace("quant: Q8_0", "quant: Q4_K_M")
                            + "      added:\n        repo: test-org/weird-paths\n")
        self.hub.reset_requests()

    def rows(self, stdout):
        lines = stdout.splitlines()
        self.assertRegex(lines[0], r"^MODEL\s+COMMIT\s+FILES\s+SIZE\s+STATE$")
        return {line.split()[0]: line for line in lines[1:]}

    def test_table(self):
        result = self.run_tool("status", check=0)
        rows = self.rows(result.stdout)
        self.assertEqual(sorted(rows), ["added", "done", "edited", "partial"])
        lock = self.read_lock()["models"]
        for name in ("done", "partial", "edited"):
            commit = lock[name]["commit"]
            self.assertRegex(rows[name], rf"^{name}\s+{commit[:7]}\s+{len(lock[name]['files'])}\s")
            self.assertNotIn(commit[:8], rows[name])  # the short form
        self.assertTrue(rows["done"].endswith("cached"), rows["done"])
        self.assertTrue(rows["partial"].endswith("missing (6 of 6 files)"), rows["partial"])
        self.assertTrue(rows["edited"].endswith("stale"), rows["edited"])
        self.assertTrue(rows["added"].endswith("unlocked"), rows["added"])
        # Sizes: the locked bytes, human-readable.
        self.assertIn("7.6 KiB", rows["done"])
        self.assert_no_requests("status")

    def test_json(self):
        result = self.run_tool("status", "--json", check=0)
        events = {e["model"]: e for e in self.json_lines(result.stdout)}
        lock = self.read_lock()["models"]
        self.assertEqual({name: e["state"] for name, e in events.items()},
                         {"done": "cached", "partial": "missing", "edited": "stale",
                          "added": "unlocked"})
        for name in ("done", "partial", "edited"):
            self.assertEqual(events[name]["event"], "status")
            self.assertEqual(events[name]["commit"], lock[name]["commit"])
            self.assertEqual(events[name]["files"], len(lock[name]["files"]))
            self.assertEqual(events[name]["bytes"], sum(f["size"] for f in lock[name]["files"]))
        self.assertEqual(events["partial"]["missing"], 6)
        self.assertEqual(events["done"]["missing"], 0)
        self.assertEqual(result.stderr, "")

    def test_status_follows_the_cache(self):
        self.run_tool("fetch", "partial", check=0)
        rows = self.rows(self.run_tool("status", check=0).stdout)
        self.assertTrue(rows["partial"].endswith("cached"), rows["partial"])
        (self.snapshot("tiny-root-model") / "config.json").unlink()
        rows = self.rows(self.run_tool("status", check=0).stdout)
        self.assertTrue(rows["done"].endswith("missing (1 of 2 files)"), rows["done"])

    def test_without_lockfile(self):
        self.lockfile().unlink()
        result = self.run_tool("status", check=2)
        self.assertIn("hfmodels lock", result.stderr)


class TestPath(CommandsTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
              weird:
                repo: test-org/weird-paths
        """)
        self.run_tool("lock", check=0)
        self.hub.reset_requests()

    def test_snapshot_folder(self):
        self.run_tool("fetch", "tiny", check=0)
        self.hub.reset_requests()
        result = self.run_tool("path", "tiny", check=0)
        self.assertEqual(result.stdout, str(self.snapshot("test-org/tiny-model")) + "\n")
        self.assertEqual(result.stderr, "")
        self.assertTrue(os.path.isdir(result.stdout.strip()))

    def test_file_path(self):
        self.run_tool("fetch", "weird", check=0)
        self.hub.reset_requests()
        result = self.run_tool("path", "weird", "unicodé/ファイル.json", check=0)
        path = result.stdout.rstrip("\n")
        self.assertEqual(path, str(self.snapshot("test-org/weird-paths") / "unicodé/ファイル.json"))
        self.assertEqual(sha256_of(path),
                         self.hub.file("test-org/weird-paths", "unicodé/ファイル.json").sha256)
        result = self.run_tool("path", "weird", "with space/file name.txt", check=0)
        self.assertTrue(result.stdout.rstrip("\n").endswith("/with space/file name.txt"))
        self.assert_no_requests("path")

    def test_a_relative_cache_is_made_absolute_where_it_is_read(self):
        # A path printed (or compiled into a program by the CMake package) must not depend on
        # the directory it is later used from.
        commit = self.read_lock()["models"]["tiny"]["commit"]
        for args, env in [(("--cache-dir", "rel"), {}), ((), {"HF_HUB_CACHE": "rel"})]:
            with self.subTest(args=args, env=env):
                result = self.run_tool(*args, "path", "tiny", env=self.env(**env), check=0)
                self.assertEqual(result.stdout.strip(), str(
                    self.project / "rel" / "models--test-org--tiny-model" / "snapshots" / commit))

    def test_path_honours_cache_dir(self):
        other = self.root / "elsewhere"
        result = self.run_tool("--cache-dir", other, "path", "tiny", "config.json", check=0)
        commit = self.read_lock()["models"]["tiny"]["commit"]
        self.assertEqual(result.stdout.strip(), str(other / "models--test-org--tiny-model" /
                                                    "snapshots" / commit / "config.json"))

    def test_unknown_model(self):
        result = self.run_tool("path", "tinny", check=2)
        self.assertEqual(result.stdout, "")
        self.assertIn("tinny", result.stderr)
        self.assertIn("Did you mean 'tiny'", result.stderr)

    def test_unknown_file(self):
        result = self.run_tool("path", "tiny", "config.jsn", check=2)
        self.assertEqual(result.stdout, "")
        self.assertIn("config.jsn", result.stderr)
        self.assertIn("Did you mean 'config.json'", result.stderr)

    def test_file_of_another_model(self):
        result = self.run_tool("path", "tiny", "plus+sign.txt", check=2)
        self.assertIn("plus+sign.txt", result.stderr)


class TestExport(CommandsTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
              weird:
                repo: test-org/weird-paths
              other:
                repo: tiny-root-model
        """)
        self.run_tool("lock", check=0)

    def assert_exported(self, out, name):
        model = self.read_lock()["models"][name]
        # Besides the files, the local-dir records of huggingface_hub (test_shared_cache.py).
        exported = sorted(str(p.relative_to(out / name)) for p in walk_all(out / name)
                          if not p.is_dir() and ".cache/huggingface" not in str(p))
        self.assertEqual(exported, sorted(f["path"] for f in model["files"]))
        for locked in model["files"]:
            path = out / name / locked["path"]
            self.assertFalse(path.is_symlink(), locked["path"])
            self.assertTrue(path.is_file(), locked["path"])
            self.assertEqual(path.stat().st_size, locked["size"], locked["path"])
            self.assertEqual(sha256_of(path), locked["sha256"], locked["path"])

    def test_export_real_files(self):
        out = self.root / "dist"
        # Not fetched yet: export fetches what it needs first.
        self.run_tool("export", "tiny", "weird", "--to", out, check=0)
        self.assert_exported(out, "tiny")
        self.assert_exported(out, "weird")
        self.assertEqual(sorted(p.name for p in out.iterdir()), ["tiny", "weird"])
        # The export is a copy: changing it leaves the cache alone.
        (out / "tiny" / "config.json").write_text("changed")
        self.run_tool("verify", "tiny", check=0)

    def test_export_twice(self):
        out = self.root / "dist"
        self.run_tool("export", "tiny", "--to", out, check=0)
        first = {p: p.stat().st_mtime_ns for p in walk_all(out)}
        self.hub.reset_requests()
        result = self.run_tool("export", "tiny", "--to", out, check=0)
        self.assert_exported(out, "tiny")
        self.assert_no_requests("second export")
        self.assertEqual({p: p.stat().st_mtime_ns for p in walk_all(out)}, first)
        self.assertNotIn("error", result.stderr)
        # A damaged export is repaired by exporting again.
        (out / "tiny" / "model.safetensors").write_bytes(b"short")
        self.run_tool("export", "tiny", "--to", out, check=0)
        self.assert_exported(out, "tiny")

    def test_export_needs_a_name_and_a_destination(self):
        self.run_tool("export", "--to", self.root / "dist", check=2)
        self.run_tool("export", "tiny", check=2)
        result = self.run_tool("export", "tinny", "--to", self.root / "dist", check=2)
        self.assertIn("Did you mean 'tiny'", result.stderr)
        self.assertFalse((self.root / "dist").exists())


class TestCommandLine(CommandsTestCase):

    def test_version(self):
        result = self.run_tool("--version", check=0)
        self.assertRegex(result.stdout, r"^hfmodels \d+\.\d+\.\d+\n$")

    def test_help_lists_commands_and_exit_codes(self):
        result = self.run_tool("--help", check=0)
        for command in ("lock", "fetch", "verify", "path", "status", "export"):
            self.assertRegex(result.stdout, rf"(?m)^\s+{command}\s")
        self.assertIn("Exit codes", result.stdout)
        for code in range(7):
            self.assertRegex(result.stdout, rf"(?m)^\s+{code}\s+\S")
        for variable in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
            self.assertIn(variable, result.stdout)

    def test_unknown_command(self):
        result = self.run_tool("fetc", check=2)
        self.assertIn("'fetc'", result.stderr)
        self.assertIn("Did you mean 'fetch'", result.stderr)
        result = self.run_tool("-j", "2", "veryfy", check=2)
        self.assertIn("Did you mean 'verify'", result.stderr)
        result = self.run_tool("cache", "lss", check=2)
        self.assertIn("Did you mean 'cache ls'", result.stderr)
        result = self.run_tool("cache", check=2)
        self.assertIn("ls, rm, gc", result.stderr)

    def test_json_errors_before_any_command_runs_reach_stdout_too(self):
        # Bad options, bad settings and typos fail before a command runs; with --json a script
        # still gets the one error object on stdout.
        cases = [(("--json", "-j", "0", "fetch"), {}),
                 (("--json", "status"), {"HF_HUB_DOWNLOAD_TIMEOUT": "abc"}),
                 (("--json", "--mirror", "ftp://x", "fetch"), {}),
                 (("--json", "info", "x/y"), {"HF_ENDPOINT": "notaurl"}),
                 (("--json", "info", "x/y"), {"HF_ENDPOINT": "http://exa mple.com"}),
                 (("fech", "--json"), {})]
        for args, env in cases:
            with self.subTest(args=args):
                result = self.run_tool(*args, env=self.env(**env), check=2)
                lines = result.stdout.splitlines()
                self.assertEqual(len(lines), 1, result.stdout)
                event = json.loads(lines[0])
                self.assertEqual(event["event"], "error")
                self.assertEqual(event["code"], 2)
                self.assertTrue(result.stderr.startswith("hfmodels: error: "), result.stderr)

    def test_no_command(self):
        result = self.run_tool(check=2)
        self.assertTrue(result.stderr.startswith("hfmodels: error: "), result.stderr)

    def test_bad_jobs(self):
        self.write_manifest("""
            models:
              other:
                repo: tiny-root-model
        """)
        for value in ("0", "65", "many", "-1"):
            with self.subTest(jobs=value):
                result = self.run_tool("-j", value, "lock", check=2)
                self.assertIn("jobs", result.stderr.lower())
                self.assertFalse(self.lockfile().exists())
        self.assert_no_requests("bad -j")

    def test_errors_have_the_documented_shape(self):
        self.write_manifest("""
            models:
              other:
                repo: tiny-root-model
        """)
        result = self.run_tool("fetch", check=2)
        self.assertRegex(result.stderr, re.compile(r"^hfmodels: error: .+\. Run `hfmodels lock`"))


if __name__ == "__main__":
    unittest.main()
