"""Big or hostile listings (issue 9, points 7 and 8): a listing of more files than a repo may
have is refused before any download, with the limit and the way to narrow the selection; a run
whose files fail one after another for one cause gives up instead of trying them all; and
failures that share a cause are reported on one line even though each answer carries its own
request id.
"""

import hashlib
import json
import unittest

from support import HubTestCase, HubTestCaseExtras

MANIFEST = """
    models:
      made_up:
        repo: test-org/tiny-model
"""


def made_up_listing(count):
    """A tree listing of `count` regular files the Hub does not have."""
    return json.dumps([{"type": "file", "size": 10, "path": f"made-up/f-{i:06d}.txt",
                        "oid": hashlib.sha1(b"%d" % i).hexdigest()} for i in range(count)])


class ListingTestCase(HubTestCaseExtras, HubTestCase):

    def serve_listing(self, count):
        self.hub.add_fault({"action": "replace_body", "match": "/tree/", "listener": "hub",
                            "times": -1, "body": made_up_listing(count)})

    def resolves(self):
        return [r for r in self.hub.requests()["requests"] if "/resolve/" in r["path"]]


class TestHugeListing(ListingTestCase):

    def test_a_listing_over_the_limit_is_refused_before_any_download(self):
        self.write_manifest(MANIFEST)
        self.serve_listing(200_001)
        result = self.run_tool("lock", check=2, timeout=120)
        self.assertIn("too many files", result.stderr)
        self.assertIn("100000", result.stderr)
        self.assertIn("HFMODELS_MAX_FILES", result.stderr)
        self.assertIn("`files:`", result.stderr)
        self.assertEqual(self.resolves(), [])
        self.assertFalse(self.lockfile().exists())

    def test_the_limit_can_be_raised(self):
        self.write_manifest(MANIFEST)
        self.serve_listing(30)
        result = self.run_tool("lock", env=self.env(HFMODELS_MAX_FILES="10"), check=2)
        self.assertIn("more than 10 files", result.stderr)
        self.run_tool("lock", env=self.env(HFMODELS_MAX_FILES="0"), check=2)

    def test_a_selection_under_a_folder_lists_only_that_folder(self):
        # test-org/weird-paths has 11 files; a limit of 3 refuses the whole listing, but not the
        # listing of a folder that holds 2.
        env = self.env(HFMODELS_MAX_FILES="3")
        self.write_manifest("models:\n  weird:\n    repo: test-org/weird-paths\n")
        self.assertIn("too many files", self.run_tool("lock", env=env, check=2).stderr)
        for selector in ('include: ["deep/**"]', "files: [deep/a/model.safetensors]",
                         'files: ["with space/file name.txt"]'):
            with self.subTest(selector=selector):
                self.write_manifest(f"models:\n  weird:\n    repo: test-org/weird-paths\n"
                                    f"    {selector}\n")
                self.hub.reset_requests()
                self.run_tool("lock", env=env, check=0)
                trees = [r["path"] for r in self.hub.requests()["requests"] if "/tree/" in r["path"]]
                self.assertTrue(trees)
                for path in trees:  # /api/models/<repo>/tree/<commit>/<folder>, never the root
                    self.assertRegex(path, r"/tree/[0-9a-f]{40}/.")

    def test_a_missing_folder_is_a_missing_file(self):
        self.write_manifest("models:\n  weird:\n    repo: test-org/weird-paths\n"
                            "    files: [no-such-folder/file.txt]\n")
        result = self.run_tool("lock", check=2)
        self.assertIn("file not found in repository", result.stderr)


class TestOneCause(ListingTestCase):

    def test_a_run_whose_files_all_fail_the_same_way_gives_up(self):
        self.write_manifest(MANIFEST)
        self.serve_listing(500)
        result = self.run_tool("lock", check=3, timeout=120)
        self.assertIn("gave up after 20 files in a row failed the same way", result.stderr)
        self.assertLess(len(self.resolves()), 60)
        self.assertLessEqual(result.stderr.count("hfmodels: error:"), 2, result.stderr)

    def test_failures_with_one_cause_share_a_line_despite_request_ids(self):
        self.write_manifest(MANIFEST)
        self.serve_listing(12)
        result = self.run_tool("lock", check=3)
        self.assertEqual(len(self.resolves()), 12)
        errors = [line for line in result.stderr.splitlines() if "hfmodels: error:" in line]
        self.assertEqual(len(errors), 2, result.stderr)  # the cause, and the summary
        self.assertIn("the same for 11 more files", errors[0])
        self.assertIn("12 of 12 files could not be fetched", errors[1])


if __name__ == "__main__":
    unittest.main()
