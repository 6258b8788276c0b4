"""Every size limit and timeout the gateway enforces, named after the AWS limit it models.

Sources are the ids of ``shared/reference/wire-spec.md`` (CF-LIMITS: the
CloudFront quotas page; CF-CUSTOM: "Request and response behavior for custom
origins"; CF-DIST: distribution settings; ALB-IDLE: the ALB idle timeout).
"""

from __future__ import annotations

MAX_URL = 8192
"""CloudFront: maximum length of a URL, in bytes (CF-LIMITS). Longer: 413, then close (CF-CUSTOM)."""

MAX_REQUEST_HEAD = 20_480
"""CloudFront: maximum length of a request line plus headers, body excluded (CF-LIMITS).
Longer: 413, then close (CF-CUSTOM). The same quota applies to an origin's response head."""

LAMBDA_FILE_DESCRIPTORS = 1024
"""Lambda: open files per execution environment ("File descriptors: 1,024", Lambda quotas).
More: ``EMFILE``, as on AWS."""

FARGATE_NOFILE = 65535
"""Fargate: a task container's ``nofile`` soft and hard limit (the ECS ``Ulimit`` reference:
Fargate overrides only this one; the others are the operating system's)."""

ALLOWED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"})
"""The methods SCF's distribution allows; CloudFront answers any other with 403."""

CLOUDFRONT_ORIGIN_READ_TIMEOUT = 30.0
"""CloudFront's origin response timeout (default 30 s, CF-DIST): longer requests get its 504."""

ALB_IDLE_TIMEOUT = 60.0
"""ALB idle timeout (default 60 s, ALB-IDLE): a task silent that long gets the ALB's 504."""

ORIGIN_CONNECT_TIMEOUT = 10.0
"""CloudFront origin connection timeout (default 10 s, CF-DIST)."""

ORIGIN_KEEPALIVE = 4.0
"""How long an idle keep-alive connection to a task is reused. CloudFront's origin keep-alive
is 5 s (CF-DIST); one second less, so that Node.js servers (which close idle sockets after
5 s) never close one we are about to use."""

VIEWER_HEAD_TIMEOUT = 20.0
"""A request head must arrive whole within this many seconds of its first byte (or of the
connection opening): 408, then close. CloudFront documents no figure; 20 s is ours."""

VIEWER_IDLE_TIMEOUT = 75.0
"""An idle keep-alive viewer connection is closed after this long (nginx's default; CloudFront
documents none)."""
