"""Real servers for the mirror tests, started on 127.0.0.1 and stopped by the tests: nginx with the
README's mirror configuration (examples/mirror/nginx-mirror.conf), s3rver (an S3 endpoint from
npm), and a recorder that answers like S3 and keeps every request, to check signatures against
botocore."""

import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NGINX_SITE = REPO / "examples" / "mirror" / "nginx-mirror.conf"
JS_DIR = HERE / "js"
# Debian's python3, where python3-botocore is installed (the tests may run under another one).
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, what, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class Nginx:
    """nginx running examples/mirror/nginx-mirror.conf, with its port and folder replaced."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.root = self.folder / "root"
        self.process = None
        self.port = None

    def start(self):
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(binary):
            raise unittest.SkipTest("nginx is not installed (scripts/install-deps installs nginx-light)")
        (self.root / ".incoming").mkdir(parents=True, exist_ok=True)
        # The test's temporary folder (0700) must let them through to it.
        for path in (self.folder.parent, self.folder):
            os.chmod(path, 0o755)
        # The workers of an nginx started by root run as nobody: the folder must be theirs to write.
        for path in (self.root, self.root / ".incoming"):
            os.chmod(path, 0o777)
        self.port = free_port()
        site = NGINX_SITE.read_text()
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        site = site.replace("/srv/hfmodels-mirror", str(self.root))
        (self.folder / "site.conf").write_text(site)
        temp = self.folder / "temp"
        temp.mkdir(exist_ok=True)
        os.chmod(temp, 0o777)
        (self.folder / "nginx.conf").write_text(f"""
daemon off;
worker_processes 2;
pid {self.folder}/nginx.pid;
error_log {self.folder}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {self.folder}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.folder}/site.conf;
}}
""")
        self.process = subprocess.Popen([binary, "-c", str(self.folder / "nginx.conf"), "-p", str(self.folder)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process, "nginx")
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def access_log(self):
        path = self.folder / "access.log"
        return path.read_text() if path.exists() else ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class S3rver:
    """s3rver from npm (tests/integration/js) with one bucket."""

    ACCESS_KEY = "S3RVER"
    SECRET_KEY = "S3RVER"

    def __init__(self, folder, bucket="models"):
        self.folder = Path(folder)
        self.bucket = bucket
        self.process = None
        self.port = None

    def start(self):
        from test_js_interop import node_tools
        node_tools()  # npm ci in tests/integration/js, once, when needed
        binary = JS_DIR / "node_modules" / ".bin" / "s3rver"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(binary), "-d", str(self.folder), "-a", "127.0.0.1", "-p", str(self.port), "--silent",
             "--configure-bucket", self.bucket],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process, "s3rver", timeout=30)
        return self

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def env(self):
        return {"AWS_ACCESS_KEY_ID": self.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1"}

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def aws_cli():
    for candidate in ("/usr/bin/aws", shutil.which("aws")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise unittest.SkipTest("the AWS CLI is not installed (scripts/install-deps installs awscli)")


class Recorder:
    """An S3-like endpoint that keeps every request (method, path, query, headers, body digest)
    and answers: GET 404, HEAD 404, PUT 200 with an ETag, POST ?uploads with an upload id, POST
    ?uploadId 200."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        # Requests whose path contains one of these get a 400 once (a refused part).
        self.refuse_once = set()
        # What a GET of an object gets: S3 answers 403 AccessDenied instead of 404 to a reader
        # without s3:ListBucket.
        self.get_answer = (404, b"<Error><Code>NoSuchKey</Code></Error>")
        self.redirect_puts = False  # a bucket in another region (PermanentRedirect)
        self.put_answer = None  # (status, body) for every PUT: a refusal
        self.forget_upload_once = False  # the completion finds no upload (NoSuchUpload)
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body=b"", headers=None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with recorder.lock:
                    recorder.requests.append({
                        "method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body_sha256": hashlib.sha256(body).hexdigest(), "body_size": len(body)})
                return body

            def do_GET(self):
                self.record()
                self.answer(*recorder.get_answer)

            def do_HEAD(self):
                self.record()
                self.answer(404)

            def do_PUT(self):
                body = self.record()
                refused = next((p for p in recorder.refuse_once if p in self.path), None)
                if refused:
                    recorder.refuse_once.discard(refused)
                    self.answer(400, b"<Error><Code>InvalidPart</Code></Error>")
                    return
                if recorder.put_answer:
                    self.answer(*recorder.put_answer)
                    return
                if recorder.redirect_puts:
                    self.answer(301, b"<Error><Code>PermanentRedirect</Code></Error>",
                                {"x-amz-bucket-region": "eu-west-3",
                                 "Location": "http://elsewhere.invalid/" + self.path})
                    return
                self.answer(200, headers={"ETag": '"' + hashlib.md5(body).hexdigest() + '"'})

            def do_POST(self):
                self.record()
                if "uploadId" in self.path and recorder.forget_upload_once:
                    recorder.forget_upload_once = False
                    self.answer(404, b"<Error><Code>NoSuchUpload</Code></Error>")
                elif "uploads" in self.path:
                    self.answer(200, b"<InitiateMultipartUploadResult><UploadId>up/id+1=</UploadId>"
                                     b"</InitiateMultipartUploadResult>")
                else:
                    self.answer(200, b"<CompleteMultipartUploadResult></CompleteMultipartUploadResult>")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def botocore_authorizations(requests, endpoint, key, secret, token, region):
    """The Authorization header botocore's S3 SigV4 signer computes for each recorded request, from
    the same method, URL, signed headers and time (run under Debian's python3)."""
    script = HERE / "sigv4_botocore.py"
    if not os.path.exists(SYSTEM_PYTHON):
        raise unittest.SkipTest("Debian's python3 is not there")
    check = subprocess.run([SYSTEM_PYTHON, "-c", "import botocore"], capture_output=True)
    if check.returncode != 0:
        raise unittest.SkipTest("python3-botocore is not installed (scripts/install-deps installs it)")
    payload = {"endpoint": endpoint, "key": key, "secret": secret, "token": token,
               "region": region, "requests": requests}
    result = subprocess.run([SYSTEM_PYTHON, str(script)], input=json.dumps(payload),
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)
