"""Signs requests with botocore's S3 SigV4 signer (Debian's python3-botocore): the reference the
mirror tests hold libcurl's CURLOPT_AWS_SIGV4 signatures to. Reads JSON on stdin: the endpoint,
the credentials, the region and the recorded requests (method, path with query, headers as
sent); prints the Authorization header botocore computes for each, at the time and over the
headers the request itself signed."""

import datetime
import json
import re
import sys
from unittest import mock

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def authorization(request, endpoint, credentials, region):
    headers = request["headers"]
    signed = re.search(r"SignedHeaders=([^,]+)", headers["authorization"]).group(1).split(";")
    stamp = datetime.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    # botocore adds X-Amz-Date and X-Amz-Security-Token itself; the rest are given as sent.
    given = {name: headers[name] for name in signed
             if name not in ("host", "x-amz-date", "x-amz-security-token")}
    aws_request = AWSRequest(method=request["method"], url=endpoint + request["path"], headers=given,
                             data=b"")
    clock = mock.Mock(wraps=datetime.datetime)
    clock.utcnow.return_value = stamp
    # botocore hashes the body itself (S3SigV4Auth.payload); the recorder kept the hash of the
    # body that was sent, not the body.
    with mock.patch("botocore.auth.datetime.datetime", clock), \
            mock.patch.object(S3SigV4Auth, "payload", lambda self, _: request["body_sha256"]):
        S3SigV4Auth(credentials, "s3", region).add_auth(aws_request)
    return aws_request.headers["Authorization"]


def main():
    payload = json.load(sys.stdin)
    credentials = Credentials(payload["key"], payload["secret"], payload["token"] or None)
    print(json.dumps([authorization(request, payload["endpoint"], credentials, payload["region"])
                      for request in payload["requests"]]))


if __name__ == "__main__":
    main()
