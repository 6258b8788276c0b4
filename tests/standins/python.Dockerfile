# Stand-in for public.ecr.aws/lambda/python: Debian's python3, the real
# awslambdaric under /var/runtime, the real RIE, the base image's entrypoint.
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
RUN chmod 0755 /usr/local/bin/aws-lambda-rie /lambda-entrypoint.sh /var/runtime/bootstrap && mkdir -p /var/task /opt
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
