"""PostObject against a real cluster: boto3's generate_presigned_post with requests, a plain HTML form
sent by `curl -F`, anonymous forms, and every malformed form, policy and signature (the pure parts:
test_post_form_unit, test_post_policy_unit). The large upload: test_post_object_stream."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from s3front import acl_model as A
from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.expect import s3_error

LATER = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
TAGGING = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag></TagSet></Tagging>"


@pytest.fixture(scope="module")
def v4(cluster):
    return cluster.client(signature_version="s3v4", s3={"addressing_style": "path"})


def post(url: str, fields: list[tuple[str, str]] | dict, data: bytes = b"bar", filename: str = "f.txt",
         after: list[tuple[str, str]] = ()) -> requests.Response:
    """A form as a browser sends it: the fields, then the file, then (ignored) anything after."""
    items = list(fields.items()) if isinstance(fields, dict) else list(fields)
    parts = [(k, (None, v)) for k, v in items] + [("file", (filename, data))] + [(k, (None, v)) for k, v in after]
    return requests.post(url, files=parts, allow_redirects=False, timeout=30)


def error(resp: requests.Response) -> tuple[int, str, str]:
    root = ET.fromstring(resp.content)
    assert root.tag == "Error", resp.text
    return resp.status_code, root.findtext("Code"), root.findtext("Message") or ""


def v2_form(bucket: str, conditions: list, fields: dict[str, str], secret: str = SECRET_KEY,
            access_key: str = ACCESS_KEY, expiration: str = LATER) -> dict[str, str]:
    """A SigV2-signed form, as s3-tests build them by hand."""
    policy = base64.b64encode(json.dumps({"expiration": expiration,
                                          "conditions": [{"bucket": bucket}, *conditions]}).encode()).decode()
    signature = base64.b64encode(hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()).decode()
    return {**fields, "AWSAccessKeyId": access_key, "policy": policy, "signature": signature}


def url_of(cluster, bucket: str) -> str:
    return f"{cluster.endpoint}/{bucket}"


# -- boto3's generate_presigned_post, sent by requests ---------------------------------------------
def test_presigned_post_v4_sets_everything_a_form_may(cluster, v4, s3, bucket):
    fields = {"acl": "public-read", "Content-Type": "text/plain", "x-amz-meta-color": "blue",
              "tagging": TAGGING, "success_action_status": "201", "Cache-Control": "max-age=60"}
    conditions = [{k: v} for k, v in fields.items() if k != "Content-Type"] + \
        [["starts-with", "$Content-Type", "text/"], ["content-length-range", 1, 1024]]
    form = v4.generate_presigned_post(bucket, "up/${filename}", Fields=fields, Conditions=conditions)
    assert "x-amz-signature" in form["fields"]
    resp = post(form["url"], form["fields"], b"hello world", filename="C:\\tmp\\hello.txt")
    assert resp.status_code == 201, resp.text
    doc = ET.fromstring(resp.content)
    assert doc.tag == "PostResponse"
    assert (doc.findtext("Bucket"), doc.findtext("Key")) == (bucket, "up/hello.txt")
    assert doc.findtext("ETag") == resp.headers["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    assert doc.findtext("Location") == resp.headers["Location"] == f"{cluster.endpoint}/{bucket}/up%2Fhello.txt"
    got = s3.get_object(Bucket=bucket, Key="up/hello.txt")
    assert got["Body"].read() == b"hello world"
    assert (got["ContentType"], got["CacheControl"], got["Metadata"]) == ("text/plain", "max-age=60", {"color": "blue"})
    assert got["TagCount"] == 2
    assert s3.get_object_tagging(Bucket=bucket, Key="up/hello.txt")["TagSet"] == [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert any(g["Permission"] == "READ" and g["Grantee"].get("URI") == A.ALL_USERS
               for g in s3.get_object_acl(Bucket=bucket, Key="up/hello.txt")["Grants"])


def test_presigned_post_v2_answers_204_and_ignores_fields_after_the_file(s3, bucket):
    form = s3.generate_presigned_post(bucket, "k.txt")
    assert "signature" in form["fields"]
    resp = post(form["url"], form["fields"], b"data", after=[("x-amz-meta-late", "x")])
    assert (resp.status_code, resp.content) == (204, b""), resp.text
    head = s3.head_object(Bucket=bucket, Key="k.txt")
    assert head["ContentLength"] == 4 and head["Metadata"] == {}
    assert head["ContentType"] == "binary/octet-stream"     # the file part's own Content-Type is not the object's


def test_success_action_status_200_and_unknown_values(s3, bucket):
    for status, expected in (("200", 200), ("404", 204), ("", 204)):
        form = s3.generate_presigned_post(bucket, "s.txt", Fields={"success_action_status": status},
                                          Conditions=[{"success_action_status": status}])
        resp = post(form["url"], form["fields"])
        assert (resp.status_code, resp.content) == (expected, b"")


def test_versioned_bucket_names_the_new_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    form = s3.generate_presigned_post(bucket, "v.txt")
    first, second = post(form["url"], form["fields"], b"1"), post(form["url"], form["fields"], b"2")
    ids = [first.headers["x-amz-version-id"], second.headers["x-amz-version-id"]]
    assert ids[0] != ids[1]
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted(ids)


def test_checksum_field_is_checked(s3, bucket):
    good = base64.b64encode(hashlib.sha256(b"bar").digest()).decode()
    form = s3.generate_presigned_post(bucket, "c.txt")
    resp = post(form["url"], {**form["fields"], "x-amz-checksum-sha256": good})
    assert resp.status_code == 204 and resp.headers["x-amz-checksum-sha256"] == good
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert error(post(form["url"], {**form["fields"], "x-amz-checksum-sha256": wrong}, b"baz"))[:2] == (400, "BadDigest")
    assert s3.get_object(Bucket=bucket, Key="c.txt")["Body"].read() == b"bar"      # the failed form stored nothing


# -- a plain HTML form, driven by curl -F ----------------------------------------------------------
def test_curl_form_with_success_action_redirect(cluster, s3, bucket, tmp_path):
    redirect = "https://example.com/done?from=form"
    form = s3.generate_presigned_post(bucket, "curl/${filename}", Fields={"success_action_redirect": redirect},
                                      Conditions=[{"success_action_redirect": redirect}])
    upload = tmp_path / "page.html"
    upload.write_bytes(b"<p>uploaded by curl</p>")
    args = ["curl", "-s", "-o", "/dev/null", "-D", "-", "-w", "%{http_code}"]
    for name, value in form["fields"].items():
        args += ["--form-string", f"{name}={value}"]
    args += ["-F", f"file=@{upload};type=text/html", form["url"]]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.endswith("303")
    location = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.lower().startswith("location:"))
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    assert (parts.netloc, parts.path, query["from"], query["bucket"], query["key"]) == (
        "example.com", "/done", ["form"], [bucket], ["curl/page.html"])
    assert query["etag"] == [f'"{hashlib.md5(upload.read_bytes()).hexdigest()}"']
    assert s3.get_object(Bucket=bucket, Key="curl/page.html")["Body"].read() == upload.read_bytes()


# -- anonymous forms -------------------------------------------------------------------------------
def test_anonymous_form_needs_a_bucket_that_takes_anonymous_writes(cluster, s3, bucket):
    fields = {"key": "anon.txt", "Content-Type": "text/plain", "acl": "public-read"}
    status, code, _ = error(post(url_of(cluster, bucket), fields))
    assert (status, code) == (403, "AccessDenied")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    assert post(url_of(cluster, bucket), fields).status_code == 204
    listed = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
    assert [(o["Key"], o["Owner"]["ID"]) for o in listed] == [("anon.txt", A.ANONYMOUS_ID)]
    assert requests.get(f"{url_of(cluster, bucket)}/anon.txt", timeout=10).content == b"bar"


def test_anonymous_form_allowed_by_the_bucket_policy(cluster, s3, bucket):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/drop/*"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert post(url_of(cluster, bucket), {"key": "drop/${filename}"}, filename="x.bin").status_code == 204
    assert [(o["Key"], o["Size"]) for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [("drop/x.bin", 3)]
    assert error(post(url_of(cluster, bucket), {"key": "elsewhere/x.bin"}))[:2] == (403, "AccessDenied")


def test_signed_form_of_another_account_needs_its_write_permission(cluster, bucket):
    from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
    form = v2_form(bucket, [["starts-with", "$key", ""]], {"key": "lisa.txt"}, ALT_SECRET_KEY, ALT_ACCESS_KEY)
    assert error(post(url_of(cluster, bucket), form))[:2] == (403, "AccessDenied")


# -- what AWS refuses ------------------------------------------------------------------------------
BASE = [["starts-with", "$key", "foo"], {"acl": "private"}, ["content-length-range", 0, 1024]]
FIELDS = {"key": "foo.txt", "acl": "private"}


@pytest.mark.parametrize("conditions, fields, data, expected, says", [
    (BASE, {**FIELDS, "key": "bar.txt"}, b"x", (403, "AccessDenied"), 'Policy Condition failed: ["starts-with", "$key", "foo"]'),
    (BASE, {**FIELDS, "x-amz-meta-a": "1"}, b"x", (403, "AccessDenied"), "Extra input fields: x-amz-meta-a"),
    (BASE, {"key": "foo.txt"}, b"x", (403, "AccessDenied"), 'Policy Condition failed: ["eq", "$acl", "private"]'),
    (BASE[:2] + [["content-length-range", 0, 2]], FIELDS, b"xyz", (400, "EntityTooLarge"), ""),
    (BASE[:2] + [["content-length-range", 5, 9]], FIELDS, b"xyz", (400, "EntityTooSmall"), ""),
    (BASE[:2] + [["content-length-range", 0]], FIELDS, b"x", (400, "InvalidPolicyDocument"), "wrong number of arguments"),
    (BASE + [{}], FIELDS, b"x", (400, "InvalidPolicyDocument"), "Simple-Conditions"),
    (BASE + [["matches", "$key", "f"]], FIELDS, b"x", (400, "InvalidPolicyDocument"), "unknown operation"),
    (BASE, {**FIELDS, "tagging": "<Tagging><TagSet>"}, b"x", (403, "AccessDenied"), "Extra input fields: tagging"),
    (BASE + [["starts-with", "$tagging", ""]], {**FIELDS, "tagging": "<Tagging><TagSet>"}, b"x", (400, "MalformedXML"), ""),
    (BASE + [["starts-with", "$x-amz-meta-big", ""]], {**FIELDS, "x-amz-meta-big": "v" * 3000}, b"x",
     (400, "MetadataTooLarge"), ""),
    (BASE, {**FIELDS, "x-amz-checksum-sha256": "sailorjerry"}, b"x", (400, "BadDigest"), ""),
    (BASE[:1] + [{"acl": "nonsense"}] + BASE[2:], {**FIELDS, "acl": "nonsense"}, b"x", (400, "InvalidArgument"), ""),
])
def test_form_refused_as_aws_refuses_it(cluster, s3, bucket, conditions, fields, data, expected, says):
    resp = post(url_of(cluster, bucket), v2_form(bucket, conditions, fields), data)
    status, code, message = error(resp)
    assert (status, code) == expected
    assert says in message
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_policy_document_errors(cluster, bucket):
    url = url_of(cluster, bucket)
    expired = v2_form(bucket, BASE, FIELDS, expiration="2020-01-01T00:00:00Z")
    assert error(post(url, expired)) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    other_bucket = v2_form(bucket + "-x", BASE, FIELDS)
    assert error(post(url, other_bucket))[:2] == (403, "AccessDenied")
    for policy in ("not base64!", base64.b64encode(b"{no json").decode(),
                   base64.b64encode(json.dumps({"expiration": LATER}).encode()).decode()):
        signature = base64.b64encode(hmac.new(SECRET_KEY.encode(), policy.encode(), hashlib.sha1).digest()).decode()
        form = {**FIELDS, "AWSAccessKeyId": ACCESS_KEY, "policy": policy, "signature": signature}
        assert error(post(url, form))[:2] == (400, "InvalidPolicyDocument")


def test_signature_errors(cluster, v4, bucket):
    url = url_of(cluster, bucket)
    good = v2_form(bucket, BASE, FIELDS)
    assert error(post(url, {**good, "signature": "AAAA"}))[:2] == (403, "SignatureDoesNotMatch")
    assert error(post(url, v2_form(bucket, BASE, FIELDS, secret="wrong")))[:2] == (403, "SignatureDoesNotMatch")
    assert error(post(url, {**good, "AWSAccessKeyId": "NOSUCHKEY"}))[:2] == (403, "InvalidAccessKeyId")
    missing = {k: v for k, v in good.items() if k != "signature"}
    assert error(post(url, missing))[:2] == (400, "InvalidArgument")
    assert error(post(url, {k: v for k, v in good.items() if k != "policy"}))[:2] == (400, "InvalidArgument")
    signed = v4.generate_presigned_post(bucket, "foo.txt")["fields"]
    assert post(url, signed).status_code == 204
    assert error(post(url, {**signed, "x-amz-signature": "0" * 64}))[:2] == (403, "SignatureDoesNotMatch")
    assert error(post(url, {**signed, "x-amz-algorithm": "AWS4-HMAC-SHA1"}))[:2] == (400, "InvalidArgument")
    assert error(post(url, {**signed, "x-amz-credential": "only/three/parts"}))[:2] == (400, "InvalidArgument")
    assert error(post(url, {**signed, "x-amz-date": "yesterday"}))[:2] == (400, "InvalidArgument")


def test_malformed_bodies_get_clear_errors(cluster, s3, bucket):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")     # so that the file part is read at all
    url = url_of(cluster, bucket)
    assert error(requests.post(url, data={"key": "k"}, timeout=10))[:2] == (412, "PreconditionFailed")
    no_boundary = requests.post(url, data=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}, timeout=10)
    assert error(no_boundary)[:2] == (400, "MalformedPOSTRequest")
    body = (b'--XyZ\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nunfinished')
    cut = requests.post(url, data=body, headers={"Content-Type": "multipart/form-data; boundary=XyZ"}, timeout=10)
    assert error(cut)[:2] == (400, "MalformedPOSTRequest")
    no_file = requests.post(url, files=[("key", (None, "k"))], timeout=10)
    assert error(no_file)[:2] == (400, "InvalidArgument")
    assert error(post(url, {"acl": "private"}))[:2] == (400, "InvalidArgument")            # no key
    assert error(post(url, {"key": "k", "x-ignore-pad": "p" * 30_000}))[:2] == (400, "MaxPostPreDataLengthExceededError")
    many = [("key", "k")] + [(f"x-ignore-{i}", "") for i in range(300)]
    assert error(post(url, many))[:2] == (400, "MaxPostPreDataLengthExceededError")
    garbage = requests.post(url, data=b"\x00" * 100, headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
                            timeout=10)
    assert error(garbage)[0] == 400


def test_tagging_limits_apply_to_the_form(cluster, s3, bucket):
    tags = "".join(f"<Tag><Key>k{i}</Key><Value>v</Value></Tag>" for i in range(11))
    conditions = BASE + [["starts-with", "$tagging", ""]]
    form = v2_form(bucket, conditions, {**FIELDS, "tagging": f"<Tagging><TagSet>{tags}</TagSet></Tagging>"})
    assert error(post(url_of(cluster, bucket), form))[:2] == (400, "BadRequest")
    bad_key = "<Tagging><TagSet><Tag><Key>aws:x</Key><Value>v</Value></Tag></TagSet></Tagging>"
    assert error(post(url_of(cluster, bucket), v2_form(bucket, conditions, {**FIELDS, "tagging": bad_key})))[:2] == \
        (400, "InvalidTag")
    assert s3_error(s3.head_object, Bucket=bucket, Key="foo.txt")[0] == 404


# -- IAM users and sessions sign forms too ---------------------------------------------------------
def test_iam_user_and_session_forms_get_their_own_permissions(cluster, bucket):
    from tests.test_iam_access import allow, client_of, new_user, policy
    from tests.test_iam_api import iam_client
    from tests.test_sts import session_s3, sts_client
    iam = iam_client(cluster)
    _, writer = new_user(iam, policy(allow("s3:PutObject", f"arn:aws:s3:::{bucket}/in/*")))
    signer = client_of(cluster, writer, signature_version="s3v4", s3={"addressing_style": "path"})
    form = signer.generate_presigned_post(bucket, "in/${filename}")
    assert post(form["url"], form["fields"]).status_code == 204
    form = signer.generate_presigned_post(bucket, "out/x")
    assert error(post(form["url"], form["fields"]))[:2] == (403, "AccessDenied")
    creds = sts_client(cluster, writer["AccessKeyId"], writer["SecretAccessKey"]).get_session_token()["Credentials"]
    form = session_s3(cluster, creds).generate_presigned_post(bucket, "in/session.txt")
    assert "x-amz-security-token" in form["fields"]
    assert post(form["url"], form["fields"]).status_code == 204
    wrong_token = {**form["fields"], "x-amz-security-token": "forged"}
    assert error(post(form["url"], wrong_token))[:2] == (403, "InvalidAccessKeyId")     # as a forged header token


def test_mutated_forms_get_4xx_or_succeed_and_leave_no_error_behind(cluster, s3, bucket):
    """Random byte changes anywhere in a form (its headers, boundaries, file): an S3 answer every
    time, never a 5xx, and nothing the front-end logs as an error (an aborted data upload included)."""
    import random
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    good = (b'--XyZ\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\ndata\r\n--XyZ--\r\n')
    logged = len(cluster.logs("s3-0"))
    rng, statuses = random.Random(7), set()
    for _ in range(150):
        body = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        resp = requests.post(url_of(cluster, bucket), data=bytes(body), timeout=10,
                             headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
        statuses.add(resp.status_code)
        if resp.status_code != 204:
            assert error(resp)[0] == 400
    assert statuses <= {204, 400} and 400 in statuses
    time.sleep(0.5)         # an unretrieved future is reported when it is collected
    assert '"level":"error"' not in cluster.logs("s3-0")[logged:]


def test_a_cross_origin_form_gets_the_buckets_cors_headers(s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["POST"], "ExposeHeaders": ["ETag"]}]})
    form = s3.generate_presigned_post(bucket, "cors.txt")
    items = [(k, (None, v)) for k, v in form["fields"].items()] + [("file", ("f", b"x"))]
    resp = requests.post(form["url"], files=items, headers={"Origin": "https://app.example"}, timeout=10)
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "ETag" in resp.headers["Access-Control-Expose-Headers"]
