"""SSE request headers (s3front/sse/headers.py) and bucket default encryption (bucket_config.py).

The tables follow what AWS answers (and what ceph's s3-tests send: keys A and B below are theirs).
"""
from __future__ import annotations

import base64
import hashlib
import os

import orjson
import pytest

from s3front.sse import bucket_config as B
from s3front.sse import headers as H
from s3front.sse import keys
from shared.errors import S3Error

KEY_A, MD5_A = "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=", "DWygnHRtgiJ77HCm+1rvHw=="
KEY_B, MD5_B = "6b+WOZ1T3cqZMxgThRcXAQBrS5mXKdDUphvpxptl9/4=", "arxBvwY2V4SiOne6yppVPQ=="
C_ALG, C_KEY, C_MD5 = H.CUSTOMER + "algorithm", H.CUSTOMER + "key", H.CUSTOMER + "key-md5"
SSE_C_A = {C_ALG: "AES256", C_KEY: KEY_A, C_MD5: MD5_A}
KEY_24 = base64.b64encode(b"k" * 24).decode()
MD5_24 = base64.b64encode(hashlib.md5(b"k" * 24).digest()).decode()


def _ctx(value: object) -> str:
    return base64.b64encode(orjson.dumps(value)).decode()


def _error(call, *args, **kwargs) -> S3Error:  # noqa: ANN001 - a test helper
    with pytest.raises(S3Error) as caught:
        call(*args, **kwargs)
    return caught.value


# -- parse_write: the errors ----------------------------------------------------------------------

WRITE_ERRORS = [
    # (headers, code, message, ArgumentName, ArgumentValue)
    ({H.SSE: "AES256", **SSE_C_A}, "InvalidArgument", H.MSG_C_WITH_SSE, H.SSE, "AES256"),
    ({H.SSE: "aws:kms", H.KMS_KEY_ID: "testkey-1", **SSE_C_A}, "InvalidArgument", H.MSG_C_WITH_SSE, H.SSE, "aws:kms"),
    ({H.SSE: "AES256", H.KMS_KEY_ID: "testkey-1"}, "InvalidArgument", H.MSG_KMS_NEEDS_SSE, H.SSE, "AES256"),
    ({H.SSE: "aes:kms"}, "InvalidArgument", H.MSG_NOT_SUPPORTED, H.SSE, "aes:kms"),
    ({H.SSE: ""}, "InvalidArgument", H.MSG_NOT_SUPPORTED, H.SSE, ""),
    ({H.SSE: "aws:fsx"}, "InvalidArgument", H.MSG_NOT_SUPPORTED, H.SSE, "aws:fsx"),
    ({H.KMS_KEY_ID: "testkey-2"}, "InvalidArgument", H.MSG_KMS_NEEDS_SSE, H.SSE, "null"),
    ({H.CONTEXT: _ctx({"a": "b"})}, "InvalidArgument", H.MSG_KMS_NEEDS_SSE, H.SSE, "null"),
    ({C_KEY: KEY_A, C_MD5: MD5_A}, "InvalidArgument", H.MSG_C_ALGORITHM, H.SSE, "null"),
    ({C_ALG: "AES192", C_KEY: KEY_A, C_MD5: MD5_A}, "InvalidEncryptionAlgorithmError",
     "The Encryption request you specified is not valid. Supported value: AES256.", H.SSE, "AES192"),
    ({C_ALG: "AES256"}, "InvalidArgument", H.MSG_C_KEY, H.SSE, "null"),
    ({C_ALG: "AES256", C_KEY: KEY_A}, "InvalidArgument", H.MSG_C_MD5, H.SSE, "null"),
    ({C_ALG: "AES256", C_KEY: KEY_A, C_MD5: "AAAAAAAAAAAAAAAAAAAAAA=="}, "InvalidArgument", H.MSG_C_MD5_MISMATCH, H.SSE, "null"),
    ({C_ALG: "AES256", C_KEY: KEY_A, C_MD5: MD5_B}, "InvalidArgument", H.MSG_C_MD5_MISMATCH, H.SSE, "null"),
    ({C_ALG: "AES256", C_KEY: KEY_24, C_MD5: MD5_A}, "InvalidArgument", H.MSG_C_MD5_MISMATCH, H.SSE, "null"),
    ({C_ALG: "AES256", C_KEY: KEY_24, C_MD5: MD5_24}, "InvalidArgument", H.MSG_C_INVALID_KEY, H.SSE, "null"),
    ({C_ALG: "AES256", C_KEY: "not*base64", C_MD5: MD5_A}, "InvalidArgument", H.MSG_C_INVALID_KEY, H.SSE, "null"),
    ({C_ALG: "AES256", C_KEY: KEY_A, C_MD5: "%%"}, "InvalidArgument", H.MSG_C_MD5_MISMATCH, H.SSE, "null"),
    ({H.SSE: "aws:kms", H.BUCKET_KEY: "yes"}, "InvalidArgument",
     f"The value of {H.BUCKET_KEY} must be true or false.", H.BUCKET_KEY, "yes"),
    ({H.SSE: "aws:kms", H.CONTEXT: "%%%"}, "InvalidArgument", H.MSG_CONTEXT, H.CONTEXT, "%%%"),
    ({H.SSE: "aws:kms", H.CONTEXT: base64.b64encode(b"{not json").decode()}, "InvalidArgument", H.MSG_CONTEXT, H.CONTEXT, None),
    ({H.SSE: "aws:kms", H.CONTEXT: base64.b64encode(b'{"a":"\xff"}').decode()}, "InvalidArgument", H.MSG_CONTEXT, H.CONTEXT, None),
    ({H.SSE: "aws:kms", H.CONTEXT: _ctx(["a", "b"])}, "InvalidArgument", H.MSG_CONTEXT, H.CONTEXT, None),
    ({H.SSE: "aws:kms", H.CONTEXT: _ctx({"a": 1})}, "InvalidArgument", H.MSG_CONTEXT, H.CONTEXT, None),
    ({H.SSE: "aws:kms", H.CONTEXT: _ctx({"aws:s3:arn": "x"})}, "InvalidArgument",
     "Encryption context keys beginning with aws: are reserved.", H.CONTEXT, None),
    ({H.SSE: "aws:kms", H.CONTEXT: _ctx({"a": "b" * 9000})}, "InvalidArgument",
     "The encryption context may hold at most 8192 bytes.", H.CONTEXT, None),
]


