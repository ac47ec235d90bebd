"""A real S3 server for the upload tests: moto (pinned 5.2.5) on a free loopback port,
with authentication on, driven over stdin/stdout by tests/upload/server.rs.

Prints one JSON line once the server answers: {"port", "key_id", "secret"} of an IAM user
allowed everything on S3. Then reads one command per line and answers one JSON line:
  bucket NAME         create bucket NAME
  list BUCKET         every object: key, size, sha256 of its bytes, its edgewatt-sha256
                      metadata; and the multipart uploads not completed
Ends when stdin closes.
"""

import hashlib
import json
import os
import sys

# Requests before authentication is enforced: CreateUser, PutUserPolicy, CreateAccessKey.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def main():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    anon = dict(endpoint_url=url, region_name="us-east-1",
                aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam = boto3.client("iam", **anon)
    iam.create_user(UserName="fleet")
    iam.put_user_policy(UserName="fleet", PolicyName="s3", PolicyDocument=json.dumps(POLICY))
    key = iam.create_access_key(UserName="fleet")["AccessKey"]
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"])
    s3.list_buckets()  # authenticated: the server is up and checks signatures
    print(json.dumps({"port": port, "key_id": key["AccessKeyId"],
                      "secret": key["SecretAccessKey"]}), flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        try:
            if cmd == "bucket":
                s3.create_bucket(Bucket=arg)
                out = {"ok": True}
            elif cmd == "list":
                out = {"objects": objects(s3, arg),
                       "uploads": s3.list_multipart_uploads(Bucket=arg).get("Uploads", [])}
            else:
                out = {"error": f"unknown command {cmd!r}"}
        except Exception as e:  # the test shows it
            out = {"error": repr(e)}
        print(json.dumps(out, default=str), flush=True)
    server.stop()


def objects(s3, bucket):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=o["Key"])
            body = got["Body"].read()
            out.append({"key": o["Key"], "size": o["Size"],
                        "sha256": hashlib.sha256(body).hexdigest(),
                        "meta_sha256": got["Metadata"].get("edgewatt-sha256"),
                        "content_type": got.get("ContentType")})
    return out


if __name__ == "__main__":
    main()
