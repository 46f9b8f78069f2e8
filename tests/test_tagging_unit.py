"""Tagging: the Tagging document, the x-amz-tagging header and AWS's limits, as pure functions."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3front.tagging import (COPY, REPLACE, parse_tagging, parse_tagging_header, render_tagging, tagging_count,
                             tagging_directive, tagging_header)
from shared.errors import S3Error

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def doc(*pairs: tuple[str, str]) -> bytes:
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>{tags}</TagSet></Tagging>'.encode()


def error(fn, *args) -> S3Error:
    with pytest.raises(S3Error) as info:
        fn(*args)
    return info.value


# -- the document -----------------------------------------------------------------------------------
@pytest.mark.parametrize("pairs, expected", [
    ([], {}),
    ([("Hello", "World")], {"Hello": "World"}),
    ([("0", "0"), ("1", "1")], {"0": "0", "1": "1"}),
    ([("k", "")], {"k": ""}),                                           # an empty value is a value
    ([("a b+-=._:/@", "é ü 中文 123")], {"a b+-=._:/@": "é ü 中文 123"}),   # AWS's whole repertoire
    ([(str(i), str(i)) for i in range(10)], {str(i): str(i) for i in range(10)}),
    ([("k" * 128, "v" * 256)], {"k" * 128: "v" * 256}),                 # the longest key and value
    ([("ключ", "ж" * 256)], {"ключ": "ж" * 256}),                       # lengths count characters, not bytes
])
def test_valid_documents(pairs, expected):
    assert parse_tagging(doc(*pairs)) == expected


@pytest.mark.parametrize("pairs, code, message, fields", [
    ([(str(i), "v") for i in range(11)], "BadRequest", "Object tags cannot be greater than 10", {}),
    ([("k" * 129, "v")], "InvalidTag", "The TagKey you have provided is invalid", {"TagKey": "k" * 129}),
    ([("", "v")], "InvalidTag", "The TagKey you have provided is invalid", {"TagKey": ""}),
    ([("k", "v" * 257)], "InvalidTag", "The TagValue you have provided is invalid",
     {"TagKey": "k", "TagValue": "v" * 257}),
    ([("a&amp;b", "v")], "InvalidTag", "The TagKey you have provided is invalid", {"TagKey": "a&b"}),
    ([("k", "a,b")], "InvalidTag", "The TagValue you have provided is invalid", {"TagKey": "k", "TagValue": "a,b"}),
    ([("k", "a*b")], "InvalidTag", "The TagValue you have provided is invalid", {"TagKey": "k", "TagValue": "a*b"}),
    ([("aws:x", "v")], "InvalidTag", "Your TagKey cannot be prefixed with aws:", {"TagKey": "aws:x"}),
    ([("AWS:x", "v")], "InvalidTag", "Your TagKey cannot be prefixed with aws:", {"TagKey": "AWS:x"}),
    ([("k", "1"), ("k", "2")], "InvalidTag", "Cannot provide multiple Tags with the same key", {"TagKey": "k"}),
])
def test_refused_documents(pairs, code, message, fields):
    err = error(parse_tagging, doc(*pairs))
    assert (err.code, err.status, err.message, err.fields) == (code, 400, message, fields)


def test_count_is_checked_before_the_tags():
    """AWS answers the count first, even when a tag is also bad."""
    err = error(parse_tagging, doc(*[("aws:x", "v")] + [(str(i), "v") for i in range(10)]))
    assert err.code == "BadRequest"


def test_bucket_limit_is_fifty():
    fifty = [(str(i), "v") for i in range(50)]
    assert len(parse_tagging(doc(*fifty), 50)) == 50
    err = error(parse_tagging, doc(*fifty, ("x", "y")), 50)
    assert (err.code, err.message) == ("BadRequest", "Bucket tag count cannot be greater than 50")


@pytest.mark.parametrize("body", [
    b"",
    b"<Tagging>",
    b"<Tags><TagSet/></Tags>",
    b"<Tagging/>",                                                          # no TagSet
    b"<Tagging><TagSet/><TagSet/></Tagging>",
    b"<Tagging><TagSet/><Other/></Tagging>",
    b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",          # no Value
    b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",      # no Key
    b"<Tagging><TagSet><Tag><Key>k</Key><Key>j</Key><Value>v</Value></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value><Extra/></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Item><Key>k</Key><Value>v</Value></Item></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag><Key><b/></Key><Value>v</Value></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag>text<Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>",
    b'<!DOCTYPE t [<!ENTITY e "x">]><Tagging><TagSet/></Tagging>',            # entities are refused
])
def test_malformed_documents(body):
    assert error(parse_tagging, body).code == "MalformedXML"


def test_pretty_printed_document():
    body = b"<Tagging>\n  <TagSet>\n    <Tag>\n      <Key>k</Key>\n      <Value>v</Value>\n    </Tag>\n  </TagSet>\n</Tagging>"
    assert parse_tagging(body) == {"k": "v"}


def test_render_round_trip_in_key_order():
    body = render_tagging({"foo": "bar", "bar": "", "a&b": "<x>"})
    root = ET.fromstring(body)
    assert root.tag == f"{NS}Tagging"
    pairs = [(t.find(f"{NS}Key").text, t.find(f"{NS}Value").text or "") for t in root.iter(f"{NS}Tag")]
    assert pairs == [("a&b", "<x>"), ("bar", ""), ("foo", "bar")]
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns=')


def test_render_empty_tag_set():
    assert render_tagging({}).endswith(b"<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet></TagSet></Tagging>")


# -- the header -------------------------------------------------------------------------------------
@pytest.mark.parametrize("header, expected", [
    ("", {}),
    ("&", {}),
    ("&&", {}),
    ("key", {"key": ""}),
    ("key=", {"key": ""}),
    ("foo=bar&bar", {"foo": "bar", "bar": ""}),                             # s3-tests test_put_obj_with_tags
    ("Hello=World&foo=bar", {"Hello": "World", "foo": "bar"}),
    ("key1&key2", {"key1": "", "key2": ""}),
    ("a%20b=c+d", {"a b": "c d"}),                                          # %20 and + are both spaces
    ("k=%E4%B8%AD", {"k": "中"}),
    ("k=a%3Db", {"k": "a=b"}),
    ("k=v=w", {"k": "v=w"}),                                               # only the first = splits
])
def test_valid_headers(header, expected):
    assert parse_tagging_header(header) == expected


@pytest.mark.parametrize("header", ["=v", "a=1&=2", "k=1&k=2", "k=%zz", "k=%E4", "k=%", "%ff=1"])
def test_malformed_headers(header):
    err = error(parse_tagging_header, header)
    assert (err.code, err.status) == ("InvalidArgument", 400)
    assert err.message.startswith("The header 'x-amz-tagging' shall be encoded as UTF-8")
    assert err.fields == {"ArgumentName": "x-amz-tagging", "ArgumentValue": header}


@pytest.mark.parametrize("header, code", [
    ("&".join(f"k{i}=v" for i in range(11)), "BadRequest"),
    ("aws%3Ax=1", "InvalidTag"),
    ("k=" + "v" * 257, "InvalidTag"),
    ("k%2Ca=1", "InvalidTag"),
])
def test_header_tags_are_checked_like_documents(header, code):
    assert error(parse_tagging_header, header).code == code


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=20)
                       .filter(lambda k: not k.lower().startswith("aws:")),
                       st.text(st.characters(categories=("L", "N", "Zs")), max_size=20), max_size=10))
def test_header_round_trip(tags):
    assert parse_tagging_header(tagging_header(tags)) == tags


# -- directive and count ----------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(None, COPY), ("COPY", COPY), ("REPLACE", REPLACE)])
def test_directive(value, expected):
    assert tagging_directive(value) == expected


@pytest.mark.parametrize("value", ["", "copy", "Replace", "MOVE"])
def test_bad_directive(value):
    err = error(tagging_directive, value)
    assert (err.code, err.message) == ("InvalidArgument", "Unknown tagging directive.")
    assert err.fields == {"ArgumentName": "x-amz-tagging-directive", "ArgumentValue": value}


def test_count_header():
    assert tagging_count(None) is None
    assert tagging_count({}) is None
    assert tagging_count({"a": "1", "b": "2"}) == "2"
