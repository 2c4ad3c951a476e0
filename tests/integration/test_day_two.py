"""The day-two commands (issue 12): status --check, fetch --dry-run, outdated, add, remove, info,
cache ls/rm/gc, and --json on every command."""

import hashlib
import json
import os
import shutil
import subprocess
import time
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
        # Offline, the fetch would fail: so does its dry run, after the list.
        offline = self.run_tool("fetch", "--dry-run", env=self.env(HF_HUB_OFFLINE="1"), check=5)
        self.assertIn("tiny/model.safetensors", offline.stdout)
        self.assertIn("offline", offline.stderr)
        self.run_tool("fetch", check=0)
        text = self.run_tool("fetch", "--dry-run", check=0).stdout
        self.assertRegex(text, r"^Would download 0 files of 8 locked \(0 B\)")
        self.run_tool("fetch", "--dry-run", env=self.env(HF_HUB_OFFLINE="1"), check=0)


class TestJsonOnEveryCommand(DayTwoTestCase):

    def test_every_line_of_stdout_is_a_json_object(self):
        self.write_manifest(MANIFEST)
        commands = [
            ["lock"], ["fetch", "--dry-run"], ["fetch"], ["verify"], ["verify", "--quick"],
            ["path", "tiny"], ["status"], ["status", "--check"], ["outdated"], ["sbom"],
            ["export", "tiny", "--to", str(self.root / "exported")],
            ["cmake-info", "--output", str(self.root / "models.cmake")],
            ["add", "tiny-root-model"], ["remove", "tiny_root_model"],
            ["add", "test-datasets/tiny-dataset", "--type", "dataset", "--name", "data"],
            ["info", "test-org/tiny-gguf"],
            ["download", "test-org/versioned", "old.txt", "--revision", "v1"],
            ["cache", "ls"], ["cache", "rm", "test-org/versioned", "--dry-run"],
            ["cache", "rm", "test-org/versioned", "--yes"], ["cache", "gc", "--dry-run"],
            ["cache", "gc"], ["completion", "bash"]]
        for command in commands:
            with self.subTest(command=command):
                result = self.run_tool("--json", *command, check=0)
                lines = result.stdout.splitlines()
                self.assertTrue(lines, f"{command}: no JSON output")
                for line in lines:
                    self.assertIsInstance(json.loads(line), dict, line)
        self.assertEqual(self.read_lock()["models"]["data"]["type"], "dataset")
        self.assertIn("  data:\n    repo: test-datasets/tiny-dataset\n    type: dataset\n",
                      (self.project / "models.yaml").read_text())


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


COMMENTED = """\
# yaml-language-server: $schema=models.schema.json
# The models of our app.
models:
  # the chat model
  chat:
    repo: test-org/tiny-gguf   # the team's pick
    quant: Q8_0

  tiny: {repo: tiny-root-model}
# notes at the end stay at the end
"""

MULTI = "test-org/multi-quant-GGUF"
MiB = 1 << 20


