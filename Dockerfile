# Stage 1: fetch htmx from the npm registry, checked against package-lock.json's integrity hash.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && mkdir -p /out \
 && cp node_modules/htmx.org/dist/htmx.min.js \
       "/out/htmx-$(node -p "require('./package.json').dependencies['htmx.org']").min.js"

# Stage 2: the Python service, with the same pinned dependencies as `make run`.
FROM python:3.11-slim-bookworm
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
ENV LPA2_DATA_DIR=/var/lib/lpa2-explorer
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