@pytest.mark.parametrize("headers,code,message,name,value", WRITE_ERRORS)
def test_write_header_errors(headers: dict, code: str, message: str, name: str, value: str | None) -> None:
    err = _error(H.parse_write, headers, secure=True)
    assert (err.code, err.status, err.message) == (code, 400, message)
    assert err.fields["ArgumentName"] == name
    assert err.fields["ArgumentValue"] == (headers.get(name) if value is None else value)


def test_sse_c_over_plain_http_is_refused_unless_allowed() -> None:
    err = _error(H.parse_write, SSE_C_A, secure=False)
    assert (err.code, err.status, err.message) == ("InvalidRequest", 400, H.MSG_C_INSECURE)
    assert H.parse_write(SSE_C_A, secure=False, allow_http=True).customer is not None
    assert _error(H.parse_read, SSE_C_A, secure=False).code == "InvalidRequest"
    assert H.parse_write({H.SSE: "AES256"}, secure=False).mode == "AES256"      # only SSE-C needs TLS


# -- parse_write: what it accepts -----------------------------------------------------------------

def test_write_headers_parse() -> None:
    assert H.parse_write({"content-type": "text/plain"}, secure=True) == H.SseRequest()
    assert H.parse_write({H.SSE: "AES256"}, secure=True) == H.SseRequest("AES256")
    kms = H.parse_write({H.SSE: "aws:kms", H.KMS_KEY_ID: "testkey-1", H.CONTEXT: _ctx({"team": "a"}),
                         H.BUCKET_KEY: "TRUE"}, secure=True)
    assert kms == H.SseRequest("aws:kms", "testkey-1", {"team": "a"}, True)
    assert H.parse_write({H.SSE: "aws:kms"}, secure=True) == H.SseRequest("aws:kms")     # AWS's aws/s3 key
    assert H.parse_write({H.SSE: "aws:kms:dsse", H.KMS_KEY_ID: "k"}, secure=True).mode == "aws:kms:dsse"
    customer = H.parse_write(SSE_C_A, secure=True).customer
    assert customer is not None and customer.md5 == MD5_A and customer.key == base64.b64decode(KEY_A)
    assert KEY_A not in repr(customer) and KEY_A not in repr(H.WriteSse("SSE-C", customer=customer))


def test_read_headers_take_only_the_sse_c_trio() -> None:
    assert H.parse_read({}, secure=True) is None
    assert H.parse_read(SSE_C_A, secure=True).md5 == MD5_A
    for name, value in [(H.SSE, "aws:kms"), (H.SSE, "AES256"), (H.KMS_KEY_ID, "testkey-1"),
                        (H.CONTEXT, _ctx({})), (H.BUCKET_KEY, "true")]:
        err = _error(H.parse_read, {name: value}, secure=True)
        assert (err.code, err.status) == ("InvalidArgument", 400)
        assert err.message == f"{name} header is not supported for this operation."
        assert (err.fields["ArgumentName"], err.fields["ArgumentValue"]) == (name, value)


