"""Mirrors, push and bundles (issue 13, README "Teams and CI fleets"): files from nginx, an S3
endpoint and a folder before the Hub, every byte checked against the lockfile."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from mirror_servers import (Nginx, Recorder, S3rver, aws_cli, botocore_authorizations,
                            free_port)
from support import HubTestCase, HubTestCaseExtras, sha256_of

MANIFEST = """
    models:
      tiny:
        repo: test-org/tiny-model
      gguf:
        repo: test-org/tiny-gguf
        quant: Q5_K_M
"""
# A 72 MiB file: segmented downloads, ranges and (with a small threshold) S3 multipart uploads.
HUGE = MANIFEST + """
      huge:
        repo: test-org/huge-model
"""


class MirrorCase(HubTestCaseExtras, HubTestCase):

    def locked_and_fetched(self, manifest=MANIFEST):
        """Locks and fetches into the test's cache: the source of pushes and bundles."""
        self.write_manifest(manifest)
        self.run_tool("lock", check=0)
        self.run_tool("fetch", check=0)
        self.hub.reset_requests()

    def objects(self):
        return sorted({f["sha256"] for m in self.read_lock()["models"].values() for f in m["files"]})

    def fresh_env(self, name, **extra):
        """An environment with a cache of its own (and the same Hub)."""
        home = self.root / name
        return self.env(HOME=str(home), HF_HOME=str(home / "hf"), **extra)

    def fetch_json(self, *args, env, check=0):
        result = self.run_tool("--json", "fetch", *args, env=env, check=check)
        events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return result, [e for e in events if e.get("event") == "fetch"]

    def assert_hub_untouched(self):
        counts = self.requests()
        self.assertEqual(counts["total"], 0, json.dumps(counts["counts"], indent=1))


