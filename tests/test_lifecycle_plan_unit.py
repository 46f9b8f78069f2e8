"""Lifecycle decisions: due dates, the x-amz-expiration header, and the per-key plan of the worker."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.lifecycle import Filter, Rule
from shared.lifecycle_plan import (DELETE_VERSION, EXPIRE_CURRENT, REMOVE_DELETE_MARKER, Action, Due, Version,
                                   abort_headers, applying, due_after, expiration_header, expiry, marker_expiry,
                                   plan_key, plan_upload)

UTC = timezone.utc
DAY = 86_400
T0 = datetime(2014, 1, 15, 10, 30, tzinfo=UTC).timestamp()


def when(*args) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def prefix_rule(rule_id: str, prefix: str = "", **actions) -> Rule:
    return Rule(rule_id, True, Filter("prefix", prefix), **actions)


# -- due dates --------------------------------------------------------------------------------------
@pytest.mark.parametrize("start, days, day, expected", [
    (T0, 3, DAY, when(2014, 1, 19)),                  # AWS's own example: 10:30 + 3 days -> next midnight
    (when(2014, 1, 15), 1, DAY, when(2014, 1, 16)),   # already at midnight: no rounding
    (when(2014, 1, 15, 0, 0, 1), 0, DAY, when(2014, 1, 16)),
    (13, 1, 10, 30),                                  # a 10-second day: the next multiple of 10
    (20, 2, 10, 40),
    (21, 0, 10, 30),
])
def test_due_after(start, days, day, expected):
    assert due_after(start, days, day) == expected


def test_expiration_header_as_s3_tests_read_it():
    """s3-tests check_lifecycle_expiration_header: (expiry - now).days == Days and the rule id."""
    now = datetime.now(UTC).timestamp()
    header = expiration_header(expiry([prefix_rule("rule1", "days1/", expiration_days=1)], "days1/foo", 3, {}, now))
    m = re.search(r'expiry-date="(.+)", rule-id="(.+)"', header)
    expires = parsedate_to_datetime(m.group(1))
    assert (expires - datetime.fromtimestamp(now, UTC)).days == 1 and m.group(2) == "rule1"
    assert expires.hour == expires.minute == expires.second == 0


def test_expiration_header_format():
    due = Due(when(2012, 12, 23), 'picture "deletion" rule é')
    assert expiration_header(due) == ('expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", '
                                      'rule-id="picture %22deletion%22 rule %C3%A9"')
    assert expiration_header(None) is None


@pytest.mark.parametrize("rule_filter, expected", [
    (Filter("tag", tags=(("key1", "tag1"),)), True),                       # test_lifecycle_expiration_header_tags_head
    (Filter("tag", tags=(("key2", "tag1"),)), False),
    (Filter("and", tags=(("key1", "tag1"), ("key5", "tag6"))), False),     # ..._header_and_tags_head
    (Filter("and", tags=(("key1", "tag1"), ("key5", "tag5"))), True),
    (Filter("and", prefix="obj_", size_gt=12), True),
    (Filter("and", prefix="obj_", size_gt=13), False),
    (Filter("lt", size_lt=14), True),
    (Filter("lt", size_lt=13), False),
    (Filter("legacy", "obj_key"), True),
    (Filter("prefix", "other"), False),
    (Filter("empty"), True),
])
def test_header_follows_the_filter(rule_filter, expected):
    rules = [Rule("rule1", True, rule_filter, expiration_days=1)]
    due = expiry(rules, "obj_key1", 13, {"key1": "tag1", "key5": "tag5"}, T0)
    assert (due is not None) == expected


def test_disabled_rules_do_not_apply():
    rules = [Rule("off", False, Filter("empty"), expiration_days=1)]
    assert applying(rules, "k") == [] and expiry(rules, "k", 0, {}, T0) is None


def test_shortest_expiration_wins():
    rules = [prefix_rule("long", expiration_days=30), prefix_rule("short", "a", expiration_days=2),
             prefix_rule("dated", expiration_date=when(2014, 1, 20))]
    assert expiry(rules, "a/x", 0, {}, T0) == Due(when(2014, 1, 18), "short")
    assert expiry(rules, "b/x", 0, {}, T0) == Due(when(2014, 1, 20), "dated")


def test_marker_expiry():
    assert marker_expiry([prefix_rule("m", expired_object_delete_marker=True)], "k", T0) == Due(when(2014, 1, 16), "m")
    assert marker_expiry([prefix_rule("d", expiration_days=5)], "k", T0) == Due(when(2014, 1, 21), "d")
    assert marker_expiry([prefix_rule("f", expired_object_delete_marker=False)], "k", T0) is None
    assert marker_expiry([prefix_rule("t", expiration_date=when(2014, 1, 1))], "k", T0) is None


def test_abort():
    rules = [prefix_rule("rule1", "test1/", abort_days=2), Rule("rule2", False, Filter("legacy", "test2/"), abort_days=3)]
    assert plan_upload(rules, "test1/a", 0, 29, day=10) == "rule1"      # s3-tests test_lifecycle_multipart_expiration
    assert plan_upload(rules, "test1/a", 0, 19, day=10) is None
    assert plan_upload(rules, "test2/", 0, 10_000, day=10) is None
    assert abort_headers(Due(when(2012, 12, 23), "rule1")) == {
        "x-amz-abort-date": "Sun, 23 Dec 2012 00:00:00 GMT", "x-amz-abort-rule-id": "rule1"}
    assert abort_headers(None) == {}


# -- plans (a 10-second day, as s3-tests' lifecycle harness runs) -----------------------------------
D = 10


def versions(*spec: tuple[str, float]) -> list[Version]:
    """Versions newest first from (id, last-modified); an id starting with 'dm' is a delete marker."""
    return [Version(vid, t, delete_marker=vid.startswith("dm")) for vid, t in spec]


def test_unversioned_expiration():
    """s3-tests test_lifecycle_expiration: only keys under the rule's prefix go, once due."""
    rules = [prefix_rule("rule1", "expire1/", expiration_days=1), prefix_rule("rule2", "expire3/", expiration_days=5)]
    assert plan_key(rules, "expire1/foo", versions(("null", 1)), 9, D) == []
    assert plan_key(rules, "expire1/foo", versions(("null", 1)), 20, D) == [Action(EXPIRE_CURRENT, "null", "rule1")]
    assert plan_key(rules, "keep2/foo", versions(("null", 1)), 1000, D) == []
    assert plan_key(rules, "expire3/foo", versions(("null", 1)), 59, D) == []
    assert plan_key(rules, "expire3/bar", versions(("null", 1)), 60, D) == [Action(EXPIRE_CURRENT, "null", "rule2")]


