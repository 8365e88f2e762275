# gbgate container image (docs/DEPLOYMENT.md tells how to run it).
#
# Two stages, both plain debian:bookworm, and both install their packages with scripts/install-deps.sh, so the
# image is built from exactly the Debian 12 packages a developer machine uses:
#   build   - build dependencies (install-deps.sh --run-only: no test tools), then a Release build of gbgate
#             and gbsim, and web/vendor/mpegts.js from npm;
#   runtime - only the shared libraries (install-deps.sh --runtime), the two binaries, the config and the web
#             console. No compiler, no -dev packages, no Node.js.
# Layer order is chosen for the build cache: the package layers depend only on install-deps.sh and the npm
# manifest, so a source change rebuilds just the compile and the final copies.
#
# Contract (DESIGN.md section 4): runs `gbgate -c /etc/gbgate/gbgate.conf`; gbgate and gbsim on PATH; SQLite file
# under the /var/lib/gbgate volume; console files in /usr/share/gbgate/www; meant for `--network host`.

FROM debian:bookworm AS build
WORKDIR /src
# Packages first (Debian, and npm for web/vendor/mpegts.js): this layer stays cached until install-deps.sh or
# the npm manifest changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
COPY package.json package-lock.json ./
RUN scripts/install-deps.sh --run-only && rm -rf /var/lib/apt/lists/* /root/.npm
# The context brings web/vendor/mpegts.js too when the machine building the image has it already (where the
# registry is reachable only through the host's own TLS setup, npm inside the build fails). The second
# install-deps run only fetches it if it is still missing; without it the console cannot play, so stop.
COPY . .
RUN scripts/install-deps.sh --run-only \
    && { test -s web/vendor/mpegts.js || { echo "web/vendor/mpegts.js missing: npm install failed" >&2; exit 1; }; } \
    && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGBGATE_TESTS=OFF \
    && cmake --build build --target gbgate gbsim \
    && install -D -s -t /out/bin build/gbgate build/gbsim \
    && cp -a web /out/www \
    && rm -rf build \
    && /out/bin/gbgate --version

FROM debian:bookworm
COPY scripts/install-deps.sh /tmp/gbgate-deps/scripts/install-deps.sh
RUN /tmp/gbgate-deps/scripts/install-deps.sh --runtime \
    && rm -rf /tmp/gbgate-deps /var/lib/apt/lists/* \
    && useradd --system --uid 999 --user-group --home-dir /var/lib/gbgate --no-create-home gbgate \
    && install -d -o gbgate -g gbgate -m 0750 /var/lib/gbgate /var/lib/gbgate/records

COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/www/ /usr/share/gbgate/www/
# The image's config: the documented defaults with the paths that differ in a container (registry, console,
# recordings: all but the console under the /var/lib/gbgate volume). Everything else
# is overridden at `docker run` time with -o section.key=value (see docs/DEPLOYMENT.md).
COPY etc/gbgate.conf /etc/gbgate/gbgate.conf
RUN sed -i -E \
      -e '/^\[storage\]/,/^\[/ s|^[#;]?[[:space:]]*path[[:space:]]*=.*|path = /var/lib/gbgate/gbgate.db|' \
      -e '/^\[http\]/,/^\[/ s|^[#;]?[[:space:]]*www[[:space:]]*=.*|www = /usr/share/gbgate/www|' \
      -e '/^\[record\]/,/^\[/ s|^[#;]?[[:space:]]*dir[[:space:]]*=.*|dir = /var/lib/gbgate/records|' \
      /etc/gbgate/gbgate.conf \
    && grep -q '^path = /var/lib/gbgate/gbgate.db' /etc/gbgate/gbgate.conf \
    && grep -q '^www = /usr/share/gbgate/www' /etc/gbgate/gbgate.conf \
    && grep -q '^dir = /var/lib/gbgate/records' /etc/gbgate/gbgate.conf \
    && gbgate --version

VOLUME /var/lib/gbgate
WORKDIR /var/lib/gbgate
USER gbgate
# Documentation only: the image is meant for --network host. SIP, HTTP (API, FLV, console), RTMP, and the
# shared RTP port; the per-stream RTP range is media.rtp_port_range (see docs/DEPLOYMENT.md).
EXPOSE 5060/udp 5060/tcp 8080/tcp 1935/tcp 10000/udp 10000/tcp
# gbgate handles SIGTERM itself (BYE to devices, storage flushed, exit 0); as PID 1 it must, and it does.
STOPSIGNAL SIGTERM
CMD ["gbgate", "-c", "/etc/gbgate/gbgate.conf"]