class TestAddRemove(DayTwoTestCase):

    def setUp(self):
        super().setUp()
        (self.project / "models.yaml").write_text(COMMENTED)
        self.run_tool("lock", check=0)

    def manifest_text(self):
        return (self.project / "models.yaml").read_text()

    def test_add_and_remove_round_trip_a_commented_manifest(self):
        lock_before = self.lockfile().read_text()
        self.run_tool("add", "test-org/tiny-gguf:Q5_K_M", "--name", "q5", check=0)
        text = self.manifest_text()
        at = COMMENTED.index("# notes at the end")
        self.assertEqual(text, COMMENTED[:at] + "  q5:\n    repo: test-org/tiny-gguf\n"
                         "    quant: Q5_K_M\n" + COMMENTED[at:])
        self.assertEqual([f["path"] for f in self.locked_files("q5").values()],
                         ["Q5_K_M/model-Q5_K_M-00001-of-00002.gguf",
                          "Q5_K_M/model-Q5_K_M-00002-of-00002.gguf"])
        self.run_tool("status", "--check", check=5)  # locked, not fetched: fresh
        self.run_tool("remove", "q5", check=0)
        self.assertEqual(self.manifest_text(), COMMENTED)
        self.assertEqual(self.lockfile().read_text(), lock_before)

    def test_add_an_exact_file_and_patterns(self):
        self.run_tool("add", "test-org/weird-paths:sub/dir/nested.txt", check=0)
        self.assertIn("  weird_paths:\n    repo: test-org/weird-paths\n"
                      "    files: [sub/dir/nested.txt]\n", self.manifest_text())
        self.assertEqual(list(self.locked_files("weird_paths")), ["sub/dir/nested.txt"])
        self.run_tool("add", "test-org/weird-paths", "--name", "texts", "--include", "*.txt",
                      "--exclude", "deep/", "--revision", "main", check=0)
        self.assertIn('  texts:\n    repo: test-org/weird-paths\n    include: ["*.txt"]\n'
                      '    exclude: [deep/]\n', self.manifest_text())
        self.assertEqual(len(self.locked_files("texts")), 5)
        events = self.json_lines(self.run_tool("--json", "add", "tiny-root-model", "--name",
                                               "again", check=0).stdout)
        self.assertEqual(events[-1]["event"], "added")
        self.assertEqual(events[-1]["model"], "again")

    def test_quant_auto_pins_the_largest_that_fits(self):
        result = self.run_tool("add", f"{MULTI}:auto", "--vram", str(5 * MiB), check=0)
        self.assertIn("Q8_0: 4.0 MiB, the largest that fits 5.0 MiB of VRAM", result.stderr)
        self.assertIn("  multi_quant_GGUF:\n    repo: test-org/multi-quant-GGUF\n"
                      "    quant: Q8_0\n", self.manifest_text())
        self.assertEqual(sorted(self.locked_files("multi_quant_GGUF")),
                         ["Q8_0/model-Q8_0-00001-of-00002.gguf",
                          "Q8_0/model-Q8_0-00002-of-00002.gguf"])
        self.run_tool("add", MULTI, "--quant", "auto", "--vram", "3M", "--name", "small",
                      check=0)
        self.assertIn("    quant: Q6_K\n", self.manifest_text())
        before = self.manifest_text()
        result = self.run_tool("add", MULTI, "--quant", "auto", "--vram", "100K", "--name",
                               "none", check=2)
        self.assertIn("no quantization fits", result.stderr)
        self.assertIn("IQ2_XXS", result.stderr)
        self.assertEqual(self.manifest_text(), before)

    def test_mistakes_leave_both_files_as_they_were(self):
        manifest, lock = self.manifest_text(), self.lockfile().read_text()
        for args, code, needle in [
                (("add", "test-org/tiny-gguf:Q9_9"), 2, "Available quants"),
                (("add", "test-org/no-such-repo"), 3, "no-such-repo"),
                (("add", "tiny-root-model", "--name", "chat"), 2, "`chat` is taken"),
                (("add", "test-org/tiny-gguf:Q4_K", "--quant", "Q8_0"), 2, "two quantizations"),
                (("add", "test-org/tiny-gguf:x.gguf", "--include", "*.json"), 2,
                 "cannot be combined"),
                (("remove", "chta"), 2, "Did you mean 'chat'?")]:
            with self.subTest(args=args):
                result = self.run_tool(*args, check=code)
                self.assertIn(needle, result.stderr)
                self.assertEqual(self.manifest_text(), manifest)
                self.assertEqual(self.lockfile().read_text(), lock)

    def test_add_creates_the_manifest(self):
        (self.project / "models.yaml").unlink()
        self.lockfile().unlink()
        self.run_tool("add", "tiny-root-model", check=0)
        self.assertEqual(self.manifest_text(), "models:\n  tiny_root_model:\n"
                                               "    repo: tiny-root-model\n")
        self.assertIn("tiny_root_model", self.read_lock()["models"])
        self.run_tool("remove", "tiny_root_model", check=0)
        self.assertEqual(self.manifest_text(), "models: {}\n")
        self.assertIn("models: {}\n", self.lockfile().read_text())


class TestInfo(DayTwoTestCase):

    def test_quantizations_with_sizes_and_fit_on_one_screen(self):
        result = self.run_tool("info", MULTI, "--vram", str(5 * MiB), check=0)
        lines = result.stdout.splitlines()
        self.assertLessEqual(len(lines), 24, result.stdout)
        c = self.hub.commit_id(MULTI, "main")
        self.assertEqual(lines[0], f"{MULTI} @ main ({c[:7]}): 13 files, 23.3 MiB; licence mit; "
                                   "not gated")
        self.assertRegex(lines[2], r"^QUANT\s+FILES\s+SIZE\s+FITS 5.0 MiB of VRAM$")
        rows = {line.split()[0]: line.split() for line in lines[3:12]}
        self.assertEqual(set(rows), {"IQ2_XXS", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K",
                                     "Q8_0", "BF16", "mmproj"})
        self.assertEqual(rows["Q8_0"][1:], ["2", "4.0", "MiB", "yes"])
        self.assertEqual(rows["BF16"][1:], ["2", "8.0", "MiB", "no"])
        self.assertIn("README.md", result.stdout)
        self.assertIn("(11 .gguf files in the table above; --json lists every file)", result.stdout)
        self.assertEqual(self.request_count(), 1, "one Hub call")

        info = self.json_lines(self.run_tool("--json", "info", f"{MULTI}@main", check=0).stdout)[0]
        self.assertEqual((info["commit"], info["license"], info["gated"]), (c, "mit", ""))
        self.assertEqual(len(info["files"]), 13)
        self.assertGreater(info["budget"], 0, "RAM minus the reserve, on this machine")
        quants = {q["name"]: q for q in info["quants"]}
        self.assertEqual(quants["BF16"]["bytes"], 8 * MiB)
        self.assertEqual(info["projectors"], ["mmproj-model-f16.gguf"])
        self.run_tool("info", "test-org/tiny-model", check=0)
        self.run_tool("info", f"{MULTI}:Q8_0", check=2)


