# Stand-in for public.ecr.aws/lambda/nodejs: Debian's nodejs, a small
# Runtime API client under /var/runtime, the real RIE, the base image's
# entrypoint.
ARG ROOTFS
FROM ${ROOTFS}
COPY aws-lambda-rie /usr/local/bin/aws-lambda-rie
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
COPY node-bootstrap.sh /var/runtime/bootstrap
COPY node-runtime.js /var/runtime/node-runtime.js
ENV LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime \
    NODE_PATH=/opt/nodejs/node_modules:/var/runtime/node_modules \
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin \
    LANG=C.UTF-8 \
    TZ=:UTC
RUN chmod 0755 /usr/local/bin/aws-lambda-rie /lambda-entrypoint.sh /var/runtime/bootstrap && mkdir -p /var/task /opt
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
