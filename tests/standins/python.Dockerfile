# Stand-in for public.ecr.aws/lambda/python: Debian's python3, the real
# awslambdaric under /var/runtime, the real RIE, the base image's entrypoint.
# The runtime's bytecode is compiled for the image's Python, as a base image
# ships it: Lambda's /var/runtime is read-only, so no environment compiles it
# at its init (here each one would, about 25 ms of every first invoke).
ARG ROOTFS
FROM ${ROOTFS}
COPY aws-lambda-rie /usr/local/bin/aws-lambda-rie
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
COPY python-bootstrap.sh /var/runtime/bootstrap
COPY pyruntime/ /var/runtime/
ENV LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime \
    PYTHONPATH=/var/runtime:/opt/python \
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin \
    LANG=C.UTF-8 \
    TZ=:UTC
RUN chmod 0755 /usr/local/bin/aws-lambda-rie /lambda-entrypoint.sh /var/runtime/bootstrap && mkdir -p /var/task /opt \
    && python3 -m compileall -q /var/runtime
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