class FileMirrorTest(MirrorCase):

    def bundle(self):
        folder = self.root / "bundle"
        self.run_tool("bundle", "--to", folder, check=0)
        return folder

    def test_a_complete_file_mirror_serves_everything_and_the_hub_sees_nothing(self):
        self.locked_and_fetched()
        folder = self.bundle()
        self.assertEqual(sorted(os.listdir(folder / "sha256")), self.objects())
        env = self.fresh_env("b", HFMODELS_MIRRORS=f"file://{folder}")
        _, [summary] = self.fetch_json(env=env)
        self.assert_hub_untouched()
        mirror, hub = summary["sources"]
        self.assertEqual((mirror["kind"], mirror["files"], mirror["missing"]), ("mirror", summary["downloaded"], 0))
        self.assertEqual((hub["kind"], hub["files"], hub["bytes"]), ("hub", 0, 0))
        self.assertEqual(mirror["bytes"], summary["bytes"])
        self.run_tool("verify", env=env, check=0)

    def test_a_missing_object_and_a_wrong_one_come_from_the_next_source(self):
        self.locked_and_fetched()
        folder = self.bundle()
        lock = self.read_lock()["models"]
        missing = lock["tiny"]["files"][0]
        wrong = next(f for f in lock["gguf"]["files"] if f["size"] > 100)
        (folder / "sha256" / missing["sha256"]).unlink()
        corrupted = folder / "sha256" / wrong["sha256"]
        data = bytearray(corrupted.read_bytes())
        data[50] ^= 0xFF
        corrupted.write_bytes(bytes(data))

        env = self.fresh_env("b", HFMODELS_MIRRORS=f"file://{folder}")
        result, [summary] = self.fetch_json(env=env)
        mirror, hub = summary["sources"]
        self.assertEqual((mirror["missing"], mirror["wrong"]), (1, 1))
        self.assertEqual(hub["files"], 2)
        self.assertEqual(hub["bytes"], missing["size"] + wrong["size"])
        # The mirror is credited with the bytes kept, not with its wrong copy's.
        every = [f for m in lock.values() for f in m["files"]]
        self.assertEqual(mirror["bytes"], sum(f["size"] for f in every) - hub["bytes"])
        # The wrong copy is reported once, naming the file.
        warnings = [line for line in result.stderr.splitlines() if "wrong copy" in line]
        self.assertEqual(len(warnings), 1, result.stdout + result.stderr)
        self.assertIn("gguf/" + wrong["path"], warnings[0])
        # Only those two came from the Hub.
        downloads = [p for p in self.request_paths() if "/resolve/" in p or "/_cdn/" in p or "sha256" in p]
        self.assertTrue(downloads)
        self.run_tool("verify", env=env, check=0)

        # Without the Hub: no good copy of either anywhere. The wrong one decides (4); both named.
        env = self.fresh_env("c", HFMODELS_MIRRORS=f"file://{folder}")
        result = self.run_tool("fetch", "--no-origin", env=env, check=4)
        self.assertIn("gguf/" + wrong["path"], result.stderr)
        self.assertIn("tiny/" + missing["path"], result.stderr)
        summary = result.stderr
        self.assertIn("not in any mirror:\n  tiny/" + missing["path"], summary)
        self.assertIn("no good copy in any mirror:\n  gguf/" + wrong["path"], summary)
        # Running it again would not help: the mirror needs the files.
        self.assertNotIn("run the command again", summary)
        # Only the missing one: exit 5, and the list of what is missing.
        corrupted.write_bytes(bytes(data[:50]) + bytes([data[50] ^ 0xFF]) + bytes(data[51:]))
        self.assertEqual(sha256_of(corrupted), wrong["sha256"])
        env = self.fresh_env("d", HFMODELS_MIRRORS=f"file://{folder}")
        self.hub.reset_requests()
        result = self.run_tool("fetch", "--no-origin", env=env, check=5)
        self.assertIn("not in any mirror:\n  tiny/" + missing["path"], result.stderr)
        self.assert_hub_untouched()

    def test_a_bundle_installs_with_no_origin_while_the_hub_port_is_closed(self):
        self.locked_and_fetched()
        folder = self.bundle()
        for name in ("models.lock", "models.yaml", "README.md"):
            self.assertTrue((folder / name).is_file(), name)
        readme = (folder / "README.md").read_text()
        self.assertIn(f"HFMODELS_MIRRORS=file://{folder} hfmodels fetch --no-origin", readme)
        closed = f"http://127.0.0.1:{free_port()}"
        env = self.fresh_env("air-gapped", HF_ENDPOINT=closed, HFMODELS_MIRRORS=f"file://{folder}",
                             HFMODELS_NO_ORIGIN="1")
        self.run_tool("fetch", env=env, cwd=folder, check=0)
        self.run_tool("verify", env=env, cwd=folder, check=0)
        self.run_tool("status", "--check", env=env, cwd=folder, check=0)
        # Lock needs the Hub, which --no-origin forbids: said, not attempted.
        result = self.run_tool("lock", "--update", env=env, cwd=folder, check=5)
        self.assertIn("--no-origin", result.stderr)

    def test_offline_a_folder_mirror_is_still_read(self):
        # Air-gapped machines set HF_HUB_OFFLINE: a bundle opens no connection, so it serves;
        # a web mirror does, so it is not asked.
        self.locked_and_fetched()
        folder = self.bundle()
        with Recorder() as recorder:
            web = recorder.endpoint + "/mirror"
            env = self.fresh_env("usb", HF_HUB_OFFLINE="1",
                                 HFMODELS_MIRRORS=f"{web} file://{folder}")
            result = self.run_tool("fetch", env=env, check=0)
            self.assertIn("from file://", result.stderr)
            self.assertNotIn("from the Hub", result.stderr)
            self.run_tool("verify", env=env, check=0)
            env = self.fresh_env("web-only", HF_HUB_OFFLINE="1", HFMODELS_MIRRORS=web)
            self.run_tool("fetch", env=env, check=5)
            self.assertEqual(recorder.requests, [])
        self.assert_hub_untouched()

    def test_a_bundle_in_a_folder_with_a_space_installs_with_the_command_it_prints(self):
        self.locked_and_fetched()
        folder = self.root / "usb stick" / "bundle"
        result = self.run_tool("bundle", "--to", folder, check=0)
        line = next(l for l in result.stderr.splitlines() if "HFMODELS_MIRRORS=" in l)
        url = line.split("HFMODELS_MIRRORS=")[1].split()[0]
        self.assertEqual(url, "file://" + str(folder).replace(" ", "%20"))
        self.assertIn(url, (folder / "README.md").read_text())
        env = self.fresh_env("b", HFMODELS_MIRRORS=url)
        self.run_tool("fetch", "--no-origin", env=env, check=0)
        self.assert_hub_untouched()

    def test_bundle_refuses_a_folder_whose_files_it_would_replace(self):
        self.locked_and_fetched()
        (self.project / "README.md").write_text("# my project\n")
        before = {name: (self.project / name).read_bytes()
                  for name in ("models.yaml", "models.lock", "README.md")}
        # Into the project itself, and into another project: nothing written, nothing lost.
        result = self.run_tool("bundle", "tiny", "--to", ".", check=2)
        self.assertIn("models.yaml", result.stderr)
        other = self.root / "other"
        other.mkdir()
        (other / "models.lock").write_text("version: 1\nmodels: {}\n")
        self.run_tool("bundle", "--to", other, check=2)
        for name, data in before.items():
            self.assertEqual((self.project / name).read_bytes(), data, name)
        self.assertEqual((other / "models.lock").read_text(), "version: 1\nmodels: {}\n")
        self.assertFalse((self.project / "sha256").exists())
        self.assertFalse((other / "sha256").exists())
        # A bundle folder is hfmodels' own: bundling into it again replaces its files.
        folder = self.root / "bundle"
        self.run_tool("bundle", "tiny", "--to", folder, check=0)
        self.run_tool("bundle", "gguf", "--to", folder, check=0)
        self.assertEqual(sorted(self.read_lock(folder)["models"]), ["gguf"])

    def test_objects_failing_for_one_reason_are_one_error(self):
        self.locked_and_fetched()
        not_a_folder = self.root / "afile"
        not_a_folder.write_text("x")
        for command in ("push", "bundle"):
            with self.subTest(command=command):
                target = f"file://{not_a_folder}" if command == "push" else not_a_folder
                result = self.run_tool(command, "--to", target, check=1)
                errors = [l for l in result.stderr.splitlines()
                          if l.startswith("hfmodels: error:")]
                self.assertEqual(len(errors), 2, result.stderr)  # the cause, then the summary
                self.assertIn("the same for", errors[0])

    def test_advice_about_a_mirror_names_the_mirror(self):
        self.locked_and_fetched()
        # Down: the mirror's URL, not HF_ENDPOINT.
        env = self.fresh_env("down", HFMODELS_MIRRORS=f"http://127.0.0.1:{free_port()}")
        result = self.run_tool("fetch", "--no-origin", env=env, check=3)
        self.assertIn("mirror is up", result.stderr)
        self.assertNotIn("HF_ENDPOINT", result.stderr)
        # Its token over plain http to another machine: refused before connecting, naming the
        # mirror's token.
        env = self.fresh_env("plain", HFMODELS_MIRROR_TOKEN="mirror-secret-123",
                             HFMODELS_MIRRORS="http://10.255.255.1:8080/m")
        result = self.run_tool("fetch", "--no-origin", env=env, check=None)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("HFMODELS_MIRROR_TOKEN", result.stderr)
        self.assertNotIn("unset HF_TOKEN", result.stderr)
        self.assertNotIn("mirror-secret-123", result.stderr)

    def test_the_mirror_token_is_refused_for_several_servers(self):
        self.locked_and_fetched()
        env = self.fresh_env("b", HFMODELS_MIRROR_TOKEN="mirror-secret-123",
                             HFMODELS_MIRRORS="http://127.0.0.1:1/a https://mirror.example/b")
        result = self.run_tool("fetch", env=env, check=2)
        self.assertIn("several servers", result.stderr)
        self.assertNotIn("mirror-secret-123", result.stderr)
        self.assert_hub_untouched()

    def test_no_origin_without_a_mirror_says_so(self):
        self.locked_and_fetched()
        env = self.fresh_env("b")
        result = self.run_tool("fetch", "--no-origin", env=env, check=5)
        self.assertIn("no mirror is set", result.stderr)
        self.assert_hub_untouched()

    def test_bad_mirror_urls_are_refused_before_anything_runs(self):
        self.locked_and_fetched()
        for url, words in (("ftp://host/x", "unknown scheme"), ("file://relative/x", "file:///"),
                           ("s3://", "bucket"), ("s3://bucket/a b", "key prefix"),
                           ("http://host/x?y=1", "no query")):
            with self.subTest(url=url):
                result = self.run_tool("fetch", "--mirror", url, env=self.fresh_env("b"), check=2)
                self.assertIn(words, result.stderr)
        self.assert_hub_untouched()


