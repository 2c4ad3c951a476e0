"""Output safety (issue 9, points 1-5 and 12): whatever a server, a lockfile, a manifest or the
environment puts into a message, what reaches a terminal, a CI log or a JSON consumer holds no
secret (the token, URL or proxy credentials) and no terminal control sequence, and stays short.
A token that could smuggle HTTP headers is refused before anything is sent.
"""

import base64
import json
import unittest

from fault_support import FaultTestCase
from test_secrets import ALLOWED, GATED_MANIFEST, REMOTE, ProxyTrap

TINY_MANIFEST = """
    models:
      tiny:
        repo: test-org/tiny-model
"""
ESC = "\x1b"
CSI_C1 = "\u009b"
RLO = "\u202e"
PASSWORD = "s3cr3t-pw-9"


class SafetyTestCase(FaultTestCase):

    def assert_clean(self, *outputs):
        """No secret and no byte a terminal would act on, in any of `outputs`."""
        for output in outputs:
            for secret in (ALLOWED, PASSWORD, "X-Injected"):
                self.assertNotIn(secret, output)
            for control in (ESC, "\x07", "\r", CSI_C1, RLO):
                self.assertNotIn(control, output, f"{control!r} reached the output")

    def run_modes(self, *args, env=None, check=None):
        """The command in the three output modes (plain, -v and --json); all their output."""
        outputs = []
        for mode in ([], ["-v"], ["--json"]):
            result = self.run_tool(*mode, *args, env=env, check=check)
            outputs += [result.stdout, result.stderr]
        return outputs


class TestTokenShape(SafetyTestCase):

    def test_a_token_holding_a_line_break_is_refused_before_any_request(self):
        self.write_manifest(GATED_MANIFEST)
        for token in (ALLOWED + "\nX-Injected: yes", ALLOWED + "\r\nX-Injected: yes",
                      ALLOWED + "\x1b[2J", ALLOWED + ' "X-Injected"', ALLOWED + "\u00e9"):
            with self.subTest(token=token):
                self.hub.reset_requests()
                outputs = self.run_modes("lock", env=self.env(HF_TOKEN=token), check=2)
                self.assertIn("the token cannot be used", outputs[1])
                self.assertIn("HF_TOKEN", outputs[1])
                self.assert_clean(*outputs)
                self.assert_no_requests("a bad token")

    def test_a_token_file_with_a_comment_line_is_refused(self):
        self.write_manifest(GATED_MANIFEST)
        token_file = self.root / "token"
        token_file.write_text("# my Hugging Face token\n" + ALLOWED + "\n")
        result = self.run_tool("lock", env=self.env(HF_TOKEN_PATH=str(token_file)), check=2)
        self.assertIn("the token cannot be used", result.stderr)
        self.assertIn(str(token_file), result.stderr)
        self.assert_clean(result.stdout, result.stderr)
        self.assert_no_requests("a token file with two lines")

    def test_commands_that_never_connect_still_work(self):
        self.write_manifest(TINY_MANIFEST)
        self.run_tool("lock", check=0)
        env = self.env(HF_TOKEN=ALLOWED + "\nX-Injected: yes")
        result = self.run_tool("status", env=env, check=0)
        self.assertIn("tiny", result.stdout)
        self.run_tool("fetch", env=self.env(HF_TOKEN=ALLOWED + "\n", HF_HUB_OFFLINE="1"),
                      check=5)


class TestEchoingServer(SafetyTestCase):

    def test_a_token_the_server_echoes_is_never_shown(self):
        self.write_manifest(GATED_MANIFEST)
        for place in ("header", "json"):
            with self.subTest(place=place):
                fault = {"action": "replace_body", "match": "/revision/", "status": 401,
                         "times": -1}
                if place == "header":
                    fault["headers"] = {"X-Error-Message": "bad credentials: {authorization}"}
                    fault["body"] = "{}"
                else:
                    fault["body"] = '{"error": "you sent {authorization}", ' \
                                    '"errors": [{"message": "{authorization}"}]}'
                self.hub.clear_faults()
                self.hub.add_fault(fault)
                outputs = self.run_modes("lock", env=self.env(HF_TOKEN=ALLOWED), check=3)
                self.assertTrue(any("Bearer ***" in output for output in outputs), outputs)
                self.assert_clean(*outputs)


