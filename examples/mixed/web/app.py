"""The site: a Lambda handler behind a Function URL (payload format 2.0)."""

import json
import os

try:  # the layer in ../layer, mounted at /opt
    from greeting import greet
except ImportError:  # run without the layer

    def greet(name: str) -> str:
        return name


def handler(event, context):
    path = event.get("rawPath", "/")
    if path == "/health":
        return {"statusCode": 200, "body": "ok"}
    page = f"""<!doctype html>
<title>scf-local example</title>
<h1>{greet(os.environ.get("GREETING", "Hello"))}</h1>
<p>You asked for <code>{path}</code> on stage <b>{os.environ.get("STAGE")}</b>,
served by Lambda function <code>{os.environ.get("AWS_LAMBDA_FUNCTION_NAME")}</code>.</p>
<p>Try <a href="/api/hello">/api/hello</a>, served by a Fargate container.</p>
"""
    return {
        "statusCode": 200,
        "headers": {"content-type": "text/html; charset=utf-8"},
        "body": page,
        "cookies": ["visited=1; Path=/"],
    }


if __name__ == "__main__":
    print(json.dumps(handler({"rawPath": "/"}, None), indent=2))