class TestCache(DayTwoTestCase):
    """cache ls, rm and gc in a cache shared by two projects and another client."""

    def setUp(self):
        super().setUp()
        self.a = self.project
        self.b = self.root / "b"
        self.b.mkdir()
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
              gguf:
                repo: test-org/tiny-gguf
                quant: Q8_0
        """)
        self.write_manifest("""
            models:
              root:
                repo: tiny-root-model
              gguf:
                repo: test-org/tiny-gguf
                quant: Q4_K
        """, folder=self.b)
        for folder in (self.a, self.b):
            self.run_tool("lock", cwd=folder, check=0)
            self.run_tool("fetch", cwd=folder, check=0)
        # Another client's download (Python writes exactly this): a blob, a snapshot, a ref.
        self.other = self.cache / "models--other--model"
        blob = self.other / "blobs" / ("ab" * 32)
        blob.parent.mkdir(parents=True)
        blob.write_bytes(b"x" * 5000)
        snap = self.other / "snapshots" / ("c" * 40)
        snap.mkdir(parents=True)
        (snap / "model.bin").symlink_to("../../blobs/" + "ab" * 32)
        (self.other / "refs").mkdir()
        (self.other / "refs" / "main").write_text("c" * 40)

    def blob_of(self, name, path, folder=None):
        model = self.read_lock(folder)["models"][name]
        repo = "models--" + model["repo"].replace("/", "--")
        return self.cache / repo / "blobs" / self.locked_files(name, folder)[path]["etag"]

    def gc(self, *args, check=0):
        events = self.json_lines(self.run_tool("--json", "cache", "gc", *args, check=check).stdout)
        return sorted((e["repo"], e["name"]) for e in events if e["event"] != "summary")

    def test_gc_keeps_pins_and_other_clients_files(self):
        q8 = self.blob_of("gguf", "model-Q8_0.gguf")
        q4 = self.blob_of("gguf", "model-Q4_K.gguf", self.b)
        pinned = [p for p in self.cache.rglob("blobs/*") if p != q8]
        self.assertEqual(self.gc("--dry-run"), [], "everything is pinned")
        # Project a drops its GGUF model: the Q8_0 blob is pinned by nobody now.
        self.run_tool("remove", "gguf", check=0)
        planned = self.gc("--dry-run")
        self.assertEqual(planned, [("test-org/tiny-gguf", q8.name)])
        text = self.run_tool("cache", "gc", "--dry-run", check=0).stdout
        self.assertIn(f"would delete test-org/tiny-gguf blob {q8.name} ", text)
        self.assertTrue(q8.exists(), "a dry run deletes nothing")
        self.assertEqual(self.gc(), planned, "the real run deletes what the dry run said")
        self.assertFalse(q8.exists())
        self.assertFalse((self.snapshot("test-org/tiny-gguf") / "model-Q8_0.gguf").is_symlink(),
                         "no dangling link is left")
        for path in pinned:
            self.assertTrue(path.exists(), path)
        self.assertTrue(q4.exists())
        self.run_tool("status", "--check", check=0)
        self.run_tool("status", "--check", cwd=self.b, check=0)
        self.run_tool("verify", cwd=self.b, check=0)
        # --all: the other client's files too, with its snapshot and ref; still no pinned blob.
        self.assertEqual(self.gc("--all"), [("other/model", "ab" * 32)])
        self.assertFalse(self.other.exists())
        for path in pinned:
            if "other--model" not in str(path):
                self.assertTrue(path.exists(), path)

    def test_gc_leaves_what_is_being_downloaded_and_old_partials_go(self):
        import fcntl
        self.run_tool("remove", "gguf", check=0)
        blobs = self.cache / "models--test-org--tiny-gguf" / "blobs"
        lock_dir = self.cache / ".locks" / "models--test-org--tiny-gguf"
        lock_dir.mkdir(parents=True, exist_ok=True)
        victim = next(p for p in blobs.iterdir() if not self.pinned(p.name))
        with open(lock_dir / (victim.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.assertEqual(self.gc(), [], "a blob under its download lock stays")
            self.assertTrue(victim.exists())
        self.assertEqual(self.gc(), [("test-org/tiny-gguf", victim.name)])
        # Partial downloads: a day old goes, a fresh one stays.
        blobs = self.cache / "models--test-org--tiny-model" / "blobs"
        old = blobs / (("1" * 64) + ".incomplete")
        new = blobs / (("2" * 64) + ".host-1-ab.incomplete")
        old.write_bytes(b"o" * 100)
        new.write_bytes(b"n" * 100)
        two_days_ago = time.time() - 2 * 86400
        os.utime(old, (two_days_ago, two_days_ago))
        self.assertEqual(self.gc(), [("test-org/tiny-model", old.name)])
        self.assertTrue(new.exists())

    def pinned(self, etag):
        return any(f["etag"] == etag for folder in (self.a, self.b)
                   for m in self.read_lock(folder)["models"].values() for f in m["files"])

    def test_a_deleted_project_is_forgotten_and_older_than(self):
        import shutil
        shutil.rmtree(self.b)
        planned = self.gc("--dry-run")
        q4 = [n for r, n in planned if r == "test-org/tiny-gguf"]
        self.assertEqual(len(q4), 1, planned)
        self.assertIn(("tiny-root-model",), {(r,) for r, _ in planned})
        self.assertEqual(self.gc("--older-than", "30"), [], "everything was used just now")
        self.assertEqual(self.gc(), planned)

    def test_a_project_pinning_a_commit_twice_is_listed_once(self):
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
              tiny_json:
                repo: test-org/tiny-model
                include: ["*.json"]
        """)
        self.run_tool("lock", check=0)
        events = self.json_lines(self.run_tool("--json", "cache", "ls", check=0).stdout)
        tiny = next(e for e in events if e["repo"] == "test-org/tiny-model")
        self.assertEqual(tiny["projects"], [str(self.a / "models.lock")])

    def test_ls_and_rm(self):
        events = self.json_lines(self.run_tool("--json", "cache", "ls", check=0).stdout)
        by_repo = {}
        for e in events:
            by_repo.setdefault(e["repo"], []).append(e)
        self.assertEqual(set(by_repo), {"test-org/tiny-model", "test-org/tiny-gguf",
                                        "tiny-root-model", "other/model"})
        gguf = by_repo["test-org/tiny-gguf"][0]
        self.assertEqual(sorted(gguf["projects"]),
                         sorted([str(self.a / "models.lock"), str(self.b / "models.lock")]))
        self.assertEqual(gguf["refs"], ["main"])
        self.assertEqual(by_repo["other/model"][0]["projects"], [])
        self.assertEqual(by_repo["other/model"][0]["bytes"] >= 5000, True)
        table = self.run_tool("cache", "ls", check=0).stdout
        self.assertRegex(table, r"other/model\s+ccccccc main\s+1\s+")

        result = self.run_tool("cache", "rm", "other/model", "--dry-run", check=0)
        self.assertIn("would delete other/model blob " + "ab" * 32, result.stdout)
        self.assertTrue(self.other.exists())
        self.run_tool("cache", "rm", "other/model@main", "--yes", check=0)
        self.assertFalse(self.other.exists())
        # A pinned revision can be removed; the user is told its next fetch downloads it again.
        result = self.run_tool("cache", "rm", "test-org/tiny-gguf", "--yes", check=0)
        self.assertIn("is pinned by", result.stderr)
        self.run_tool("status", "--check", check=5)
        self.run_tool("cache", "rm", "nope/model", check=2)
        self.run_tool("fetch", check=0)
        self.run_tool("status", "--check", check=0)


