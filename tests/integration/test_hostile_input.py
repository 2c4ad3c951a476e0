"""Hostile input (issue 4): Hub answers with escaping paths, bad commits, huge, deep or malformed
JSON (served through the fake Hub's `replace_body` fault); repo ids and lockfiles edited by hand;
symlinks planted in the cache. Each gives a clear error, and nothing is written outside the cache.

Manifest YAML (alias bombs, wrong types, invalid UTF-8) and lockfile syntax are covered in
test_manifest_errors.py.
"""

import base64
import json
import os
import time
import unittest
from pathlib import Path

from fault_support import FaultTestCase
from support import sha256_of, walk_all

TINY = "test-org/tiny-model"
TINY_MANIFEST = """
    models:
      tiny:
        repo: test-org/tiny-model
"""
OID = "2f9618c3a19b9a61add74f70bfb121335aeef666"


def entry(path, **extra):
    value = {"type": "file", "oid": OID, "size": 5, "path": path}
    value.update(extra)
    return value


class HostileTestCase(FaultTestCase):

    def outside_cache(self):
        """Every path under the test's root that is not in the cache, with its content."""
        found = {}
        for path in walk_all(self.root):
            if path == self.cache or self.cache in path.parents:
                continue
            found[path] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        return found

    def assert_refused(self, args, code, needles, env=None):
        """Runs hfmodels; it must exit `code`, say every needle, and write nothing outside the
        cache. Returns stderr."""
        before = self.outside_cache()
        started = time.monotonic()
        result = self.run_tool(*args, env=env, check=code)
        self.assertLess(time.monotonic() - started, 20)
        for needle in needles:
            self.assertIn(needle, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertEqual(self.outside_cache(), before, "something was written outside the cache")
        return result.stderr


class TestHostileHubAnswers(HostileTestCase):

    def setUp(self):
        super().setUp()
        self.write_manifest(TINY_MANIFEST)
        self.escape = self.root / "escaped"

    def lock_refused(self, rule, *needles, what="the Hub sent an invalid answer"):
        self.hub.clear_faults()
        self.hub.add_fault(dict(rule, times=-1))
        stderr = self.assert_refused(["lock"], 3, (what,) + needles)
        self.assertFalse(self.lockfile().exists())
        self.assertFalse(self.escape.exists())
        return stderr

    def tree(self, entries):
        return {"action": "replace_body", "match": "/tree/", "body": json.dumps(entries)}

    def test_escaping_and_odd_file_paths(self):
        paths = {
            "../escaped": "`..` segment",
            "a/../../escaped": "`..` segment",
            str(self.escape): "is absolute",
            "a\\..\\..\\escaped": "backslash",
            "ok\u0000.txt": "control character",
            "new\nline": "control character",
            "x" * 5000: "longer than 1024 bytes",
            "a//b": "empty segment",
            "./a": "`.` segment",
            "": "is empty",
        }
        for path, why in paths.items():
            with self.subTest(path=path[:40]):
                self.lock_refused(self.tree([entry("README.md"), entry(path)]),
                                  "unsafe file path", why)

    def test_commits_that_are_not_40_hex(self):
        for sha in ["abc", "A" * 40, "0" * 41, "../../../../etc", " " + "a" * 39]:
            with self.subTest(sha=sha):
                self.lock_refused({"action": "replace_body", "match": "/revision/",
                                   "body": json.dumps({"sha": sha})},
                                  "`sha` is not a 40-hex commit id")
        for body in ['{"sha": null}', '{"sha": 42}', "{}", "[]"]:
            with self.subTest(body=body):
                self.lock_refused({"action": "replace_body", "match": "/revision/", "body": body},
                                  "has no `sha`")

    def test_malformed_huge_and_deep_json(self):
        self.lock_refused({"action": "replace_body", "match": "/tree/", "body": '[{"type": '},
                          "not valid JSON")
        self.lock_refused({"action": "replace_body", "match": "/revision/", "body": "<html>"},
                          "not valid JSON")
        # A listing over the 64 MiB cap is cut off while it streams, not parsed.
        self.lock_refused({"action": "replace_body", "match": "/tree/",
                           "body": "[" + " " * 1_000_000, "repeat": 70},
                          "more than 64.0 MiB", what="the answer is too large")
        # A million levels of nesting: refused before parsing, quickly.
        self.lock_refused({"action": "replace_body", "match": "/tree/",
                           "body": "[" * 1_000_000 + "]" * 1_000_000},
                          "nested more than 64 levels deep")
        # Bytes that are not UTF-8 inside a path string.
        raw = b'[{"type": "file", "oid": "' + OID.encode() + b'", "size": 5, "path": "a\xff\xfe"}]'
        self.lock_refused({"action": "replace_body", "match": "/tree/",
                           "body_base64": base64.b64encode(raw).decode()}, "not valid JSON")

    def test_wrong_types_in_the_listing(self):
        cases = [
            ([entry("a", size="5")], "`size` is not a whole number of bytes"),
            ([entry("a", size=-1)], "`size` is not a whole number of bytes"),
            ([entry("a", size=1.5)], "`size` is not a whole number of bytes"),
            ([entry("a", oid=123)], "`oid` is not a 40-hex git blob id"),
            ([entry("a", oid="../" + OID[3:])], "`oid` is not a 40-hex git blob id"),
            ([entry("a", lfs={"oid": "xyz", "size": 5})], "`lfs.oid` is not a 64-hex sha256"),
            ([entry("a", lfs={"oid": "a" * 64, "size": 6})], "`lfs.size` differs from `size`"),
            ([entry("a"), entry("a")], "names 'a' twice"),
            ([entry("a", type="symlink")], "unknown type 'symlink'"),
            (["a"], "not an object"),
            ({"a": 1}, "not a list"),
            ([{"type": "file", "oid": OID, "size": 1}], "no `path`"),
        ]
        for entries, why in cases:
            with self.subTest(why=why):
                self.lock_refused(self.tree(entries), why)

    def test_the_fake_serves_the_real_listing_again(self):
        # The faults above are per test; a clean run still works (the fault mode is switchable).
        self.run_tool("lock", check=0)


class TestHostileIdsAndLockfiles(HostileTestCase):

    def locked(self, manifest=TINY_MANIFEST):
        self.write_manifest(manifest)
        self.run_tool("lock", check=0)
        self.hub.reset_requests()
        return self.lockfile().read_text()

    def test_repo_ids_that_could_escape(self):
        for repo in ["org/..", "..", "org--x/name", "org/na--me", "./x", "org/./x", "/org/x"]:
            with self.subTest(repo=repo):
                self.write_manifest(f"""
                    models:
                      m:
                        repo: "{repo}"
                """)
                self.assert_refused(["lock"], 2, ["repo", repr(repo).replace('"', "'")])
                self.assertEqual(self.request_count(), 0)
                self.assertFalse(self.lockfile().exists())

    def test_lockfile_commit_and_revision_that_could_escape(self):
        text = self.locked()
        commit = self.read_lock()["models"]["tiny"]["commit"]
        for bad in ["../../../../escaped", commit.upper(), commit[:39], commit + "0"]:
            with self.subTest(commit=bad):
                self.lockfile().write_text(text.replace(commit, bad))
                self.assert_refused(["fetch"], 2, ["models.lock", "hfmodels lock"])
        for bad in ["../../../escaped", "refs/../../x", "/abs"]:
            with self.subTest(revision=bad):
                self.lockfile().write_text(text.replace("revision: main", f'revision: "{bad}"'))
                result = self.run_tool("fetch")
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(bad, result.stderr)
        self.assertEqual(self.request_count(), 0)
        self.assertFalse((self.root / "escaped").exists())

    def test_added_entry_for_a_file_the_repo_does_not_have(self):
        text = self.locked()
        added = ("      - path: added.bin\n        size: 5\n        sha256: " + "a" * 64 +
                 "\n        etag: " + OID + "\n")
        marker = "    files:\n"
        self.lockfile().write_text(text.replace(marker, marker + added, 1))
        # Every file is selected, so only the `paths` digest can tell: refused before any request.
        self.assert_refused(["fetch"], 6, ["edited by hand", "`paths` digest", "hfmodels lock"])
        self.assertEqual(self.request_count(), 0)
        self.assertFalse(os.path.lexists(self.snapshot(TINY) / "added.bin"))
        # Without the digest line (an older lockfile) the Hub is the judge: the file is not there.
        self.lockfile().write_text(
            "\n".join(l for l in self.lockfile().read_text().splitlines()
                      if not l.strip().startswith("paths:")) + "\n")
        stderr = self.run_tool("fetch", check=3).stderr
        self.assertIn("tiny/added.bin", stderr)
        self.assertIn("file not found in the repository", stderr)
        self.assertFalse(os.path.lexists(self.snapshot(TINY) / "added.bin"))

    def test_removed_entry_under_a_glob_selection(self):
        text = self.locked()
        block = text[text.index("      - path: config.json"):text.index("      - path: generation")]
        self.lockfile().write_text(text.replace(block, ""))
        self.assert_refused(["fetch"], 6, ["edited by hand", "`paths` digest", "hfmodels lock"])
        self.assertEqual(self.request_count(), 0)
        # `hfmodels lock` resolves the hand-edited entry again instead of keeping it.
        self.run_tool("lock", check=0)
        self.assertEqual(self.lockfile().read_text(), text)

    def test_added_and_removed_entries_against_an_exact_file_list(self):
        manifest = """
            models:
              tiny:
                repo: test-org/tiny-model
                files: [config.json, model.safetensors]
        """
        good = self.locked(manifest)
        config_block = good[good.index("      - path: config.json"):
                            good.index("      - path: model")]
        # Removed: the manifest names config.json, the lockfile lost it.
        self.lockfile().write_text(good.replace(config_block, ""))
        stderr = self.assert_refused(["fetch"], 6, ["edited by hand", "config.json",
                                                     "hfmodels lock"])
        # Added: a file the manifest does not select.
        self.lockfile().write_text(good.replace(config_block, config_block +
                                                config_block.replace("config.json", "extra.json")))
        stderr = self.assert_refused(["fetch"], 6, ["edited by hand", "extra.json"])
        self.assertEqual(self.request_count(), 0)
        # `hfmodels lock` repairs it (the hand-edited entry is resolved again, not kept).
        self.run_tool("lock", check=0)
        self.assertEqual(self.lockfile().read_text(), good)

    def test_changed_hash_is_an_integrity_error(self):
        text = self.locked()
        first = self.read_lock()["models"]["tiny"]["files"][0]
        sha = first["sha256"]
        self.lockfile().write_text(text.replace(sha, "b" * 64))
        # The blob is cached (lock downloaded it): it is not linked.
        stderr = self.run_tool("fetch", check=4).stderr
        self.assertFalse((self.snapshot(TINY) / first["path"]).exists())
        self.assertIn("expected sha256 " + "b" * 64, stderr)


class TestPlantedSymlinks(HostileTestCase):
    """A symlink planted below the cache's repo folders that points outside is never written
    through (the repo folder itself may be a link: users move big repos to other disks)."""

    def setUp(self):
        super().setUp()
        self.write_manifest(TINY_MANIFEST)
        self.run_tool("lock", env=self.env(HF_HUB_CACHE=str(self.root / "lock-cache")), check=0)
        self.outside = self.root / "outside"
        self.outside.mkdir()
        self.commit = self.read_lock()["models"]["tiny"]["commit"]
        self.repo = self.repo_dir(TINY)

    def assert_outside_untouched(self, before):
        self.assertEqual({p: p.read_bytes() for p in self.outside.rglob("*") if p.is_file()},
                         before)
        self.assertEqual(sorted(p.name for p in self.outside.iterdir()), sorted(
            p.name for p in before))

    def plant(self, link, target):
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)

    def test_folders_that_lead_outside_are_refused(self):
        for planted in [self.repo / "blobs", self.repo / "snapshots",
                        self.repo / "snapshots" / self.commit, self.repo / "refs",
                        self.cache / ".locks",
                        self.cache / ".locks" / "models--test-org--tiny-model"]:
            with self.subTest(planted=str(planted.relative_to(self.cache))):
                if self.cache.exists():
                    for path in sorted(walk_all(self.cache), reverse=True):
                        if path.is_symlink() or path.is_file():
                            path.unlink()
                        else:
                            path.rmdir()
                self.plant(planted, self.outside)
                result = self.run_tool("fetch")
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn("refusing to write through", result.stderr)
                self.assertIn(str(planted), result.stderr)
                self.assertEqual(list(self.outside.iterdir()), [])

    def test_a_planted_lock_file_is_not_followed(self):
        victim = self.outside / "victim"
        etag = self.hub.file(TINY, "model.safetensors").etag
        self.plant(self.cache / ".locks" / "models--test-org--tiny-model" / f"{etag}.lock", victim)
        result = self.run_tool("fetch", check=1)
        self.assertIn("refusing to write through", result.stderr)
        self.assertFalse(victim.exists())

    def test_a_planted_partial_download_is_not_claimed(self):
        weights = self.hub.file(TINY, "model.safetensors")
        victim = self.outside / "victim"
        victim.write_bytes(b"precious" * 10)
        self.plant(self.repo / "blobs" / f"{weights.etag}.incomplete", victim)
        self.plant(self.repo / "blobs" / f"{weights.etag}.1234abcd.incomplete", victim)
        self.run_tool("fetch", check=0)
        self.assertEqual(victim.read_bytes(), b"precious" * 10)
        self.assertEqual(sha256_of(self.snapshot(TINY) / "model.safetensors"), weights.sha256)

    def test_a_planted_snapshot_link_is_replaced_not_written(self):
        victim = self.outside / "config.json"
        victim.write_text("do not touch")
        self.plant(self.repo / "snapshots" / self.commit / "config.json", victim)
        self.run_tool("fetch", check=0)
        self.assertEqual(victim.read_text(), "do not touch")
        link = self.snapshot(TINY) / "config.json"
        self.assertEqual(os.readlink(link), "../../blobs/" + self.hub.file(TINY, "config.json").etag)

    def test_a_planted_blob_with_other_bytes_is_not_linked(self):
        weights = self.hub.file(TINY, "model.safetensors")
        victim = self.outside / "victim"
        victim.write_bytes(b"\0" * weights.size)
        self.plant(self.repo / "blobs" / weights.etag, victim)
        result = self.run_tool("fetch", check=4)
        self.assertIn("tiny/model.safetensors", result.stderr)
        self.assertEqual(victim.read_bytes(), b"\0" * weights.size)
        self.assertFalse(os.path.lexists(self.snapshot(TINY) / "model.safetensors"))


if __name__ == "__main__":
    unittest.main()
