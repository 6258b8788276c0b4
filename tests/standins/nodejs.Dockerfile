# Stand-in for public.ecr.aws/lambda/nodejs:22: the official Node.js build in
# /var/lang/bin, AWS's runtime interface client (npm aws-lambda-ric, its
# native addon built for this Node.js) under /var/runtime, the real RIE, the
# base image's entrypoint.
ARG ROOTFS
FROM ${ROOTFS}
COPY aws-lambda-rie /usr/local/bin/aws-lambda-rie
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
COPY node-bootstrap.sh /var/runtime/bootstrap
COPY node/bin/node /var/lang/bin/node
COPY ric /var/runtime/node_modules/aws-lambda-ric
ENV LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime \
    NODE_PATH=/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task \
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin \
    LANG=C.UTF-8 \
    TZ=:UTC
RUN chmod 0755 /usr/local/bin/aws-lambda-rie /lambda-entrypoint.sh /var/runtime/bootstrap /var/lang/bin/node \
    && mkdir -p /var/task /opt
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
