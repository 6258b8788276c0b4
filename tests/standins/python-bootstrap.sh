#!/bin/sh
# /var/runtime/bootstrap of the stand-in Python image: the real runtime
# interface client (awslambdaric, installed under /var/runtime) serving the
# handler named in _HANDLER from /var/task.
cd "${LAMBDA_TASK_ROOT:-/var/task}" || exit 1
exec /usr/bin/python3 -m awslambdaric "$_HANDLER"
