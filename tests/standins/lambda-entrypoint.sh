#!/bin/sh
# Stand-in for the AWS Lambda base images' /lambda-entrypoint.sh.
# Contract reproduced: the single argument is the handler and goes to
# _HANDLER; without AWS_LAMBDA_RUNTIME_API the Runtime Interface Emulator
# serves invokes on :8080 and runs /var/runtime/bootstrap, otherwise the
# bootstrap runs directly against the given Runtime API.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
  exec "$RUNTIME_ENTRYPOINT"
fi
