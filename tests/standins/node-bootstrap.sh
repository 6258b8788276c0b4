#!/bin/sh
# /var/runtime/bootstrap of the stand-in Node.js image: AWS's runtime
# interface client on the official Node.js build; it reads the handler from
# _HANDLER (set by /lambda-entrypoint.sh) and the API from
# AWS_LAMBDA_RUNTIME_API.
cd "${LAMBDA_TASK_ROOT:-/var/task}" || exit 1
exec /var/lang/bin/node /var/runtime/node_modules/aws-lambda-ric/index.mjs