def test_part_headers_take_the_sse_c_trio_and_ignore_the_rest() -> None:
    kms = {H.SSE: "aws:kms", H.KMS_KEY_ID: "testkey-1", "content-type": "text/plain"}
    assert H.parse_part(kms, secure=True) is None
    assert H.parse_part({**kms, **SSE_C_A}, secure=True).md5 == MD5_A
    assert _error(H.parse_part, {**SSE_C_A, C_MD5: MD5_B}, secure=True).message == H.MSG_C_MD5_MISMATCH


def test_copy_source_headers() -> None:
    source = {H.COPY_CUSTOMER + "algorithm": "AES256", H.COPY_CUSTOMER + "key": KEY_B, H.COPY_CUSTOMER + "key-md5": MD5_B}
    assert H.parse_copy_source(source, secure=True).md5 == MD5_B
    assert H.parse_copy_source(SSE_C_A, secure=True) is None
    bad = {**source, H.COPY_CUSTOMER + "key-md5": MD5_A}
    assert _error(H.parse_copy_source, bad, secure=True).message == H.MSG_C_MD5_MISMATCH
    both = H.parse_write({**source, **SSE_C_A}, secure=True)          # a copy's destination is separate
    assert both.customer is not None and both.customer.md5 == MD5_A


# -- checks against the stored object -------------------------------------------------------------

def _customer(b64: str) -> H.CustomerKey:
    return H.parse_customer({C_ALG: "AES256", C_KEY: b64,
                             C_MD5: base64.b64encode(hashlib.md5(base64.b64decode(b64)).digest()).decode()}, True)


STORED_C = H.ObjectSse("SSE-C", fingerprint=keys.customer_fingerprint(base64.b64decode(KEY_A)))
READ_CASES = [
    (None, None, None),
    (H.ObjectSse("AES256"), None, None),
    (H.ObjectSse("aws:kms", "arn"), None, None),
    (STORED_C, KEY_A, None),
    (STORED_C, None, ("InvalidRequest", 400, H.MSG_ENCRYPTED)),
    (STORED_C, KEY_B, ("AccessDenied", 403, H.MSG_C_WRONG_KEY)),
    (None, KEY_A, ("InvalidRequest", 400, H.MSG_NOT_APPLICABLE)),
    (H.ObjectSse("AES256"), KEY_A, ("InvalidRequest", 400, H.MSG_NOT_APPLICABLE)),
    (H.ObjectSse("aws:kms", "arn"), KEY_A, ("InvalidRequest", 400, H.MSG_NOT_APPLICABLE)),
]


@pytest.mark.parametrize("stored,given,expected", READ_CASES)
def test_check_read(stored: H.ObjectSse | None, given: str | None, expected: tuple | None) -> None:
    customer = _customer(given) if given else None
    if expected is None:
        H.check_read(stored, customer)
    else:
        err = _error(H.check_read, stored, customer)
        assert (err.code, err.status, err.message) == expected


PART_CASES = [
    (None, None, None),
    (H.ObjectSse("aws:kms", "arn"), None, None),
    (STORED_C, KEY_A, None),
    (STORED_C, None, H.MSG_PART_NEEDS_C),
    (None, KEY_A, H.MSG_PART_NEEDS_C),
    (STORED_C, KEY_B, H.MSG_PART_MISMATCH),
]


@pytest.mark.parametrize("upload,given,expected", PART_CASES)
def test_check_part(upload: H.ObjectSse | None, given: str | None, expected: str | None) -> None:
    customer = _customer(given) if given else None
    if expected is None:
        H.check_part(upload, customer)
    else:
        err = _error(H.check_part, upload, customer)
        assert (err.code, err.status, err.message) == ("InvalidRequest", 400, expected)


COMPLETE_CASES = [
    (STORED_C, None, None),
    (STORED_C, KEY_A, None),
    (None, None, None),
    (STORED_C, KEY_B, H.MSG_PART_MISMATCH),
    (H.ObjectSse("aws:kms", "arn"), KEY_A, H.MSG_NOT_APPLICABLE),
    (None, KEY_A, H.MSG_NOT_APPLICABLE),
]