def gguf_header(elements):
    """A GGUF v3 header with one F32 tensor of `elements`, padded to the 32-byte alignment."""
    import struct

    def s(text):
        return struct.pack("<Q", len(text)) + text.encode()
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    header += s("general.name") + struct.pack("<I", 8) + s("big")
    header += s("w") + struct.pack("<IQIQ", 1, elements, 0, 0)
    return header + b"\0" * (-len(header) % 32)


class TestVerifyQuick(DayTwoTestCase):

    def test_names_broken_files_without_hashing(self):
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)
        self.run_tool("fetch", check=0)
        result = self.run_tool("verify", "--quick", check=0)
        self.assertIn("Checked the structure of 8 files", result.stderr)
        # An HTML page saved as the GGUF (same size), and the safetensors cut short.
        gguf = (self.snapshot("test-org/tiny-gguf") / "Q5_K_M/model-Q5_K_M-00001-of-00002.gguf")
        blob = gguf.resolve()
        size = blob.stat().st_size
        os.chmod(blob, 0o644)
        page = b"<!DOCTYPE html><html><body>Please sign in</body></html>"
        blob.write_bytes(page + b" " * (size - len(page)))
        st = (self.snapshot("test-org/tiny-model") / "model.safetensors").resolve()
        os.chmod(st, 0o644)
        with open(st, "r+b") as f:
            f.truncate(st.stat().st_size - 7)
        result = self.run_tool("verify", "--quick", check=4)
        self.assertIn("cached file is damaged (gguf/Q5_K_M/model-Q5_K_M-00001-of-00002.gguf): "
                      "an HTML page", result.stderr)
        self.assertIn("(tiny/model.safetensors): the file has", result.stderr)
        events = {e["path"]: e for e in self.json_lines(
            self.run_tool("--json", "verify", "--quick", check=4).stdout) if e["event"] == "verify"}
        self.assertEqual(events["model.safetensors"]["state"], "mismatch")
        self.assertEqual(events["config.json"]["state"], "ok")

    def test_a_1_gib_file_is_checked_in_under_a_second(self):
        # A sparse 1 GiB GGUF and safetensors in the cache under a lockfile written by hand:
        # --quick reads their headers only (the sha256 in the lockfile is never computed).
        import struct
        repo = self.cache / "models--big--model"
        commit = "d" * 40
        gib = 1 << 30
        header = gguf_header((gib - 4096) // 4)
        files = {}
        for name, head, total in [
                ("whole.gguf", header, len(header) + (gib - 4096)),
                ("cut.gguf", header, len(header) + (gib - 4096) // 2),
                ("cut.safetensors", None, gib)]:
            if head is None:
                meta = json.dumps({"w": {"dtype": "U8", "shape": [gib * 2],
                                         "data_offsets": [0, gib * 2]}}).encode()
                head = struct.pack("<Q", len(meta)) + meta
            etag = hashlib.sha256(name.encode()).hexdigest()
            blob = repo / "blobs" / etag
            blob.parent.mkdir(parents=True, exist_ok=True)
            with open(blob, "wb") as f:
                f.write(head)
                f.truncate(total)
            link = repo / "snapshots" / commit / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("../../blobs/" + etag)
            files[name] = (total, etag)
        lock = ("# models.lock: generated by `hfmodels lock` from models.yaml. Do not edit; "
                "commit it.\nversion: 1\nmodels:\n  big:\n    repo: big/model\n    type: model\n"
                f"    revision: main\n    commit: {commit}\n    manifest: sha256:{'0' * 64}\n"
                "    files:\n")
        for name in sorted(files):
            total, etag = files[name]
            lock += (f"      - path: {name}\n        size: {total}\n        sha256: {etag}\n"
                     f"        etag: {etag}\n")
        self.lockfile().write_text(lock)
        start = time.monotonic()
        result = self.run_tool("verify", "--quick", check=4)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 1.0, result.stderr)
        self.assertIn("(big/cut.gguf): a GGUF file cut short: tensor `w`", result.stderr)
        self.assertIn("(big/cut.safetensors): a safetensors file of 1073741824 bytes whose header "
                      "describes", result.stderr)
        self.assertNotIn("whole.gguf", result.stderr)


class TestSbom(DayTwoTestCase):

    def test_valid_cyclonedx_1_6_with_licences_and_hashes(self):
        from test_js_interop import JS_DIR, node_tools
        node, _ = node_tools()
        self.write_manifest(MANIFEST + """
      multi:
        repo: test-org/multi-quant-GGUF
        quant: Q2_K
      data:
        repo: test-datasets/tiny-dataset
        type: dataset
""")
        self.run_tool("lock", check=0)
        out = self.project / "bom.json"
        self.run_tool("sbom", "-o", out, check=0)
        checked = subprocess.run([node, str(JS_DIR / "validate-sbom.mjs"), str(out)],
                                 capture_output=True, text=True, timeout=120)
        self.assertEqual(json.loads(checked.stdout), {"valid": True, "errors": []},
                         checked.stderr)
        bom = json.loads(out.read_text())
        self.assertEqual((bom["bomFormat"], bom["specVersion"]), ("CycloneDX", "1.6"))
        lock = self.read_lock()["models"]
        by_name = {c["bom-ref"].removeprefix("model:"): c for c in bom["components"]}
        self.assertEqual(set(by_name), set(lock))
        gguf = by_name["gguf"]
        self.assertEqual(gguf["type"], "machine-learning-model")
        self.assertEqual(gguf["purl"], f"pkg:huggingface/test-org/tiny-gguf@{lock['gguf']['commit']}")
        self.assertEqual(gguf["licenses"], [{"license": {"id": "Apache-2.0"}}])
        self.assertEqual(by_name["multi"]["licenses"], [{"license": {"id": "MIT"}}])
        for name, model in lock.items():
            self.assertEqual("licenses" in by_name[name], "license" in model, name)
        self.assertEqual(by_name["data"]["type"], "data")
        self.assertEqual({f["name"]: f["hashes"][0]["content"] for f in gguf["components"]},
                         {f["path"]: f["sha256"] for f in lock["gguf"]["files"]})
        # The same lockfile gives the same bytes; --json gives the same document on one line.
        self.assertEqual(self.run_tool("sbom", check=0).stdout, out.read_text())
        one_line = self.run_tool("--json", "sbom", check=0).stdout
        self.assertEqual(one_line.count("\n"), 1)
        self.assertEqual(json.loads(one_line), bom)
        # An unknown licence id is a named licence, still valid.
        text = self.lockfile().read_text().replace("license: mit", "license: llama3.1 OR mit")
        self.lockfile().write_text(text)
        self.run_tool("sbom", "-o", out, check=0)
        bom = json.loads(out.read_text())
        multi = next(c for c in bom["components"] if c["bom-ref"] == "model:multi")
        self.assertEqual(multi["licenses"], [{"license": {"name": "llama3.1"}},
                                             {"license": {"id": "MIT"}}])
        checked = subprocess.run([node, str(JS_DIR / "validate-sbom.mjs"), str(out)],
                                 capture_output=True, text=True, timeout=120)
        self.assertTrue(json.loads(checked.stdout)["valid"], checked.stdout[:2000])


    def test_a_stale_lockfile_gives_no_sbom(self):
        # What would ship is what fetch would fetch, and fetch refuses a stale lockfile.
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)
        self.write_manifest(MANIFEST.replace("quant: Q5_K_M", "quant: Q4_K"))
        out = self.project / "bom.json"
        result = self.run_tool("sbom", "-o", out, check=6)
        self.assertIn("hfmodels lock", result.stderr)
        self.assertFalse(out.exists())


