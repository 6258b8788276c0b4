#!/bin/sh
# /var/runtime/bootstrap of the stand-in Node.js image.
cd "${LAMBDA_TASK_ROOT:-/var/task}" || exit 1
exec /usr/bin/node /var/runtime/node-runtime.js