@pytest.mark.parametrize("upload,given,expected", COMPLETE_CASES)
def test_check_complete(upload: H.ObjectSse | None, given: str | None, expected: str | None) -> None:
    customer = _customer(given) if given else None
    if expected is None:
        H.check_complete(upload, customer)
    else:
        err = _error(H.check_complete, upload, customer)
        assert (err.code, err.status, err.message) == ("InvalidRequest", 400, expected)


def test_kms_needs_sigv4() -> None:
    H.check_kms_signature("aws:kms", "SigV4")
    H.check_kms_signature("AES256", "SigV2")
    H.check_kms_signature(None, None)
    for version in ["SigV2", None]:
        err = _error(H.check_kms_signature, "aws:kms", version)
        assert (err.code, err.message, err.fields["ArgumentName"]) == ("InvalidArgument", H.MSG_KMS_SIGV4, "Authorization")


# -- responses ------------------------------------------------------------------------------------

def test_response_headers_of_each_mode() -> None:
    assert H.response_headers(None, H.WRITE) == {}
    for op in (H.WRITE, H.PART, H.COMPLETE, H.READ):
        assert H.response_headers(H.ObjectSse("AES256"), op) == {H.SSE: "AES256"}
    kms = H.ObjectSse("aws:kms", "arn:aws:kms:us-east-1:1:key/k", {"aws:s3:arn": "arn:aws:s3:::b/k"}, True)
    put = H.response_headers(kms, H.WRITE)
    assert put[H.SSE] == "aws:kms" and put[H.KMS_KEY_ID] == kms.kms_key_arn and put[H.BUCKET_KEY] == "true"
    assert orjson.loads(base64.b64decode(put[H.CONTEXT])) == {"aws:s3:arn": "arn:aws:s3:::b/k"}
    get = H.response_headers(kms, H.READ)
    assert H.CONTEXT not in get and H.CONTEXT not in H.response_headers(kms, H.PART)
    no_bucket_key = H.ObjectSse("aws:kms", "arn", {}, False)
    assert H.BUCKET_KEY not in H.response_headers(no_bucket_key, H.READ)
    customer = _customer(KEY_A)
    expected = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                "x-amz-server-side-encryption-customer-key-MD5": MD5_A}
    for op in (H.WRITE, H.PART, H.READ):
        assert H.response_headers(STORED_C, op, customer) == expected
    assert H.response_headers(STORED_C, H.COMPLETE, customer) == expected
    assert H.response_headers(STORED_C, H.COMPLETE, None) == {}


def test_etag_of_each_mode() -> None:
    plain, sealed = hashlib.md5(b"p").hexdigest(), hashlib.md5(b"s").hexdigest()
    assert H.etag(None, plain, sealed) == plain
    assert H.etag("AES256", plain, sealed) == plain
    assert H.etag("aws:kms", plain, sealed) == sealed
    assert H.etag("SSE-C", plain, sealed) == sealed


def test_object_sse_round_trips_through_its_dict() -> None:
    for obj in [H.ObjectSse("AES256"), STORED_C, H.ObjectSse("aws:kms", "arn", {"a": "b"}, True)]:
        assert H.ObjectSse.from_dict(orjson.loads(orjson.dumps(obj.to_dict()))) == obj


# -- bucket default encryption --------------------------------------------------------------------

def _config(rules: str) -> bytes:
    return (f'<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{rules}'
            "</ServerSideEncryptionConfiguration>").encode()


def _rule(algorithm: str = "AES256", extra: str = "", key: str = "") -> str:
    key_el = f"<KMSMasterKeyID>{key}</KMSMasterKeyID>" if key else ""
    return (f"<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>{algorithm}</SSEAlgorithm>{key_el}"
            f"</ApplyServerSideEncryptionByDefault>{extra}</Rule>")


def test_bucket_configurations_parse_and_render() -> None:
    assert B.parse_config(_config(_rule())) == B.BucketEncryption("AES256")
    kms = B.parse_config(_config(_rule("aws:kms", "<BucketKeyEnabled>true</BucketKeyEnabled>", "testkey-1")))
    assert kms == B.BucketEncryption("aws:kms", "testkey-1", True)
    blocked = B.parse_config(_config("<Rule><BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType>"
                                     "</BlockedEncryptionTypes></Rule>"))
    assert blocked == B.BucketEncryption(None, None, False, ("SSE-C",))
    for config in [B.DEFAULT, kms, blocked, B.BucketEncryption("aws:kms")]:
        assert B.parse_config(B.render_config(config)) == config
        assert B.BucketEncryption.from_dict(B.BucketEncryption.to_dict(config)) == config
    rendered = B.render_config(kms).decode()
    assert ("<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm>"
            "<KMSMasterKeyID>testkey-1</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>"
            "<BucketKeyEnabled>true</BucketKeyEnabled></Rule>") in rendered
    assert "<BucketKeyEnabled>false</BucketKeyEnabled>" in B.render_config(B.DEFAULT).decode()
    assert B.not_found().code == "ServerSideEncryptionConfigurationNotFoundError" and B.not_found().status == 404