class TestDownload(DayTwoTestCase):

    def test_one_repo_without_a_manifest(self):
        result = self.run_tool("download", "test-org/tiny-model", check=0)
        snapshot = self.snapshot("test-org/tiny-model")
        self.assertEqual(result.stdout, f"{snapshot}\n")
        self.assertEqual(sorted(p.name for p in snapshot.iterdir()),
                         [".gitattributes", "README.md", "config.json", "generation_config.json",
                          "model.safetensors", "tokenizer.json"])
        self.assertEqual((self.cache / "models--test-org--tiny-model" / "refs" / "main")
                         .read_text(), snapshot.name)
        self.assertFalse((self.project / "models.yaml").exists())
        self.assertFalse(self.lockfile().exists())
        # Already there: no download.
        self.hub.reset_requests()
        events = self.json_lines(self.run_tool("--json", "download", "test-org/tiny-model",
                                               check=0).stdout)
        self.assertEqual(events[-1]["downloaded"], 0)
        self.assertFalse(any("/resolve/" in p for p in self.request_paths()))

    def test_files_patterns_revision_and_local_dir(self):
        result = self.run_tool("download", "test-org/weird-paths", "--include", "*.txt",
                               "--exclude", "deep/", "--local-dir", self.root / "out", check=0)
        self.assertEqual(result.stdout, f"{self.root / 'out'}\n")
        out = sorted(str(p.relative_to(self.root / "out")) for p in (self.root / "out").rglob("*")
                     if p.is_file() and ".cache" not in p.parts)
        self.assertEqual(out, ["percent%20literal.txt", "plus+sign.txt", "question?mark.txt",
                               "sub/dir/nested.txt", "with space/file name.txt"])
        self.assertFalse(any(p.is_symlink() for p in (self.root / "out").rglob("*")))
        c1 = self.hub.commit_id("test-org/versioned", "v1")
        result = self.run_tool("download", "test-org/versioned@v1", "old.txt", check=0)
        self.assertEqual(result.stdout.strip(),
                         str(self.repo_dir("test-org/versioned") / "snapshots" / c1))
        self.assertEqual(sorted(p.name for p in (self.repo_dir("test-org/versioned") / "snapshots"
                                                 / c1).iterdir()), ["old.txt"])
        self.run_tool("download", "test-org/versioned", "nope.txt", check=2)
        self.run_tool("download", "test-org/versioned", "old.txt", "--include", "*", check=2)

    def test_offline_it_gives_what_the_cache_holds(self):
        # As `hf download` with HF_HUB_OFFLINE=1: the cached snapshot of the revision, no network.
        first = self.run_tool("download", "test-org/tiny-model", check=0).stdout
        self.hub.reset_requests()
        offline = self.env(HF_HUB_OFFLINE="1")
        self.assertEqual(self.run_tool("download", "test-org/tiny-model", env=offline,
                                       check=0).stdout, first)
        one = self.run_tool("download", "test-org/tiny-model", "config.json", env=offline,
                            check=0).stdout
        self.assertEqual(one, first)
        self.run_tool("download", "test-org/tiny-model", "--include", "*.json", "--local-dir",
                      self.root / "out", env=offline, check=0)
        self.assertEqual(sorted(p.name for p in (self.root / "out").iterdir()
                                if p.name != ".cache"),
                         ["config.json", "generation_config.json", "tokenizer.json"])
        self.assertEqual(self.request_count(), 0)
        # What the cache lacks: exit 5, saying what.
        result = self.run_tool("download", "test-org/tiny-gguf", env=offline, check=5)
        self.assertIn("test-org/tiny-gguf", result.stderr)
        result = self.run_tool("download", "test-org/tiny-model@v9", env=offline, check=5)
        self.assertIn("v9", result.stderr)
        self.assertEqual(self.request_count(), 0)

    def test_two_revisions_are_refused(self):
        result = self.run_tool("download", "test-org/versioned@v1", "--revision", "v2", check=2)
        self.assertIn("v1", result.stderr)
        self.assertIn("v2", result.stderr)

    def test_a_corrupted_regular_file_is_refused(self):
        # The fake Hub serves other bytes for config.json: its git blob id no longer matches.
        self.hub.add_fault({"action": "corrupt", "match": "/config.json", "listener": "hub",
                            "times": -1})
        result = self.run_tool("download", "test-org/tiny-model", "config.json", check=None)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertFalse((self.snapshot("test-org/tiny-model") / "config.json").exists())