class WebMirrorTest(MirrorCase):

    def setUp(self):
        super().setUp()
        self.nginx = Nginx(self.root / "nginx").start()

    def tearDown(self):
        self.nginx.stop()
        super().tearDown()

    def test_push_to_nginx_then_fetch_everything_from_it_with_ranges(self):
        self.locked_and_fetched(HUGE)
        result = self.run_tool("--json", "push", "--to", self.nginx.url, check=0)
        pushed = json.loads(result.stdout.splitlines()[-1])
        self.assertEqual((pushed["uploaded"], pushed["skipped"]), (len(self.objects()), 0))
        # A second push finds everything there and uploads nothing.
        result = self.run_tool("--json", "push", "--to", self.nginx.url, check=0)
        pushed = json.loads(result.stdout.splitlines()[-1])
        self.assertEqual((pushed["uploaded"], pushed["skipped"]), (0, len(self.objects())))
        self.assertEqual(self.nginx.access_log().count('"PUT '), len(self.objects()))

        env = self.fresh_env("runner", HFMODELS_MIRRORS=self.nginx.url)
        _, [summary] = self.fetch_json(env=env)
        self.assert_hub_untouched()
        self.assertEqual(summary["sources"][0]["files"], summary["downloaded"])
        # The 72 MiB file came in segments: ranged requests answered 206.
        log = self.nginx.access_log()
        self.assertGreater(log.count('" 206 '), 1, log[-2000:])
        self.run_tool("verify", env=env, check=0)

    def test_the_readme_shows_the_configuration_the_tests_run(self):
        readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
        site = (Path(__file__).resolve().parents[2] / "examples" / "mirror" / "nginx-mirror.conf").read_text()
        self.assertIn("```nginx\n" + site + "```", readme)

    def test_the_hub_token_never_reaches_a_mirror_and_the_mirror_token_only_the_mirror(self):
        self.locked_and_fetched()
        with Recorder() as recorder:
            env = self.fresh_env("b", HF_TOKEN="hf_test_allowed",
                                 HFMODELS_MIRRORS=recorder.endpoint + "/mirror")
            self.run_tool("fetch", env=env, check=0)  # every object 404: from the Hub
            self.assertTrue(recorder.requests)
            for request in recorder.requests:
                self.assertNotIn("authorization", request["headers"])
                self.assertNotIn("hf_test_allowed", json.dumps(request))
            self.assertGreater(self.requests()["listeners"]["hub"]["with_auth"], 0)

            recorder.requests.clear()
            env = self.fresh_env("c", HF_TOKEN="hf_test_allowed", HFMODELS_MIRROR_TOKEN="mirror-secret-123",
                                 HFMODELS_MIRRORS=recorder.endpoint + "/mirror")
            result = self.run_tool("-v", "fetch", env=env, check=0)
            self.assertTrue(recorder.requests)
            for request in recorder.requests:
                self.assertEqual(request["headers"].get("authorization"), "Bearer mirror-secret-123")
            self.assertNotIn("mirror-secret-123", result.stdout + result.stderr)


