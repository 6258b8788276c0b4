"""EventBridge event patterns: which events a rule's pattern matches, and which patterns it refuses.

Every verdict is checked against a second implementation, moto's ``EventPattern``, where moto
implements the operator the same way; where moto differs from AWS's documentation (or from
EventBridge's own matcher, aws/event-ruler, where the documentation is silent) the verdict is
AWS's and the case says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto.events.models import EventPattern

from gateway.aws.event_patterns import PatternError, matches, validate_pattern
from gateway.config import load_config
from gateway.errors import ConfigError
from tests.projects import WEB_ON_LAMBDA, make_project

# AWS's example event ("Amazon EventBridge events", "Content filtering ..."), with the fields the
# content-filtering examples look at.
EC2 = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 4,
        "x-limit": 301.8,
        "source-ip": "10.0.0.123",
        "source-ipv6": "2001:db8:85a3::8a2e:370:7334",
        "FileName": "image.PNG",
        "FilePath": "/usr/lib/libc.so",
        "service": "EventBridge",
        "tags": ["blue", "green"],
        "eventVersion": "",
        "responseElements": None,
        "enabled": True,
        "location": {"city": "Seattle", "zip": "98101"},
    },
}


def detail(**fields: Any) -> dict[str, Any]:
    return {"detail": fields}


# (pattern, event, verdict): moto gives the same verdict.
AGREED: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    # exact values; OR within a field, AND across fields; top-level fields
    "source": ({"source": ["aws.ec2"]}, EC2, True),
    "source, other": ({"source": ["aws.s3"]}, EC2, False),
    "or within a field": ({"source": ["aws.s3", "aws.ec2"]}, EC2, True),
    "and across fields": ({"source": ["aws.ec2"], "region": ["eu-west-1"]}, EC2, False),
    "account and region": ({"account": ["111122223333"], "region": ["us-west-1"]}, EC2, True),
    "detail-type and detail": (
        {"detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}},
        EC2,
        True,
    ),
    "case matters": ({"detail": {"state": ["Terminated"]}}, EC2, False),
    "nested object": ({"detail": {"location": {"city": ["Seattle"]}}}, EC2, True),
    "nested object, other": ({"detail": {"location": {"city": ["Paris"]}}}, EC2, False),
    "missing field": ({"detail": {"colour": ["red"]}}, EC2, False),
    "number": ({"detail": {"c-count": [5]}}, EC2, True),
    "number as number": ({"detail": {"c-count": [5.0]}}, EC2, True),
    "number is not its string": ({"detail": {"c-count": ["5"]}}, EC2, False),
    "string is not its number": ({"n": [5]}, {"n": "5"}, False),
    "boolean": ({"detail": {"enabled": [True]}}, EC2, True),
    "boolean, other": ({"detail": {"enabled": [False]}}, EC2, False),
    "null": ({"detail": {"responseElements": [None]}}, EC2, True),
    "empty string": ({"detail": {"eventVersion": [""]}}, EC2, True),
    "empty string is not null": ({"detail": {"responseElements": [""]}}, EC2, False),
    "null is not empty string": ({"detail": {"eventVersion": [None]}}, EC2, False),
    "event array: one element": ({"detail": {"tags": ["green"]}}, EC2, True),
    "event array: none": ({"detail": {"tags": ["red"]}}, EC2, False),
    "resources": ({"resources": [EC2["resources"][0]]}, EC2, True),  # type: ignore[index]
    "event array, empty": ({"resources": ["x"]}, {"resources": []}, False),
    "object is no leaf": ({"detail": {"location": ["Seattle"]}}, EC2, False),
    # prefix, suffix, equals-ignore-case
    "prefix": ({"time": [{"prefix": "2017-12-22"}]}, EC2, True),
    "prefix, other": ({"time": [{"prefix": "2018"}]}, EC2, False),
    "prefix is case-sensitive": ({"detail": {"service": [{"prefix": "eventb"}]}}, EC2, False),
    "prefix ignoring case": (
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}},
        EC2,
        True,
    ),
    "prefix on a number": ({"detail": {"c-count": [{"prefix": "5"}]}}, EC2, False),
    "prefix in an array": ({"detail": {"tags": [{"prefix": "gr"}]}}, EC2, True),
    "suffix": ({"detail": {"FileName": [{"suffix": ".PNG"}]}}, EC2, True),
    "suffix is case-sensitive": ({"detail": {"FileName": [{"suffix": ".png"}]}}, EC2, False),
    "suffix ignoring case": (
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        EC2,
        True,
    ),
    "equals-ignore-case": ({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}}, EC2, True),
    "equals-ignore-case, other": ({"detail": {"state": [{"equals-ignore-case": "running"}]}}, EC2, False),
    "equals-ignore-case on a number": ({"n": [{"equals-ignore-case": "5"}]}, {"n": 5}, False),
    # anything-but
    "anything-but": ({"detail": {"state": [{"anything-but": "initializing"}]}}, EC2, True),
    "anything-but, excluded": ({"detail": {"state": [{"anything-but": "terminated"}]}}, EC2, False),
    "anything-but list": ({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, EC2, False),
    "anything-but number": ({"detail": {"c-count": [{"anything-but": 123}]}}, EC2, True),
    "anything-but number, excluded": ({"detail": {"c-count": [{"anything-but": [4, 5]}]}}, EC2, False),
    "anything-but on a missing field": ({"detail": {"colour": [{"anything-but": "red"}]}}, EC2, False),
    "anything-but, an array with another": ({"detail": {"tags": [{"anything-but": "blue"}]}}, EC2, True),
    "anything-but, an array all excluded": (
        {"detail": {"tags": [{"anything-but": ["blue", "green"]}]}},
        EC2,
        False,
    ),
    "anything-but string vs number": ({"n": [{"anything-but": "5"}]}, {"n": 5}, True),
    "anything-but prefix": ({"region": [{"anything-but": {"prefix": "us-"}}]}, EC2, False),
    "anything-but prefix, other": ({"region": [{"anything-but": {"prefix": "eu-"}}]}, EC2, True),
    "anything-but suffix": ({"detail": {"FileName": [{"anything-but": {"suffix": ".PNG"}}]}}, EC2, False),
    "anything-but suffix, other": (
        {"detail": {"FileName": [{"anything-but": {"suffix": ".jpg"}}]}},
        EC2,
        True,
    ),
    "anything-but ignoring case": (
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}},
        EC2,
        False,
    ),
    "anything-but ignoring case, list": (
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Running", "Stopped"]}}]}},
        EC2,
        True,
    ),
    "anything-but wildcard": (
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        EC2,
        False,
    ),
    "anything-but wildcard, other": (
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/bin/*"}}]}},
        EC2,
        True,
    ),
    # numeric
    "numeric range, docs' example": (
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        EC2,
        True,
    ),
    "numeric, open top": ({"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}, EC2, False),
    "numeric >=": ({"detail": {"c-count": [{"numeric": [">=", 5]}]}}, EC2, True),
    "numeric >": ({"detail": {"c-count": [{"numeric": [">", 5]}]}}, EC2, False),
    "numeric <=": ({"detail": {"x-limit": [{"numeric": ["<=", 301.8]}]}}, EC2, True),
    "numeric = float": ({"detail": {"x-limit": [{"numeric": ["=", 301.80]}]}}, EC2, True),
    "numeric on a string": ({"n": [{"numeric": [">", 0]}]}, {"n": "5"}, False),
    "numeric on a missing field": ({"detail": {"colour": [{"numeric": [">", 0]}]}}, EC2, False),
    "numeric, negative": ({"n": [{"numeric": [">=", -10, "<", 0]}]}, {"n": -0.5}, True),
    "numeric in an array": ({"n": [{"numeric": [">", 5]}]}, {"n": [1, 10]}, True),
    # exists
    "exists": ({"detail": {"state": [{"exists": True}]}}, EC2, True),
    "exists, missing": ({"detail": {"colour": [{"exists": True}]}}, EC2, False),
    "exists false, missing": ({"detail": {"colour": [{"exists": False}]}}, EC2, True),
    "exists false, present": ({"detail": {"state": [{"exists": False}]}}, EC2, False),
    "exists on null": ({"detail": {"responseElements": [{"exists": True}]}}, EC2, True),
    "exists false on null": ({"detail": {"responseElements": [{"exists": False}]}}, EC2, False),
    "exists false under a missing object": ({"detail": {"x": {"y": [{"exists": False}]}}}, EC2, True),
    "exists on an object": ({"detail": {"location": [{"exists": True}]}}, EC2, False),
    "exists false on an object": ({"detail": {"location": [{"exists": False}]}}, EC2, True),
    # wildcard
    "wildcard": ({"detail": {"FilePath": [{"wildcard": "/usr/*/libc.so"}]}}, EC2, True),
    "wildcard, two stars": ({"detail": {"FilePath": [{"wildcard": "*lib*.so"}]}}, EC2, True),
    "wildcard, whole value": ({"detail": {"FilePath": [{"wildcard": "/usr/*"}]}}, EC2, True),
    "wildcard, other": ({"detail": {"FilePath": [{"wildcard": "*/bin/*"}]}}, EC2, False),
    "wildcard escaped star": ({"f": [{"wildcard": "a\\*b"}]}, {"f": "a*b"}, True),
    "wildcard escaped star is no wildcard": ({"f": [{"wildcard": "a\\*b"}]}, {"f": "axb"}, False),
    "wildcard escaped backslash": ({"f": [{"wildcard": "a\\\\*"}]}, {"f": "a\\bc"}, True),
    "wildcard is case-sensitive": ({"detail": {"FileName": [{"wildcard": "*.png"}]}}, EC2, False),
    "wildcard on a number": ({"n": [{"wildcard": "*"}]}, {"n": 5}, False),
    # cidr
    "cidr": ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EC2, True),
    "cidr, outside": ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, EC2, False),
    "cidr IPv6": ({"detail": {"source-ipv6": [{"cidr": "2001:db8::/32"}]}}, EC2, True),
    "cidr IPv6, outside": ({"detail": {"source-ipv6": [{"cidr": "2001:db9::/32"}]}}, EC2, False),
    "cidr, not an address": ({"detail": {"state": [{"cidr": "10.0.0.0/8"}]}}, EC2, False),
    # $or
    "$or at the top": ({"$or": [{"source": ["aws.s3"]}, {"region": ["us-west-1"]}]}, EC2, True),
    "$or, none": ({"$or": [{"source": ["aws.s3"]}, {"region": ["eu-west-1"]}]}, EC2, False),
    "$or in detail, docs' example": (
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 10]}]},
                    {"d-count": [{"numeric": ["<", 5]}]},
                ]
            }
        },
        EC2,
        True,
    ),
    "$or and a field": (
        {"source": ["aws.s3"], "$or": [{"region": ["us-west-1"]}, {"account": ["1"]}]},
        EC2,
        False,
    ),
    # mixing operators in one field
    "mixed operators, one matches": (
        {"detail": {"state": ["running", {"prefix": "term"}, {"numeric": [">", 0]}]}},
        EC2,
        True,
    ),
}

# (pattern, event, verdict, why): AWS's verdict, where moto lacks the rule or differs.
AWS_ONLY: dict[str, tuple[dict[str, Any], dict[str, Any], bool, str]] = {
    "true is not 1": (
        {"n": [1]},
        {"n": True},
        False,
        "moto compares with Python's ==, where True == 1; the docs' values are typed JSON",
    ),
    "numeric on a boolean": (
        {"n": [{"numeric": [">", 0]}]},
        {"n": True},
        False,
        "moto takes booleans for numbers; numeric matching is for JSON numbers only",
    ),
    "numeric beyond 5.0e9": (
        {"n": [{"numeric": [">", 0]}]},
        {"n": 6e9},
        False,
        "the docs: numeric matching only works with values from -5.0e9 to +5.0e9; moto has no limit",
    ),
    "numeric beyond six decimals": (
        {"n": [{"numeric": [">", 0]}]},
        {"n": 0.0000001},
        False,
        "the docs: 6 digits to the right of the decimal point; event-ruler cannot compare it",
    ),
    "an object pattern over an array of objects": (
        {"detail": {"items": {"sku": ["B"]}}},
        detail(items=[{"sku": "A"}, {"sku": "B"}]),
        True,
        "the docs: an array in the event matches if one element matches; moto does not look "
        "inside arrays of objects",
    ),
    "one element must match the whole object": (
        {"detail": {"items": {"sku": ["A"], "qty": [2]}}},
        detail(items=[{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]),
        False,
        "event-ruler matches fields of one array element together (moto: no match either, "
        "since it never looks inside)",
    ),
    "exists on an empty array": (
        {"resources": [{"exists": True}]},
        {"resources": []},
        False,
        "exists works on leaf values and an empty array has none (event-ruler); moto sees a key",
    ),
    "exists false on an empty object": (
        {"detail": {"meta": [{"exists": False}]}},
        detail(meta={}),
        True,
        "an empty object is no leaf (event-ruler); moto keeps {} as a value",
    ),
    "cidr on a number": (
        {"n": [{"cidr": "10.0.0.0/8"}]},
        {"n": 167772161},
        False,
        "IP address matching is for strings; moto's ipaddress takes the integer 167772161 for 10.0.0.1",
    ),
}


def moto(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(EventPattern(json.dumps(pattern), pattern).matches_event(event))


@pytest.mark.parametrize(("pattern", "event", "verdict"), AGREED.values(), ids=AGREED.keys())
def test_matches_as_moto_does(pattern: dict[str, Any], event: dict[str, Any], verdict: bool) -> None:
    validate_pattern(pattern)
    assert matches(pattern, event) is verdict
    assert moto(pattern, event) is verdict


@pytest.mark.parametrize(("pattern", "event", "verdict", "why"), AWS_ONLY.values(), ids=AWS_ONLY.keys())
def test_matches_as_aws_documents(
    pattern: dict[str, Any], event: dict[str, Any], verdict: bool, why: str
) -> None:
    validate_pattern(pattern)
    assert matches(pattern, event) is verdict, why


REFUSED = {
    "not an object": (["aws.ec2"], "is a JSON object"),
    "a bare value": ({"source": "aws.ec2"}, 'source: is "aws.ec2"; a pattern\'s value must be an array'),
    "an empty array": ({"source": []}, "source: is an empty array"),
    "an empty object": ({"detail": {}}, "detail: is an empty object"),
    "an array in an array": ({"source": [["a"]]}, "source[0]: is an array"),
    "an unknown operator": ({"source": [{"contains": "ec2"}]}, "'contains' is not an EventBridge operator"),
    "two operators in one object": ({"a": [{"prefix": "a", "suffix": "b"}]}, "a[0]: has 2 keys"),
    "prefix of a number": ({"a": [{"prefix": 5}]}, "a[0].prefix: is 5; it must be a string"),
    "prefix with another option": (
        {"a": [{"prefix": {"wildcard": "x"}}]},
        "may only hold equals-ignore-case",
    ),
    "numeric with a string": (
        {"a": [{"numeric": [">", "0"]}]},
        "a[0].numeric[1]: the value after '>' must be a number",
    ),
    "numeric unknown operator": (
        {"a": [{"numeric": ["!=", 0]}]},
        'a[0].numeric[0]: "!=" is not allowed here',
    ),
    "numeric upper bound first": ({"a": [{"numeric": ["<", 5, ">", 0]}]}, "use one of >, >="),
    "numeric three terms": ({"a": [{"numeric": [">", 0, "<"]}]}, "must be [operator, number]"),
    "numeric empty range": ({"a": [{"numeric": [">", 5, "<", 5]}]}, "the range is empty"),
    "numeric beyond 5.0e9": ({"a": [{"numeric": [">", 5000000001]}]}, "from -5.0e9 to 5.0e9"),
    "numeric seven decimals": ({"a": [{"numeric": ["=", 0.1234567]}]}, "at most 6 decimals"),
    "exists not boolean": ({"a": [{"exists": "true"}]}, 'a[0].exists: is "true"; it must be true or false'),
    "anything-but null": ({"a": [{"anything-but": None}]}, "null and booleans cannot be excluded"),
    "anything-but mixed list": ({"a": [{"anything-but": ["a", 1]}]}, "only strings or only numbers"),
    "anything-but numeric": ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "may hold one of prefix"),
    "anything-but empty prefix": (
        {"a": [{"anything-but": {"prefix": ""}}]},
        "an empty prefix is not allowed",
    ),
    "wildcard two stars together": (
        {"a": [{"wildcard": "a**b"}]},
        "consecutive wildcard characters at position 1",
    ),
    "wildcard bad escape": ({"a": [{"wildcard": "a\\b"}]}, "invalid escape at position 1"),
    "cidr without a prefix length": ({"a": [{"cidr": "10.0.0.1"}]}, "'10.0.0.1' is not a CIDR block"),
    "cidr not an address": ({"a": [{"cidr": "10.0.0.300/24"}]}, "is not a CIDR block"),
    "$or with one object": ({"$or": [{"a": ["x"]}]}, "$or: must hold at least 2 objects"),
    "$or not objects": ({"$or": ["a", "b"]}, "$or: must be an array of objects"),
    "too long": ({"a": ["x" * 4100]}, "EventBridge allows 4096"),
}


@pytest.mark.parametrize(("pattern", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_patterns_say_what_is_wrong(pattern: Any, message: str) -> None:
    with pytest.raises(PatternError) as caught:
        validate_pattern(pattern)
    assert message in f"{caught.value} {caught.value.hint}"
    assert isinstance(caught.value, ValueError)


INTEGRATION = (
    WEB_ON_LAMBDA
    + """    integrations:
      orders:
        type: awsEventBridge
        pattern:
{pattern}
"""
)


def load_with_pattern(tmp_path: Path, pattern: str):  # type: ignore[no-untyped-def]
    text = INTEGRATION.format(pattern="\n".join(" " * 10 + line for line in pattern.strip().splitlines()))
    return load_config(make_project(tmp_path, text), environ={})


def test_a_valid_pattern_loads(tmp_path: Path) -> None:
    load_with_pattern(tmp_path, 'source: ["shop.orders"]\ndetail:\n  total: [{numeric: [">", 0]}]')


def test_a_refused_pattern_names_file_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_with_pattern(tmp_path, 'source: ["shop.orders"]\ndetail:\n  total: [{numeric: [">", "0"]}]')
    text = str(caught.value)
    assert "serverless.containers.yml:19:" in text
    assert "containers.web.integrations.orders.pattern.detail.total[0].numeric[1]" in text
    assert "the value after '>' must be a number" in text


def test_a_pattern_needs_source_detail_type_or_detail(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="names none of source, detail-type and detail"):
        load_with_pattern(tmp_path, 'account: ["123456789012"]')


# properties

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5_000_000_000, 5_000_000_000),
    st.text(max_size=12),
)
events = st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: k != "$or"), scalars, min_size=1)


@given(events, st.data())
def test_exact_values_from_an_event_match_it(event: dict[str, Any], data: st.DataObject) -> None:
    keys = data.draw(st.lists(st.sampled_from(sorted(event)), min_size=1, unique=True))
    pattern = {k: [event[k]] for k in keys}
    assert matches(pattern, event)
    assert matches(pattern, event) is moto(pattern, event)


@given(events, st.data())
def test_anything_but_its_own_value_never_matches(event: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(event)))
    value = event[key]
    if value is None or isinstance(value, bool):
        return  # anything-but cannot name null or a boolean
    assert not matches({key: [{"anything-but": value}]}, event)
    assert matches({key: [{"exists": True}]}, event) and not matches({key: [{"exists": False}]}, event)
