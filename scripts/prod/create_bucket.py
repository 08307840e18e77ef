"""Create Studio's bucket on the S3-compatible server if it is not there yet (a release step:
the compose `bucket` one-shot and `make prod-smoke` both run it). Waits up to a minute for the
server to answer, so it may start together with it."""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError


def create_bucket(wait_s: float = 60.0) -> str:
    """The bucket named by S3_BUCKET, created unless it exists; returns what was done."""
    bucket = os.environ["S3_BUCKET"]
    client = boto3.client(
        "s3",
        endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
        aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("S3_REGION") or "us-east-1",
    )
    deadline = time.monotonic() + wait_s
    while True:
        try:
            client.head_bucket(Bucket=bucket)
            return f"bucket {bucket} exists"
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            client.create_bucket(Bucket=bucket)
            return f"bucket {bucket} created"
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    try:
        print(create_bucket())  # noqa: T201
    except (KeyError, ClientError, EndpointConnectionError) as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
