"""The S3 API (docs/s3.md) through boto3, as s3-boto3.test.ts runs it.

Run with Debian's /usr/bin/python3 (python3-boto3 1.26). Reads its target
from the environment (EDGEFS_URL, EDGEFS_TOKEN for the native API,
S3_SECRET for the root pair EFROOT, S3_BUCKET, READ_KEY_ID/READ_SECRET for
a read-only pair of that bucket). Each check runs on its own and records
what it saw, or the exception it raised, so one failure hides no other; the
JSON object of all results is printed on stdout for the test to assert on.
"""

import base64
import concurrent.futures
import hashlib
import io
import json
import os
import sys
import traceback
import urllib.error
import urllib.request
import zlib

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["EDGEFS_URL"]
TOKEN = os.environ["EDGEFS_TOKEN"]
BUCKET = os.environ["S3_BUCKET"]
MiB = 1024 * 1024
TIMEOUT = 60


def client(key_id="EFROOT", secret=os.environ["S3_SECRET"]):
    return boto3.client(
        "s3",
        endpoint_url=URL,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        region_name="auto",
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=10,
            read_timeout=TIMEOUT,
            max_pool_connections=16,
        ),
    )


s3 = client()

# boto3 1.26 predates PutObject's IfNoneMatch/IfMatch parameters (2024): the
# headers are added to the request before it is signed, as a newer boto3 sends them.
EXTRA_HEADERS = {}


def add_headers(params, **_):
    params["headers"].update(EXTRA_HEADERS)


s3.meta.events.register("before-call.s3.PutObject", add_headers)


def put_with(headers, **kwargs):
    EXTRA_HEADERS.clear()
    EXTRA_HEADERS.update(headers)
    try:
        return s3.put_object(Bucket=BUCKET, **kwargs)
    finally:
        EXTRA_HEADERS.clear()


def code_of(call):
    """The S3 error code a call fails with (None if it succeeds)."""
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def exists(key):
    return code_of(lambda: s3.head_object(Bucket=BUCKET, Key=key)) is None


def data(seed, size):
    return hashlib.sha256(str(seed).encode()).digest() * (size // 32) + b"x" * (size % 32)


def native(method, path, body=None):
    req = urllib.request.Request(
        URL + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
        return json.loads(res.read() or b"null")


def check_conditional():
    first = put_with({"If-None-Match": "*"}, Key="cond/once", Body=b"one")
    second = code_of(lambda: put_with({"If-None-Match": "*"}, Key="cond/once", Body=b"two"))
    stale = first["ETag"]
    swapped = put_with({"If-Match": stale}, Key="cond/once", Body=b"three")
    lost = code_of(lambda: put_with({"If-Match": stale}, Key="cond/once", Body=b"four"))
    body = s3.get_object(Bucket=BUCKET, Key="cond/once")["Body"].read()
    return {
        "second": second,
        "swappedEtagChanged": swapped["ETag"] != stale,
        "lost": lost,
        "body": body.decode(),
    }


def check_checksums():
    payload = data(1, 300_000)
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    sha = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    a = s3.put_object(Bucket=BUCKET, Key="sum/crc32", Body=payload, ChecksumAlgorithm="CRC32")
    b = s3.put_object(Bucket=BUCKET, Key="sum/sha256", Body=payload, ChecksumAlgorithm="SHA256")
    same = all(
        s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() == payload
        for k in ("sum/crc32", "sum/sha256")
    )
    wrong_md5 = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()
    bad_md5 = code_of(
        lambda: s3.put_object(Bucket=BUCKET, Key="sum/bad-md5", Body=payload, ContentMD5=wrong_md5)
    )
    wrong_crc = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    bad_crc = code_of(
        lambda: s3.put_object(Bucket=BUCKET, Key="sum/bad-crc", Body=payload, ChecksumCRC32=wrong_crc)
    )
    return {
        "crc32Echoed": a.get("ChecksumCRC32") == crc,
        "sha256Echoed": b.get("ChecksumSHA256") == sha,
        "etag": a["ETag"],
        "md5": '"%s"' % hashlib.md5(payload).hexdigest(),
        "sameBytes": same,
        "badMd5": bad_md5,
        "badMd5Written": exists("sum/bad-md5"),
        "badCrc": bad_crc,
        "badCrcWritten": exists("sum/bad-crc"),
    }


def check_presigned():
    payload = data(2, 5000)
    s3.put_object(Bucket=BUCKET, Key="pre/get.bin", Body=payload)
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "pre/get.bin"}, ExpiresIn=300
    )
    with urllib.request.urlopen(get_url, timeout=TIMEOUT) as res:
        got = res.read() == payload
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "pre/put.bin"}, ExpiresIn=300
    )
    req = urllib.request.Request(put_url, method="PUT", data=b"through a presigned PUT")
    with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
        put_status = res.status
    put_body = s3.get_object(Bucket=BUCKET, Key="pre/put.bin")["Body"].read().decode()
    # The URL signs the key: another key with the same signature is refused.
    try:
        urllib.request.urlopen(get_url.replace("pre/get.bin", "pre/put.bin"), timeout=TIMEOUT)
        other_key = 200
    except urllib.error.HTTPError as e:
        other_key = e.code
    return {"get": got, "putStatus": put_status, "putBody": put_body, "otherKey": other_key}


MANY = ["many/%d/%04d" % (i % 11, i) for i in range(1100)]