class S3MirrorTest(MirrorCase):

    def setUp(self):
        super().setUp()
        self.s3 = S3rver(self.root / "s3").start()
        self.aws_binary = aws_cli()

    def tearDown(self):
        self.s3.stop()
        super().tearDown()

    def aws(self, *args):
        """The AWS CLI against the endpoint (Debian's 2.9 reads no AWS_ENDPOINT_URL: a flag)."""
        env = dict(os.environ)
        env.update(self.s3.env())
        env.update({"HOME": str(self.home), "AWS_EC2_METADATA_DISABLED": "true"})
        return subprocess.run([self.aws_binary, "--endpoint-url", self.s3.endpoint, "s3", *args], env=env,
                              capture_output=True, text=True, check=True).stdout

    def test_push_in_parts_read_back_by_the_aws_cli_and_fetch_what_it_uploaded(self):
        self.locked_and_fetched(HUGE)
        url = "s3://models/team/hf"
        env = self.env(**self.s3.env(), HFMODELS_S3_MULTIPART_FROM=str(16 << 20))
        self.run_tool("push", "--to", url, env=env, check=0)
        listing = self.aws("ls", "s3://models/team/hf/sha256/")
        self.assertEqual(sorted(line.split()[-1] for line in listing.splitlines()), self.objects())
        # Every object as the AWS CLI reads it back, the 72 MiB one made of parts included.
        out = self.root / "readback"
        self.aws("cp", "--recursive", "--only-show-errors", "s3://models/team/hf/sha256/", str(out))
        for sha in self.objects():
            self.assertEqual(sha256_of(out / sha), sha)

        # One object replaced by the AWS CLI's own upload; hfmodels fetches it with the rest.
        huge = self.read_lock()["models"]["huge"]["files"][0]
        self.aws("rm", "--only-show-errors", f"s3://models/team/hf/sha256/{huge['sha256']}")
        self.aws("cp", "--only-show-errors", str(out / huge["sha256"]), f"s3://models/team/hf/sha256/{huge['sha256']}")
        fresh = self.fresh_env("runner", **self.s3.env(), HFMODELS_MIRRORS=url)
        _, [summary] = self.fetch_json("--no-origin", env=fresh)
        self.assert_hub_untouched()
        self.assertEqual(summary["sources"][0]["files"], summary["downloaded"])
        # The Hub was no source of this run: not listed.
        self.assertEqual([s["kind"] for s in summary["sources"]], ["mirror"])
        self.run_tool("verify", env=fresh, check=0)

    def test_an_interrupted_multipart_push_sends_only_the_parts_missing(self):
        self.locked_and_fetched(HUGE)  # 72 MiB: two parts of 64 and 8 MiB
        with Recorder() as recorder:
            recorder.refuse_once.add("partNumber=2&")
            env = self.env(AWS_ACCESS_KEY_ID="AK", AWS_SECRET_ACCESS_KEY="SK", AWS_ENDPOINT_URL=recorder.endpoint,
                           HFMODELS_S3_MULTIPART_FROM=str(16 << 20))
            result = self.run_tool("push", "huge", "--to", "s3://bucket/x", env=env, check=3)
            self.assertIn("InvalidPart", result.stderr)
            first = [(r["method"], r["path"].split("/")[-1]) for r in recorder.requests]
            recorder.requests.clear()
            self.run_tool("push", "huge", "--to", "s3://bucket/x", env=env, check=0)
            second = [(r["method"], r["path"].split("/")[-1]) for r in recorder.requests]
        sha = self.read_lock()["models"]["huge"]["files"][0]["sha256"]
        self.assertIn(("POST", sha + "?uploads="), first)
        # The second push starts no upload and sends part 1 no more: part 2, then the completion.
        self.assertEqual([m for m in second if m[0] != "HEAD"],
                         [("PUT", sha + "?partNumber=2&uploadId=up%2Fid%2B1%3D"),
                          ("POST", sha + "?uploadId=up%2Fid%2B1%3D")])

    def recorder_env(self, recorder, **extra):
        return self.env(AWS_ACCESS_KEY_ID="AK", AWS_SECRET_ACCESS_KEY="SK", AWS_ENDPOINT_URL=recorder.endpoint,
                        **extra)

    def test_a_put_refused_with_404_or_403_fails_the_push(self):
        # S3's NoSuchBucket (a mistyped bucket) and AccessDenied (no s3:PutObject), and a web
        # server's 404: nothing was stored, so the seed job must not go green.
        self.locked_and_fetched()
        for status, body in [(404, b"<Error><Code>NoSuchBucket</Code></Error>"),
                             (403, b"<Error><Code>AccessDenied</Code></Error>"), (404, b"")]:
            with self.subTest(status=status, body=body), Recorder() as recorder:
                recorder.put_answer = (status, body)
                result = self.run_tool("push", "tiny", "--to", "s3://bucket/x",
                                       env=self.recorder_env(recorder), check=3)
                self.assertIn(f"HTTP {status}", result.stderr)
                self.assertNotIn("Pushed", result.stderr)

    def test_a_push_a_redirect_answered_stored_nothing_and_says_so(self):
        self.locked_and_fetched()
        with Recorder() as recorder:
            recorder.redirect_puts = True
            result = self.run_tool("push", "tiny", "--to", "s3://bucket/x", env=self.recorder_env(recorder), check=3)
        self.assertIn("redirected", result.stderr)
        self.assertIn("the bucket is in eu-west-3", result.stderr)
        self.assertIn("AWS_REGION", result.stderr)
        self.assertNotIn("Pushed", result.stderr)

    def test_an_upload_the_server_forgot_is_started_over_by_the_next_push(self):
        self.locked_and_fetched(HUGE)
        with Recorder() as recorder:
            recorder.forget_upload_once = True
            env = self.recorder_env(recorder, HFMODELS_S3_MULTIPART_FROM=str(16 << 20))
            result = self.run_tool("push", "huge", "--to", "s3://bucket/x", env=env, check=3)
            self.assertIn("NoSuchUpload", result.stderr)
            self.assertIn("starts this upload over", result.stderr)
            recorder.requests.clear()
            self.run_tool("push", "huge", "--to", "s3://bucket/x", env=env, check=0)
            second = [(r["method"], r["path"].split("?")[-1]) for r in recorder.requests if r["method"] != "HEAD"]
        self.assertEqual(second[0], ("POST", "uploads="))  # a new upload, every part again
        self.assertEqual(sum(1 for m in second if m[0] == "PUT"), 2)

    def test_s3_access_denied_to_a_missing_object_counts_as_missing(self):
        # A reader without s3:ListBucket gets 403 AccessDenied for a key that is not there.
        self.locked_and_fetched()
        with Recorder() as recorder:
            recorder.get_answer = (403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
            env = self.fresh_env("b", AWS_ACCESS_KEY_ID="AK", AWS_SECRET_ACCESS_KEY="SK",
                                 AWS_ENDPOINT_URL=recorder.endpoint, HFMODELS_MIRRORS="s3://bucket/x")
            result = self.run_tool("fetch", "--no-origin", env=env, check=5)
        self.assertIn("not in any mirror:\n  ", result.stderr)
        self.assertIn("\n  tiny/config.json\n", result.stderr)
        self.assertIn("hfmodels push", result.stderr)
        self.assertNotIn("network access", result.stderr)

    def test_signatures_are_the_ones_botocore_computes(self):
        """libcurl signs (CURLOPT_AWS_SIGV4); botocore's S3 signer must get the same signature for
        the same request: a custom endpoint, a region, a session token; GET, HEAD, PUT, and the
        multipart POSTs with their query strings."""
        self.locked_and_fetched(HUGE)
        with Recorder() as recorder:
            credentials = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                           "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE/token+value==",
                           "AWS_REGION": "eu-central-1", "AWS_ENDPOINT_URL": recorder.endpoint}
            self.run_tool("fetch", env=self.fresh_env("b", **credentials, HFMODELS_MIRRORS="s3://bucket/pre.fix"),
                          check=0)
            self.run_tool("push", "--to", "s3://bucket/pre.fix", "-j", "2",
                          env=self.env(**credentials, HFMODELS_S3_MULTIPART_FROM=str(16 << 20)), check=0)
        requests = recorder.requests
        methods = {r["method"] for r in requests}
        self.assertEqual(methods, {"GET", "HEAD", "PUT", "POST"})
        self.assertTrue(any("partNumber=" in r["path"] for r in requests))
        self.assertTrue(any(r["path"].endswith("?uploads=") for r in requests))
        for request in requests:
            self.assertTrue(request["path"].startswith("/bucket/pre.fix/sha256/"), request["path"])
            signed = request["headers"]["authorization"]
            self.assertIn("/eu-central-1/s3/aws4_request", signed)
            for header in ("host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"):
                self.assertRegex(signed, rf"SignedHeaders=[^,]*\b{header}\b")
            if request["method"] == "PUT":
                # The payload's real hash: S3 checks the body against it.
                self.assertEqual(request["headers"]["x-amz-content-sha256"], request["body_sha256"])
        expected = botocore_authorizations(requests, recorder.endpoint, credentials["AWS_ACCESS_KEY_ID"],
                                           credentials["AWS_SECRET_ACCESS_KEY"],
                                           credentials["AWS_SESSION_TOKEN"], "eu-central-1")
        for request, authorization in zip(requests, expected):
            self.assertEqual(request["headers"]["authorization"], authorization,
                             request["method"] + " " + request["path"])


if __name__ == "__main__":
    unittest.main()