def test_expiration_leaves_a_delete_marker_and_its_version_alone():
    """s3-tests test_lifecycle_expiration_versioning_enabled: 1 version and 1 marker remain."""
    rules = [prefix_rule("rule1", "test1/", expiration_days=1)]
    assert plan_key(rules, "test1/a", versions(("dm1", 5), ("v1", 1)), 1000, D) == []


def test_noncurrent_expiration():
    """s3-tests test_lifecycle_noncur_expiration: the two noncurrent versions go, the current stays."""
    rules = [prefix_rule("rule1", "test1/", noncurrent_days=2)]
    vs = versions(("v3", 13), ("v2", 2), ("v1", 1))        # v1 noncurrent since 2, v2 since 13
    assert plan_key(rules, "test1/a", vs, 29, D) == []
    assert plan_key(rules, "test1/a", vs, 30, D) == [Action(DELETE_VERSION, "v1", "rule1")]
    assert plan_key(rules, "test1/a", vs, 40, D) == [Action(DELETE_VERSION, "v2", "rule1"),
                                                    Action(DELETE_VERSION, "v1", "rule1")]
    assert plan_key(rules, "test2/abc", vs, 1000, D) == []


def test_newer_noncurrent_versions_are_kept():
    """s3-tests test_lifecycle_expiration_newer_noncurrent: 10 versions, keep 5 noncurrent -> 6 remain."""
    rules = [Rule("newer", True, Filter("prefix", ""), noncurrent_days=1, newer_noncurrent=5)]
    vs = versions(*[(f"v{i}", i) for i in range(10, 0, -1)])
    deleted = [a.version_id for a in plan_key(rules, "myobject_", vs, 1000, D)]
    assert deleted == ["v4", "v3", "v2", "v1"]


def test_delete_marker_goes_with_the_last_version():
    """s3-tests test_lifecycle_deletemarker_expiration: version and marker both go; 2 of 4 remain."""
    rules = [prefix_rule("rule1", "test1/", noncurrent_days=1, expired_object_delete_marker=True)]
    vs = versions(("dm1", 2), ("v1", 1))
    assert plan_key(rules, "test1/a", vs, 20, D) == [Action(DELETE_VERSION, "v1", "rule1"),
                                                    Action(REMOVE_DELETE_MARKER, "dm1", "rule1")]
    assert plan_key(rules, "test2/abc", vs, 1000, D) == []