def check_listing():
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode()), MANY))
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="many/", PaginationConfig={"PageSize": 250}
    )
    keys, sizes = [], []
    for page in pages:
        sizes.append(len(page.get("Contents", [])))
        keys.extend(o["Key"] for o in page.get("Contents", []))
    expected = sorted(MANY, key=lambda k: k.encode())
    by_dir = s3.list_objects_v2(Bucket=BUCKET, Prefix="many/", Delimiter="/")
    in_dir = s3.list_objects_v2(Bucket=BUCKET, Prefix="many/3/", Delimiter="/")
    return {
        "pageSizes": sizes,
        "count": len(keys),
        "unique": len(set(keys)),
        "inOrder": keys == expected,
        "commonPrefixes": [p["Prefix"] for p in by_dir.get("CommonPrefixes", [])],
        "contentsAtDir": len(by_dir.get("Contents", [])),
        "inOneDir": len(in_dir.get("Contents", [])),
    }


def check_delete_many():
    victims = [k for k in MANY if not k.startswith("many/10/")][:1000]
    answer = s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in victims], "Quiet": True}
    )
    left = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="many/"):
        left.extend(o["Key"] for o in page.get("Contents", []))
    return {
        "victims": len(victims),
        "deletedListed": len(answer.get("Deleted", [])),
        "errors": answer.get("Errors", []),
        "left": len(left),
        "leftAreTheOthers": sorted(left) == sorted(set(MANY) - set(victims)),
    }


def check_multipart():
    payload = data(3, 17 * MiB)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_fileobj(io.BytesIO(payload), BUCKET, "mp/17m.bin", Config=config)
    head = s3.head_object(Bucket=BUCKET, Key="mp/17m.bin")
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, "mp/17m.bin", out, Config=config)
    md5s = b"".join(hashlib.md5(payload[i : i + 5 * MiB]).digest() for i in range(0, len(payload), 5 * MiB))
    return {
        "etag": head["ETag"],
        "expectedEtag": '"%s-4"' % hashlib.md5(md5s).hexdigest(),
        "size": head["ContentLength"],
        "identical": out.getvalue() == payload,
    }


def check_copy():
    s3.put_object(
        Bucket=BUCKET, Key="copy/src.txt", Body=b"copy me", ContentType="text/x-src", Metadata={"kind": "source"}
    )
    s3.copy_object(Bucket=BUCKET, Key="copy/kept.txt", CopySource={"Bucket": BUCKET, "Key": "copy/src.txt"})
    s3.copy_object(
        Bucket=BUCKET,
        Key="copy/replaced.txt",
        CopySource={"Bucket": BUCKET, "Key": "copy/src.txt"},
        MetadataDirective="REPLACE",
        ContentType="application/x-replaced",
        Metadata={"kind": "replaced", "extra": "1"},
    )
    heads = {k: s3.head_object(Bucket=BUCKET, Key="copy/%s.txt" % k) for k in ("src", "kept", "replaced")}
    return {
        k: {"type": h["ContentType"], "meta": h["Metadata"], "etag": h["ETag"]} for k, h in heads.items()
    } | {"body": s3.get_object(Bucket=BUCKET, Key="copy/replaced.txt")["Body"].read().decode()}


def check_versions():
    # The e2e server keeps no time-based history (EDGEFS_VERSION_RETENTION_SECONDS=0):
    # a snapshot at each version keeps it, as docs/s3.md "Versions" says.
    ids = []
    for i, body in enumerate([b"first", b"second", b"third"]):
        ids.append(s3.put_object(Bucket=BUCKET, Key="ver/k", Body=body)["VersionId"])
        native("POST", "/v1/shares/%s/snapshots" % BUCKET, {"name": "v%d" % i, "version": int(ids[-1])})
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="ver/k")
    versions = listed.get("Versions", [])
    old = s3.get_object(Bucket=BUCKET, Key="ver/k", VersionId=ids[0])["Body"].read()
    return {
        "versioning": s3.get_bucket_versioning(Bucket=BUCKET).get("Status"),
        "versionIds": ids,
        "listedIds": [v["VersionId"] for v in versions],
        "latest": [v["VersionId"] for v in versions if v.get("IsLatest")],
        "old": old.decode(),
    }


def check_refusals():
    wrong = client(secret="not-the-secret-" + "x" * 25)
    reader = client(os.environ["READ_KEY_ID"], os.environ["READ_SECRET"])
    s3.put_object(Bucket=BUCKET, Key="fp/a", Body=b"a file")
    s3.put_object(Bucket=BUCKET, Key="fp/dir/inner", Body=b"inside")
    return {
        "wrongSecret": code_of(lambda: wrong.list_objects_v2(Bucket=BUCKET)),
        "readerGets": reader.get_object(Bucket=BUCKET, Key="fp/a")["Body"].read().decode(),
        "readerPuts": code_of(lambda: reader.put_object(Bucket=BUCKET, Key="fp/nope", Body=b"x")),
        "readerPutWritten": exists("fp/nope"),
        "doubleSlash": code_of(lambda: s3.put_object(Bucket=BUCKET, Key="a//b", Body=b"x")),
        "underFile": code_of(lambda: s3.put_object(Bucket=BUCKET, Key="fp/a/b", Body=b"x")),
        "overDir": code_of(lambda: s3.put_object(Bucket=BUCKET, Key="fp/dir", Body=b"x")),
        "fileIntact": s3.get_object(Bucket=BUCKET, Key="fp/a")["Body"].read().decode(),
    }


CHECKS = [
    check_conditional,
    check_checksums,
    check_presigned,
    check_listing,
    check_delete_many,
    check_multipart,
    check_copy,
    check_versions,
    check_refusals,
]


def main():
    results = {}
    for check in CHECKS:
        name = check.__name__[len("check_") :]
        try:
            results[name] = {"ok": check()}
        except Exception:
            results[name] = {"error": traceback.format_exc()}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
