# LPA2 Explorer, production image: `docker build -t lpa2-explorer .`, then
#   docker run -p 8000:8000 -v lpa2-links:/var/lib/lpa2-explorer lpa2-explorer
# (compose.yaml runs two replicas over PostgreSQL). Base images are pinned by digest; the tag
# beside each digest says which release it is (update both together).

# Stage 1: fetch htmx and idiomorph from the npm registry, checked against package-lock.json's
# integrity hashes (the devDependencies, test tools such as axe-core, are left out).
FROM node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0 AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --omit=dev --no-audit --no-fund \
 && mkdir -p /out \
 && cp node_modules/htmx.org/dist/htmx.min.js \
       "/out/htmx-$(node -p "require('./package.json').dependencies['htmx.org']").min.js" \
 && cp node_modules/idiomorph/dist/idiomorph.min.js \
       "/out/idiomorph-$(node -p "require('./package.json').dependencies['idiomorph']").min.js"

# Stage 2: the Python service, with the same pinned dependencies as `make run`.
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/lpa2-explorer
COPY pyproject.toml constraints.txt README.md package.json ./
COPY model ./model
COPY app ./app
RUN pip install --no-cache-dir -c constraints.txt -e .
COPY templates ./templates
COPY static ./static
COPY --from=assets /out/ ./static/vendor/
RUN useradd --system --uid 10001 --no-create-home explorer \
 && mkdir -p /var/lib/lpa2-explorer && chown explorer /var/lib/lpa2-explorer
USER explorer
# The short-link database lives in a volume: recreating the container keeps the links. A
# volume the service cannot write (a bind mount owned by root) still serves every walk and
# the links already made; /readyz and the health check say the store is read-only.
ENV LPA2_DATA_DIR=/var/lib/lpa2-explorer LPA2_HOST=0.0.0.0 LPA2_PORT=8000
VOLUME ["/var/lib/lpa2-explorer"]
EXPOSE 8000
# Readiness, not just liveness: unhealthy when short links cannot be made (the reason is in
# the answer: docker inspect --format '{{json .State.Health}}').
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
# One worker per CPU (LPA2_WORKERS), header/body/write timeouts: app/server.py.
CMD ["python", "-m", "app.server"]