def test_delete_marker_waits_for_expiration_days():
    """s3-tests test_lifecycle_deletemarker_expiration_with_days_tag: the version at 2 days, the marker at 5."""
    rules = [prefix_rule("rule1", "test1/", noncurrent_days=1, expiration_days=5)]
    assert plan_key(rules, "test1/a", versions(("dm1", 2), ("v1", 1)), 20, D) == [Action(DELETE_VERSION, "v1", "rule1")]
    assert plan_key(rules, "test1/a", versions(("dm1", 2)), 59, D) == []
    assert plan_key(rules, "test1/a", versions(("dm1", 2)), 60, D) == [Action(REMOVE_DELETE_MARKER, "dm1", "rule1")]


def test_lone_marker_without_marker_rule_stays():
    assert plan_key([prefix_rule("r", noncurrent_days=1)], "k", versions(("dm1", 1)), 10_000, D) == []


def test_locked_versions_are_not_deleted():
    rules = [prefix_rule("r", noncurrent_days=1, expired_object_delete_marker=True)]
    vs = [Version("dm1", 2, delete_marker=True), Version("v1", 1, locked=True)]
    assert plan_key(rules, "k", vs, 10_000, D) == []


def test_size_and_tag_filters_read_each_version():
    """s3-tests test_lifecycle_expiration_size_gt / _lt and test_lifecycle_expiration_noncur_tags1."""
    gt = [Rule("object_gt1", True, Filter("gt", size_gt=2000), expiration_days=1)]
    assert plan_key(gt, "myobject_small", [Version("v", 0, 1000)], 100, D) == []
    assert plan_key(gt, "myobject_big", [Version("v", 0, 3000)], 100, D) == [Action(EXPIRE_CURRENT, "v", "object_gt1")]
    tagged = [Rule("t", True, Filter("tag", tags=(("k", "v"),)), noncurrent_days=1)]
    vs = [Version("v3", 3), Version("v2", 2, tags={"k": "v"}), Version("v1", 1)]
    assert plan_key(tagged, "key", vs, 100, D) == [Action(DELETE_VERSION, "v2", "t")]


def test_expired_current_and_old_noncurrent_go_together():
    rules = [prefix_rule("r", expiration_days=1, noncurrent_days=1)]
    assert plan_key(rules, "k", versions(("v2", 2), ("v1", 1)), 100, D) == [
        Action(EXPIRE_CURRENT, "v2", "r"), Action(DELETE_VERSION, "v1", "r")]
    assert plan_key(rules, "k", [], 100, D) == []


# -- the plan against a naive reference -------------------------------------------------------------
def ref_due(start: float, days: int) -> float:
    """AWS's words with calendar arithmetic: add the days, then round up to the next midnight UTC."""
    moment = datetime.fromtimestamp(start, UTC) + timedelta(days=days)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight if midnight == moment else midnight + timedelta(days=1)).timestamp()


def ref_selects(rule: Rule, key: str, size: int, tags: dict) -> bool:
    f = rule.filter
    if not rule.enabled or not key.startswith(f.prefix):
        return False
    if any(tags.get(k) != v for k, v in f.tags):
        return False
    return (f.size_gt is None or size > f.size_gt) and (f.size_lt is None or size < f.size_lt)


def ref_first(candidates: list[tuple[float, int, str]], now: float) -> str | None:
    """The rule of the earliest due candidate (earlier rules first among equals), if it is due."""
    if not candidates:
        return None
    at, _, rule_id = sorted(candidates)[0]
    return rule_id if at <= now else None


