"""locationConfig.json: what a good file gives, and the message each kind of mistake gets."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.errors import S3Error
from shared.location_routing import bucket_location, location_constraint_reply, location_for_class, object_location
from shared.locations import (DaemonDetails, LocationConfigError, S3Details, check_rest_endpoints, load_locations,
                              parse_locations)
from tests.cluster import REPO_ROOT, SECRET, free_port, s3_client

CREDS = {"accessKey": "AKIDEXAMPLE", "secretKey": "wJalrXUtnFEMI-very-secret"}
DEFAULT = {"type": "file", "legacyAwsBehavior": True, "details": {}}


def remote(**details) -> dict:
    base = {"awsEndpoint": "s3.example.com", "bucketName": "remote-bucket", "bucketMatch": False, "credentials": CREDS}
    return {"type": "aws_s3", "details": {**base, **details}}


def parse(**locations) -> dict:
    return parse_locations(json.dumps({"us-east-1": DEFAULT, **locations}))


def problems_of(text: str) -> list[str]:
    with pytest.raises(LocationConfigError) as err:
        parse_locations(text)
    return err.value.problems


def test_a_worked_example_parses_into_typed_locations():
    found = parse(**{"disk2": {"type": "file", "details": {"host": "10.1.2.3", "port": 9991}},
                     "ram": {"type": "mem", "storageClasses": ["REDUCED_REDUNDANCY"]},
                     "ceph": {**remote(awsEndpoint="http://127.0.0.1:7480", bucketMatch=True, prefix="coffer/"),
                              "objectId": "ceph-1", "storageClasses": ["STANDARD_IA", "GLACIER"]}})
    assert list(found) == ["us-east-1", "disk2", "ram", "ceph"]
    assert found["us-east-1"].type == "file" and found["us-east-1"].legacy_aws_behavior
    assert found["us-east-1"].details == DaemonDetails() and found["us-east-1"].object_id == "us-east-1"
    assert found["disk2"].details == DaemonDetails("10.1.2.3", 9991)
    ceph = found["ceph"].details
    assert isinstance(ceph, S3Details)
    assert (ceph.host, ceph.port, ceph.https, ceph.endpoint) == ("127.0.0.1", 7480, False, "http://127.0.0.1:7480")
    assert ceph.bucket_match and ceph.prefix == "coffer/" and ceph.path_style       # an IP: path-style
    assert ceph.supports_versioning and ceph.region == "us-east-1"
    assert found["ceph"].object_id == "ceph-1"
    assert location_for_class(found, "GLACIER").name == "ceph"
    assert location_for_class(found, "REDUCED_REDUNDANCY").name == "ram"
    assert location_for_class(found, "DEEP_ARCHIVE") is None


def test_endpoint_forms_and_defaults():
    d = parse(r=remote())["r"].details
    assert (d.host, d.port, d.https, d.path_style) == ("s3.example.com", 443, True, False)   # the reference's defaults
    d = parse(r=remote(awsEndpoint="minio.lan:9000", https=False, pathStyle=True, region="eu-west-3"))["r"].details
    assert (d.endpoint, d.path_style, d.region) == ("http://minio.lan:9000", True, "eu-west-3")
    d = parse(r=remote(awsEndpoint="https://[::1]:8443/"))["r"].details
    assert d.endpoint == "https://[::1]:8443"
    assert parse(r=remote(credentials=None, credentialsProfile="backup"))["r"].details.profile == "backup"


def test_secrets_never_show_in_a_location_repr():
    text = repr(parse(r=remote())["r"])
    assert CREDS["secretKey"] not in text and CREDS["accessKey"] not in text


# (what is wrong, the locations, a piece of the one message it must give)
MISTAKES = [
    ("not JSON", "{", "is not valid JSON"),
    ("not an object", "[]", "must be a JSON object of locations"),
    ("no default", {"other": DEFAULT}, "'us-east-1' is missing"),
    ("unknown type", {"x": {"type": "azure"}}, "type must be one of file, mem, aws_s3, not 'azure'"),
    ("no type", {"x": {"details": {}}}, "location 'x': type is missing"),
    ("typo in a field", {"x": {"type": "mem", "detail": {}}}, "unknown field 'detail'"),
    ("location not an object", {"x": "file"}, "location 'x' must be a JSON object"),
    ("bad name", {"a b": DEFAULT}, "a location name is 1 to 255"),
    ("legacy not bool", {"x": {"type": "mem", "legacyAwsBehavior": "yes"}}, "legacyAwsBehavior must be true or false"),
    ("objectId empty", {"x": {"type": "mem", "objectId": ""}}, "objectId must be a non-empty string"),
    ("details not object", {"x": {"type": "file", "details": []}}, "details must be a JSON object"),
    ("aws_s3 without details", {"x": {"type": "aws_s3"}}, "location 'x': details is missing"),
    ("daemon port", {"x": {"type": "file", "details": {"port": 70000}}}, "details.port must be a port number"),
    ("daemon host", {"x": {"type": "file", "details": {"host": "bad host!"}}}, "details.host must be a host name"),
    ("mem detail typo", {"x": {"type": "mem", "details": {"size": 1}}}, "unknown details field 'size'"),
    ("no endpoint", {"x": remote(awsEndpoint=None)}, "details.awsEndpoint is missing"),
    ("endpoint with a path", {"x": remote(awsEndpoint="http://h/bucket")}, "details.awsEndpoint must be a host name"),
    ("endpoint scheme", {"x": remote(awsEndpoint="ftp://h")}, "details.awsEndpoint must be a host name"),
    ("endpoint port", {"x": remote(awsEndpoint="h:99999")}, "has a bad port"),
    ("endpoint host", {"x": remote(awsEndpoint="-h-")}, "details.awsEndpoint must be a host name"),
    ("endpoint userinfo", {"x": remote(awsEndpoint="http://AKID:secret@h")}, "must not carry credentials"),
    ("scheme against https", {"x": remote(awsEndpoint="http://h", https=True)}, "says http but details.https says true"),
    ("no bucket", {"x": remote(bucketName=None)}, "details.bucketName is missing"),
    ("bad bucket", {"x": remote(bucketName="Bad_Bucket")}, "details.bucketName must name the remote bucket"),
    ("no bucketMatch", {"x": remote(bucketMatch=None)}, "details.bucketMatch is missing"),
    ("https not bool", {"x": remote(https="true")}, "details.https must be true or false"),
    ("no credentials", {"x": remote(credentials=None)}, "details needs credentials"),
    ("both credentials", {"x": remote(credentialsProfile="p")}, "gives both credentials and credentialsProfile"),
    ("no secret", {"x": remote(credentials={"accessKey": "a"})}, "details.credentials.secretKey is missing"),
    ("credentials not object", {"x": remote(credentials="a:b")}, "details.credentials must be an object"),
    ("region not string", {"x": remote(region=1)}, "details.region must be a string"),
    ("bad timeout", {"x": remote(readTimeout=0)}, "details.readTimeout must be a number of seconds"),
    ("remote detail typo", {"x": remote(bucketname="b")}, "unknown details field 'bucketname'"),
    ("unknown class", {"x": {"type": "mem", "storageClasses": ["COLD"]}}, "'COLD' is not a storage class"),
    ("class twice", {"x": {"type": "mem", "storageClasses": ["GLACIER", "GLACIER"]}}, "'GLACIER' is listed twice"),
    ("classes not a list", {"x": {"type": "mem", "storageClasses": "GLACIER"}}, "storageClasses must be a list"),
    ("class in two places", {"x": {"type": "mem", "storageClasses": ["GLACIER"]},
                             "y": {**remote(), "storageClasses": ["GLACIER"]}}, "'GLACIER' is served by 'x', 'y'"),
    ("same objectId", {"x": {"type": "mem", "objectId": "us-east-1"}}, "share the objectId 'us-east-1'"),
    ("same daemon store", {"x": {"type": "file"}}, "are the same data daemon store"),
    ("same remote bucket", {"x": remote(), "y": remote(bucketMatch=True)}, "with overlapping prefixes"),
]


@pytest.mark.parametrize("what, locations, message", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_has_its_message(what, locations, message):
    text = locations if isinstance(locations, str) else json.dumps({"us-east-1": DEFAULT, **locations}
                                                                   if "other" not in locations else locations)
    problems = problems_of(text)
    assert any(message in p for p in problems), problems
    assert all(CREDS["secretKey"] not in p for p in problems)


def test_a_name_given_twice_is_a_mistake_json_would_hide():
    text = '{"us-east-1": {"type": "file"}, "x": {"type": "mem"}, "x": {"type": "file", "details": {"port": 1}}}'
    assert problems_of(text) == ["location 'x' is defined twice"]
    text = '{"us-east-1": {"type": "file", "type": "mem"}}'
    assert problems_of(text) == ["location 'us-east-1': field 'type' is given twice"]


def test_every_mistake_is_reported_at_once():
    problems = problems_of(json.dumps({"x": {"type": "nope"}, "y": remote(bucketName=None, credentials=None)}))
    assert len(problems) == 4, problems          # x's type, y's bucket and credentials, no us-east-1
    with pytest.raises(LocationConfigError) as err:
        parse_locations(json.dumps({"x": {"type": "nope"}}), "/etc/coffer/locationConfig.json")
    assert str(err.value).startswith("/etc/coffer/locationConfig.json has 2 problems:")


def test_separate_prefixes_share_a_remote_bucket():
    found = parse(a=remote(prefix="a/"), b=remote(prefix="b/"))
    assert found["a"].details.bucket == found["b"].details.bucket


def test_rest_endpoints_must_name_locations():
    locations = parse(ram={"type": "mem"})
    check_rest_endpoints({"s3.lan": "ram", "localhost": "us-east-1"}, locations)
    with pytest.raises(LocationConfigError, match="'s3.other' maps to 'nowhere'"):
        check_rest_endpoints({"s3.other": "nowhere"}, locations)


def test_environment_picks_the_file(tmp_path):
    assert list(load_locations({})) == ["us-east-1"]
    assert load_locations({})["us-east-1"].type == "file"
    path = tmp_path / "locationConfig.json"
    path.write_text(json.dumps({"us-east-1": DEFAULT, "ram": {"type": "mem"}}))
    assert list(load_locations({"S3_LOCATION_FILE": str(path)})) == ["us-east-1", "ram"]
    conf = tmp_path / "config.json"           # S3DATA=multiple: the file beside the config
    assert list(load_locations({"S3DATA": "multiple", "COFFER_CONFIG": str(conf)})) == ["us-east-1", "ram"]
    with pytest.raises(LocationConfigError, match="cannot be read"):
        load_locations({"S3_LOCATION_FILE": str(tmp_path / "missing.json")})
    with pytest.raises(LocationConfigError, match="S3DATA must be 'multiple'"):
        load_locations({"S3DATA": "scality"})


@pytest.mark.parametrize("role", ["s3server", "serve"])
def test_a_bad_file_stops_the_process_at_start_with_its_message(tmp_path, role):
    path = tmp_path / "locationConfig.json"
    path.write_text(json.dumps({"us-east-1": DEFAULT, "r": remote(awsEndpoint="http://h/x", credentials=None)}))
    env = {"PATH": "/usr/bin:/bin", "S3_LOCATION_FILE": str(path), "COFFER_CLUSTER_SECRET": SECRET,
           "COFFER_PORT": str(free_port()), "S3DATAPATH": str(tmp_path / "d"), "S3METADATAPATH": str(tmp_path / "m")}
    proc = subprocess.run([sys.executable, "-m", "services.cli", role], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"coffer: {path} has 2 problems" in proc.stderr
    assert "details.awsEndpoint must be a host name" in proc.stderr and "details needs credentials" in proc.stderr


CHOICES = parse(**{"eu": {"type": "mem"}, "old": {"type": "mem", "objectId": "o", "legacyAwsBehavior": True,
                                                  "details": {"port": 1}},
                   "cold": {**remote(), "storageClasses": ["GLACIER", "STANDARD_IA"]}})


@pytest.mark.parametrize("constraint, default, expected", [(None, "us-east-1", "us-east-1"), ("", "eu", "eu"),
                                                           ("eu", "us-east-1", "eu"), ("cold", "eu", "cold")])
def test_a_bucket_goes_where_its_location_constraint_says(constraint, default, expected):
    assert bucket_location(CHOICES, constraint, default) == expected


@pytest.mark.parametrize("constraint, message", [("mars-1", "'mars-1' is not a configured location"),
                                                 ("old", "'old' is the default"),
                                                 ("us-east-1", "'us-east-1' is the default")])
def test_a_location_constraint_that_names_no_location_is_invalid(constraint, message):
    with pytest.raises(S3Error) as err:
        bucket_location(CHOICES, constraint)
    assert (err.value.code, err.value.status) == ("InvalidLocationConstraint", 400)
    assert message in err.value.message and err.value.fields == {"LocationConstraint": constraint}


@pytest.mark.parametrize("stored, reply", [("", ""), ("us-east-1", ""), ("old", ""), ("eu", "eu"), ("gone", "gone")])
def test_get_bucket_location_answers_as_aws(stored, reply):
    assert location_constraint_reply(CHOICES, stored) == reply


@pytest.mark.parametrize("bucket_loc, header, cls, expected", [
    ("eu", None, None, "eu"), ("", None, None, "us-east-1"), ("eu", "cold", None, "cold"),
    ("eu", None, "GLACIER", "cold"), ("eu", None, "STANDARD", "eu"), ("eu", None, "DEEP_ARCHIVE", "eu"),
    ("eu", "us-east-1", "GLACIER", "us-east-1")])
def test_an_object_goes_to_its_header_then_its_class_then_its_bucket(bucket_loc, header, cls, expected):
    assert object_location(CHOICES, bucket_loc, header, cls) == expected


def test_an_unknown_object_location_or_class_is_refused():
    with pytest.raises(S3Error) as err:
        object_location(CHOICES, "eu", "nowhere")
    assert err.value.code == "InvalidArgument" and err.value.fields["ArgumentName"] == "x-amz-meta-scal-location-constraint"
    with pytest.raises(S3Error) as err:
        object_location(CHOICES, "eu", None, "FROZEN")
    assert (err.value.code, err.value.status) == ("InvalidStorageClass", 400)


def test_rest_endpoints_give_a_bucket_created_without_constraint_its_location(fresh_cluster, tmp_path):
    (tmp_path / "locationConfig.json").write_text(json.dumps({"us-east-1": DEFAULT, "ram": {"type": "mem"}}))
    (tmp_path / "config.json").write_text(json.dumps({"restEndpoints": {"LocalHost": "ram", "127.0.0.1": "us-east-1"}}))
    c = fresh_cluster(env={"S3_LOCATION_FILE": str(tmp_path / "locationConfig.json"),
                           "COFFER_CONFIG": str(tmp_path / "config.json")})
    by_ip = c.client(s3={"addressing_style": "path"})
    by_name = s3_client(f"http://localhost:{c.s3_ports[0]}", s3={"addressing_style": "path"})
    by_name.create_bucket(Bucket="through-localhost")
    by_ip.create_bucket(Bucket="through-the-ip")
    by_ip.create_bucket(Bucket="named-anyway", CreateBucketConfiguration={"LocationConstraint": "ram"})
    assert by_ip.get_bucket_location(Bucket="through-localhost")["LocationConstraint"] == "ram"
    assert by_ip.get_bucket_location(Bucket="through-the-ip")["LocationConstraint"] is None
    assert by_name.get_bucket_location(Bucket="named-anyway")["LocationConstraint"] == "ram"
    by_name.put_object(Bucket="through-localhost", Key="k", Body=b"x" * 10_000)
    assert by_ip.get_object(Bucket="through-localhost", Key="k")["Body"].read() == b"x" * 10_000


@pytest.mark.parametrize("config, message", [
    ({"restEndpoints": {"s3.lan": "nowhere"}}, "restEndpoints: 's3.lan' maps to 'nowhere', which is not a configured location"),
    ({"restEndpoints": ["s3.lan"]}, 'restEndpoints in the config file must be an object {"host name": "location"}'),
    ({"restEndpoints": [1]}, 'restEndpoints in the config file must be an object {"host name": "location"}'),
])
def test_bad_rest_endpoints_stop_the_front_end_at_start(tmp_path, config, message):
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {"PATH": "/usr/bin:/bin", "COFFER_CONFIG": str(tmp_path / "config.json"), "COFFER_CLUSTER_SECRET": SECRET,
           "COFFER_PORT": str(free_port())}
    proc = subprocess.run([sys.executable, "-m", "services.cli", "s3server"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and message in proc.stderr
