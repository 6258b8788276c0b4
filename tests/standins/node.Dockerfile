# Stand-in for the official node image: Debian's nodejs and an npm that runs
# package.json scripts (enough for web apps without dependencies).
ARG ROOTFS
FROM ${ROOTFS}
COPY npm-shim.js /usr/local/bin/npm
RUN chmod 0755 /usr/local/bin/npm
ENV LANG=C.UTF-8
CMD ["node"]