class TestCompletion(DayTwoTestCase):

    def complete(self, script, line):
        words = line.split(" ")
        program = (f"{script}\nCOMP_WORDS=({' '.join(map(repr, words))}); "
                   f"COMP_CWORD={len(words) - 1}; _hfmodels; echo \"${{COMPREPLY[*]}}\"")
        return subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                              timeout=60).stdout.split()

    def test_bash_completes_commands_subcommands_and_options(self):
        script = self.run_tool("completion", "bash", check=0).stdout
        self.assertEqual(self.complete(script, "hfmodels ca"), ["cache"])
        self.assertEqual(self.complete(script, "hfmodels cache g"), ["gc"])
        self.assertEqual(self.complete(script, "hfmodels cache gc --d"), ["--dry-run"])
        self.assertEqual(self.complete(script, "hfmodels fetch --d"), ["--dry-run"])
        self.assertEqual(self.complete(script, "hfmodels verify --q"), ["--quick", "--quiet"])
        every = self.complete(script, "hfmodels ")
        for command in ("lock", "fetch", "verify", "path", "status", "export", "add", "remove",
                        "info", "outdated", "cache", "sbom", "download", "completion"):
            self.assertIn(command, every)
        self.assertEqual(self.run_tool("completion", "zsh", check=0).stdout.splitlines()[0],
                         "#compdef hfmodels")
        fish = self.run_tool("completion", "fish", check=0).stdout
        self.assertIn("complete -c hfmodels -n '__fish_use_subcommand' -a outdated", fish)
        self.assertIn("-n '__fish_seen_subcommand_from status' -l check -d", fish)
        for shell, check in (("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])):
            if shutil.which(check[0]):
                path = self.root / f"completion.{shell}"
                path.write_text(self.run_tool("completion", shell, check=0).stdout)
                self.assertEqual(subprocess.run(check + [str(path)]).returncode, 0, shell)
        self.run_tool("completion", "tcsh", check=2)


class TestVerifyQuickAgainstGgufJs(DayTwoTestCase):
    """verify --quick reads GGUF headers as @huggingface/gguf (the Hub's own parser) does."""

    def gguf_js(self, path):
        from test_js_interop import JS_DIR, node_tools
        node, _ = node_tools()
        result = subprocess.run([node, str(JS_DIR / "gguf-info.mjs"), str(path)],
                                capture_output=True, text=True, timeout=120)
        return json.loads(result.stdout)

    def test_same_verdicts_and_offsets(self):
        self.write_manifest("""
            models:
              multi:
                repo: test-org/multi-quant-GGUF
                include: ["Q8_0/", "*IQ2_XXS*"]
              split:
                repo: test-org/tiny-gguf
                quant: Q5_K_M
        """)
        self.run_tool("lock", check=0)
        self.run_tool("fetch", check=0)
        self.run_tool("verify", "--quick", check=0)
        ggufs = sorted(p for p in self.cache.rglob("snapshots/*/**/*.gguf"))
        self.assertEqual(len(ggufs), 5)
        for path in ggufs:
            parsed = self.gguf_js(path)
            self.assertTrue(parsed["ok"], parsed)
            self.assertLessEqual(parsed["tensorDataOffset"], path.stat().st_size)
        # Cut inside its data: gguf.js still reads the header; hfmodels names the tensor whose
        # data is missing, and where it would end, from the same offsets.
        target = self.snapshot("test-org/multi-quant-GGUF") / "Q8_0/model-Q8_0-00001-of-00002.gguf"
        blob = target.resolve()
        os.chmod(blob, 0o644)
        parsed = self.gguf_js(blob)
        last = max(parsed["tensors"], key=lambda t: t["offset"])
        with open(blob, "r+b") as f:
            f.truncate(parsed["tensorDataOffset"] + last["offset"] + 1)
        lock = self.lockfile().read_text()
        size = blob.stat().st_size
        # The lockfile is told the new size, so the structure check is what finds it.
        entry = self.locked_files("multi")["Q8_0/model-Q8_0-00001-of-00002.gguf"]
        self.lockfile().write_text(lock.replace(f"size: {entry['size']}\n", f"size: {size}\n", 1))
        result = self.run_tool("verify", "--quick", "multi", check=4)
        # ggml's block sizes (elements, bytes) of the types the fake Hub writes.
        block = {0: (1, 4), 1: (1, 2), 8: (32, 34), 12: (256, 144), 13: (256, 176),
                 14: (256, 210), 24: (1, 1), 30: (1, 2)}[last["dtype"]]
        elements = 1
        for extent in last["shape"]:
            elements *= extent
        end = parsed["tensorDataOffset"] + last["offset"] + elements // block[0] * block[1]
        self.assertIn(f"tensor `{last['name']}` ends at byte {end} of {size}", result.stderr)
        self.assertTrue(self.gguf_js(blob)["ok"], "the header alone is whole")
        # Cut inside its tensor table: hfmodels says so. (gguf.js reads past the end as zeros and
        # returns a tensor table that differs from the whole file's: stricter here is right.)
        with open(blob, "r+b") as f:
            f.truncate(parsed["tensorDataOffset"] - 40)
        size = blob.stat().st_size
        self.lockfile().write_text(lock.replace(f"size: {entry['size']}\n", f"size: {size}\n", 1))
        result = self.run_tool("verify", "--quick", "multi", check=4)
        self.assertRegex(result.stderr, r"cut short in its (tensor table|metadata)")
        self.assertNotEqual(self.gguf_js(blob).get("tensors"), parsed["tensors"])
        # Not GGUF at all (an HTML page of the same size): both refuse it.
        blob.write_bytes(b"<!DOCTYPE html><html>" + b" " * (size - 21))
        result = self.run_tool("verify", "--quick", "multi", check=4)
        self.assertIn("an HTML page", result.stderr)
        self.assertIn("not a valid gguf file", self.gguf_js(blob)["error"])


class TestCacheEdges(DayTwoTestCase):

    def test_rm_of_one_revision_takes_it_whole_and_only_its_blobs(self):
        repo = "test-org/versioned"
        c1, c2 = (self.hub.commit_id(repo, r) for r in ("v1", "v2"))
        self.run_tool("download", f"{repo}@v1", check=0)
        self.run_tool("download", f"{repo}@v2", check=0)
        snapshots = self.repo_dir(repo) / "snapshots"
        same_blob = (snapshots / c2 / "same.txt").resolve()
        self.assertEqual(same_blob, (snapshots / c1 / "same.txt").resolve(), "one shared blob")
        # A third commit's blobs that `lock` keeps unlinked (here: put there by hand).
        loose = self.repo_dir(repo) / "blobs" / ("e" * 40)
        loose.write_bytes(b"locked, not fetched")
        self.run_tool("cache", "rm", f"{repo}@{c1[:8]}", "--yes", check=0)
        self.assertFalse((snapshots / c1).exists(), "the revision is gone, shared links too")
        self.assertTrue((snapshots / c2 / "same.txt").is_file())
        self.assertTrue(same_blob.exists())
        self.assertTrue(loose.exists(), "blobs no removed revision links stay")
        self.assertFalse((self.repo_dir(repo) / "refs" / "v1").exists(), "its ref goes with it")
        self.assertEqual((self.repo_dir(repo) / "refs" / "v2").read_text(), c2)
        # The whole repo, even with no snapshot left, goes with `cache rm REPO`.
        self.run_tool("cache", "rm", repo, "--yes", check=0)
        self.assertFalse(self.repo_dir(repo).exists())

    def test_gc_refuses_when_a_known_lockfile_cannot_be_checked(self):
        self.write_manifest(MANIFEST)
        self.run_tool("lock", check=0)
        self.run_tool("fetch", check=0)
        # A recorded project behind a symlink loop: not gone, just unreadable.
        loop = self.root / "loop"
        loop.symlink_to(loop)
        other = self.root / "other"
        other.mkdir()
        self.write_manifest(MANIFEST, folder=other)
        self.run_tool("lock", cwd=other, check=0)
        records = self.cache / ".locks" / "hfmodels" / "projects"
        for record in records.iterdir():
            if record.read_text().strip() == str(other / "models.lock"):
                record.write_text(str(loop / "models.lock") + "\n")
        result = self.run_tool("cache", "gc", check=1)
        self.assertIn("cannot check a known project's lockfile", result.stderr)
        for record in records.iterdir():
            if "loop" in record.read_text():
                record.unlink()
        self.run_tool("remove", "gguf", check=0)
        self.run_tool("remove", "gguf", cwd=other, check=0)
        self.assertEqual(self.gc_count("--older-than", "1000000"), 0, "a huge age deletes nothing")
        self.assertEqual(self.gc_count(), 2, "the two Q5_K_M shards")

    def gc_count(self, *args):
        return len([e for e in self.json_lines(self.run_tool("--json", "cache", "gc", "--dry-run",
                                                             *args, check=None).stdout)
                    if e["event"] == "would_delete"])
