# SPDX-License-Identifier: MIT
#
# sysscope's node image: `sysscope agent` on every node (deploy/k8s/).
#
#   tests/deploy/build-image.sh      # makes localhost/debian:12, then this
#   podman build --build-arg BASE=localhost/debian:12 -t localhost/sysscope:dev .
#
# BASE is a plain Debian 12 root file system. There is no registry here:
# tests/deploy/make-base-image.sh makes it with debootstrap and imports it.
# Any debian:12 / debian:bookworm-slim works the same.
ARG BASE=localhost/debian:12

# ---- build: the toolchain and the -dev packages (as scripts/install-deps.sh)
FROM ${BASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	make gcc libc6-dev libstdc++-12-dev clang bpftool pkg-config \
	libbpf-dev libelf-dev libdw-dev zlib1g-dev libcap-dev libseccomp-dev \
	libjson-c-dev libmicrohttpd-dev liblzma-dev libdebuginfod-dev \
	libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (.dockerignore keeps the rest out), sources
# last: a source change rebuilds from here, the packages stay cached.
COPY Makefile ./
COPY bpf bpf/
COPY cgroup cgroup/
COPY container container/
COPY src src/
RUN make -j"$(nproc)" OUTPUT=/out all \
 && strip --strip-debug -o /sysscope /out/sysscope

# ---- runtime: the binary and the shared libraries it links, nothing else
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	libbpf1 libelf1 libdw1 zlib1g libjson-c5 libcap2 libseccomp2 libmicrohttpd12 \
	libdebuginfod1 libcurl4 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old \
	/var/log/apt /var/log/dpkg.log
COPY --from=build /sysscope /usr/bin/sysscope
# Fails the build if the binary links a library this stage lacks.
RUN ! ldd /usr/bin/sysscope | grep 'not found' && /usr/bin/sysscope --version
LABEL org.opencontainers.image.title="sysscope" \
      org.opencontainers.image.description="eBPF container-aware node profiler (sysscope agent)" \
      org.opencontainers.image.licenses="MIT"
EXPOSE 8080
ENTRYPOINT ["/usr/bin/sysscope"]
CMD ["agent", "--host-root", "/host", "--proc", "/host/proc"]