class TestCredentialsInUrls(SafetyTestCase):

    def setUp(self):
        super().setUp()
        self.trap = ProxyTrap()
        self.trap.start()
        self.addCleanup(self.trap.close)

    def test_endpoint_credentials_are_never_shown(self):
        self.write_manifest(GATED_MANIFEST)
        endpoint = self.hub.endpoint.replace("http://", f"http://alice:{PASSWORD}@")
        # The gated repo's hint names its page, under the endpoint.
        outputs = self.run_modes("lock", env=self.env(HF_ENDPOINT=endpoint), check=3)
        self.assertIn("gated", outputs[1])
        self.assert_clean(*outputs)
        outputs = self.run_modes("lock", env=self.env(HF_ENDPOINT=f"ftp://alice:{PASSWORD}@h/"),
                                 check=2)
        self.assertIn("invalid endpoint", outputs[1])
        self.assert_clean(*outputs)

    def test_proxy_credentials_are_never_shown_in_the_trace(self):
        self.write_manifest(GATED_MANIFEST)
        proxy = self.trap.url.replace("http://", f"http://alice:{PASSWORD}@")
        result = self.run_tool("-v", "lock", env=self.env(HF_ENDPOINT=REMOTE, http_proxy=proxy),
                               check=3)
        self.assertTrue(self.trap.requests, "the request did not go through the proxy")
        basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        self.assertIn(basic, self.trap.requests[0], "the proxy got its credentials")
        self.assertNotIn(basic, result.stderr)
        self.assertIn("Proxy-Authorization: Basic ***", result.stderr)
        self.assert_clean(result.stdout, result.stderr)


class TestTerminalSafety(SafetyTestCase):

    def test_controls_in_a_server_message_are_shown_escaped(self):
        self.write_manifest(TINY_MANIFEST)
        message = f"{ESC}]0;pwned\x07{ESC}[31mred{CSI_C1}2J{RLO}txt.exe\r\nhfmodels: ok"
        self.hub.add_fault({"action": "replace_body", "match": "/revision/", "status": 404,
                            "times": -1, "body": json.dumps({"error": message})})
        outputs = self.run_modes("lock", check=3)
        self.assertIn("\\x1b]0;pwned", outputs[1])
        self.assert_clean(*outputs)
        for line in outputs[4].splitlines():  # --json: each line is one JSON object, ASCII only
            json.loads(line)
            self.assertTrue(line.isascii(), line)

    def test_hostile_lockfile_values_are_escaped(self):
        self.write_manifest(TINY_MANIFEST)
        self.run_tool("lock", check=0)
        text = self.lockfile().read_text()
        for old, new in (("repo: test-org/tiny-model", 'repo: "test\\e[2Jorg/x"'),
                         ("revision: main", 'revision: "ma\\e]0;x\\ain"'),
                         ("  tiny:", '  "t\\e[31miny":')):
            with self.subTest(value=new):
                self.lockfile().write_text(text.replace(old, new))
                outputs = self.run_modes("fetch", check=2)
                self.assertIn("invalid lockfile", outputs[1])
                self.assertIn("\\x1b", outputs[1])
                self.assert_clean(*outputs)

    def test_hostile_manifest_keys_are_escaped(self):
        self.write_manifest('models:\n  tiny:\n    repo: test-org/tiny-model\n'
                            '    "inc\\e[31mlude\\u202e": ["*.json"]\n')
        outputs = self.run_modes("lock", check=2)
        self.assertIn("unknown key", outputs[1])
        self.assert_clean(*outputs)

    def test_a_huge_value_is_shortened(self):
        self.write_manifest(TINY_MANIFEST)
        self.run_tool("lock", check=0)
        text = self.lockfile().read_text()
        self.lockfile().write_text(text.replace("repo: test-org/tiny-model",
                                                "repo: test-org/" + "x" * 10_000_000))
        outputs = self.run_modes("fetch", check=2)
        self.assertIn("invalid", outputs[1])
        for output in outputs:
            self.assertLess(len(output), 100_000)


class TestCompression(SafetyTestCase):

    def test_api_answers_may_be_compressed_file_bodies_never(self):
        self.write_manifest(TINY_MANIFEST)
        self.run_tool("lock", env=self.env(HF_HUB_CACHE=str(self.root / "other")), check=0)
        self.run_tool("fetch", check=0)
        requests = self.hub.requests()["requests"]
        api = [r for r in requests if r["path"].startswith("/api/models/")]
        files = [r for r in requests if "/resolve/" in r["path"] or r["listener"] == "cdn"]
        self.assertTrue(api and files)
        for request in api:
            self.assertIn("gzip", request["accept_encoding"] or "", request)
        for request in files:
            self.assertIsNone(request["accept_encoding"], request)


if __name__ == "__main__":
    unittest.main()