CONFIG_ERRORS = [
    (_config(""), "MalformedXML"),
    (_config(_rule() + _rule()), "MalformedXML"),
    (b"<ServerSideEncryption>" + _rule().encode() + b"</ServerSideEncryption>", "MalformedXML"),
    (_config(_rule("AES512")), "MalformedXML"),
    (_config("<Rule><ApplyServerSideEncryptionByDefault/></Rule>"), "MalformedXML"),
    (_config(_rule(extra="<BucketKeyEnabled>maybe</BucketKeyEnabled>")), "MalformedXML"),
    (_config("<Rule><BlockedEncryptionTypes><EncryptionType>SSE-S3</EncryptionType></BlockedEncryptionTypes></Rule>"), "MalformedXML"),
    (_config("<Rule><BlockedEncryptionTypes></BlockedEncryptionTypes></Rule>"), "MalformedXML"),
    (b"<ServerSideEncryptionConfiguration><Rule>", "MalformedXML"),
    (_config(_rule("aws:kms:dsse")), "NotImplemented"),
]


@pytest.mark.parametrize("body,code", CONFIG_ERRORS)
def test_bad_bucket_configurations(body: bytes, code: str) -> None:
    assert _error(B.parse_config, body).code == code


def test_a_kms_key_without_kms_is_invalid_argument() -> None:
    err = _error(B.parse_config, _config(_rule("AES256", key="testkey-1")))
    assert (err.code, err.status, err.message) == ("InvalidArgument", 400, B.MSG_KMS_KEY_NOT_APPLICABLE)
    assert err.fields["ArgumentName"] == "ApplyServerSideEncryptionByDefault"


CUSTOMER = H.CustomerKey(os.urandom(32), "md5")
KMS_DEFAULT = B.BucketEncryption("aws:kms", "testkey-1", True)
CHOICES = [
    # (request, bucket default, server default, expected)
    (H.SseRequest(), None, "AES256", H.WriteSse("AES256")),
    (H.SseRequest(), None, None, None),
    (H.SseRequest(), B.DEFAULT, None, H.WriteSse("AES256")),
    (H.SseRequest(), KMS_DEFAULT, "AES256", H.WriteSse("aws:kms", "testkey-1", None, True)),
    (H.SseRequest(), B.BucketEncryption(None, blocked=("SSE-C",)), "AES256", H.WriteSse("AES256")),
    (H.SseRequest("AES256"), KMS_DEFAULT, None, H.WriteSse("AES256")),
    (H.SseRequest("aws:kms"), KMS_DEFAULT, None, H.WriteSse("aws:kms", None, None, True)),
    (H.SseRequest("aws:kms", "k2", {"a": "b"}, False), KMS_DEFAULT, None, H.WriteSse("aws:kms", "k2", {"a": "b"}, False)),
    (H.SseRequest("aws:kms", "k2"), None, "AES256", H.WriteSse("aws:kms", "k2", None, False)),
    (H.SseRequest("AES256", bucket_key=True), None, None, H.WriteSse("AES256")),
    (H.SseRequest(customer=CUSTOMER), KMS_DEFAULT, "AES256", H.WriteSse("SSE-C", customer=CUSTOMER)),
]


@pytest.mark.parametrize("request_sse,bucket,server,expected", CHOICES)
def test_choose(request_sse: H.SseRequest, bucket: B.BucketEncryption | None, server: str | None,
                expected: H.WriteSse | None) -> None:
    assert B.choose(request_sse, bucket, server) == expected


def test_choose_refuses_blocked_sse_c_and_dsse() -> None:
    err = _error(B.choose, H.SseRequest(customer=CUSTOMER), B.BucketEncryption(blocked=("SSE-C",)),
                 requester_arn="arn:aws:iam::123456789012:root", resource_arn="arn:aws:s3:::b/k")
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.message.startswith('User: arn:aws:iam::123456789012:root is not authorized to perform: '
                                  's3:PutObject on resource: "arn:aws:s3:::b/k" because this bucket has blocked')
    assert B.choose(H.SseRequest(customer=CUSTOMER), B.BucketEncryption(blocked=("NONE",))).mode == "SSE-C"
    assert _error(B.choose, H.SseRequest("aws:kms:dsse"), None).code == "NotImplemented"