def ref_plan(rules: list[Rule], key: str, vs: list[Version], now: float) -> list[Action]:
    out = []
    current = vs[0]
    if not current.delete_marker:
        cands = [(ref_due(current.last_modified, r.expiration_days) if r.expiration_days else r.expiration_date, i, r.id)
                 for i, r in enumerate(rules) if ref_selects(r, key, current.size, current.tags)
                 and (r.expiration_days or r.expiration_date is not None)]
        rule_id = ref_first(cands, now)
        if rule_id:
            out.append(Action(EXPIRE_CURRENT, current.version_id, rule_id))
    gone = 0
    for i, v in enumerate(vs[1:], start=1):
        newer_noncurrent = i - 1
        cands = [(ref_due(vs[i - 1].last_modified, r.noncurrent_days), j, r.id) for j, r in enumerate(rules)
                 if ref_selects(r, key, v.size, v.tags) and r.noncurrent_days
                 and (r.newer_noncurrent is None or newer_noncurrent >= r.newer_noncurrent)]
        rule_id = ref_first(cands, now)
        if rule_id and not v.locked:
            out.append(Action(DELETE_VERSION, v.version_id, rule_id))
            gone += 1
    if current.delete_marker and gone == len(vs) - 1:
        cands = [(ref_due(current.last_modified, 0 if r.expired_object_delete_marker else r.expiration_days), j, r.id)
                 for j, r in enumerate(rules) if ref_selects(r, key, 0, {})
                 and (r.expired_object_delete_marker or r.expiration_days)]
        rule_id = ref_first(cands, now)
        if rule_id:
            out.append(Action(REMOVE_DELETE_MARKER, current.version_id, rule_id))
    return out


BASE = int(when(2024, 3, 1))
tags_st = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["1", "2"]), max_size=2)


@st.composite
def rules_st(draw) -> list[Rule]:
    rules = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["empty", "prefix", "prefix", "tag", "and"]))
        f = Filter(kind, draw(st.sampled_from(["", "a", "a", "ab"])) if kind in ("prefix", "and") else "",
                   tuple(draw(tags_st).items()) if kind in ("tag", "and") else (),
                   draw(st.none() | st.integers(0, 50)) if kind == "and" else None)
        expiration = draw(st.sampled_from(["days", "date", "marker", None]))
        rules.append(Rule(
            f"r{i}", draw(st.booleans()) or i == 0, f,
            expiration_days=draw(st.integers(1, 5)) if expiration == "days" else None,
            expiration_date=BASE + DAY * draw(st.integers(0, 8)) if expiration == "date" else None,
            expired_object_delete_marker=True if expiration == "marker" and not f.tags and f.size_gt is None else None,
            noncurrent_days=draw(st.none() | st.integers(1, 3)),
            newer_noncurrent=draw(st.none() | st.integers(1, 3))))
    return rules


@st.composite
def versions_st(draw) -> list[Version]:
    count = draw(st.integers(1, 6))
    times = sorted(draw(st.lists(st.integers(0, 8 * DAY), min_size=count, max_size=count)), reverse=True)
    rare = st.sampled_from([True, False, False, False])
    return [Version(f"v{i}", BASE + t, draw(st.integers(0, 100)), draw(tags_st),
                    delete_marker=draw(st.booleans() if i == 0 else rare), locked=draw(rare))
            for i, t in enumerate(times)]


@settings(max_examples=400, deadline=None)
@given(rules_st(), st.sampled_from(["a", "ab", "abc", "b"]), versions_st(), st.integers(0, 10 * DAY))
def test_plan_matches_reference(rules, key, vs, later):
    now = vs[0].last_modified + later
    assert plan_key(rules, key, vs, now) == ref_plan(rules, key, vs, now)


@settings(max_examples=200, deadline=None)
@given(rules_st(), versions_st(), st.integers(0, 10 * DAY), st.sampled_from([1, 10, 60, 3600]))
def test_a_shorter_day_scales_the_plan(rules, vs, later, day):
    """With a day of `day` seconds, times scaled by day/86400 give the same plan (Days rules only)."""
    rules = [r for r in rules if r.expiration_date is None] or [prefix_rule("r", noncurrent_days=1)]
    scale = DAY // day

    def shrink(t: float) -> float:
        return t / scale
    small = [Version(v.version_id, shrink(v.last_modified), v.size, v.tags, v.delete_marker, v.locked) for v in vs]
    now = vs[0].last_modified + later
    assert plan_key(rules, "a", small, shrink(now), day) == plan_key(rules, "a", vs, now)


@settings(max_examples=200, deadline=None)
@given(rules_st(), st.sampled_from(["a", "ab", "b"]), st.integers(0, 8 * DAY), st.integers(0, 10 * DAY))
def test_lone_marker_matches_reference(rules, key, created, later):
    vs = [Version("dm", BASE + created, delete_marker=True)]
    now = BASE + created + later
    assert plan_key(rules, key, vs, now) == ref_plan(rules, key, vs, now)
