# lobstr-dash image: gunicorn serving app:app on $PORT as a non-root user.
# Base images are build arguments so a registry mirror or a locally built base can be used.
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# htmx comes from the npm package htmx.org, checked against the sha256 kept in the repo.
# The tag is pinned in the NODE_IMAGE argument above.
# hadolint ignore=DL3006
FROM ${NODE_IMAGE} AS htmx
WORKDIR /build
COPY static/htmx.version static/htmx.sha256 static/
COPY scripts/fetch-htmx.sh scripts/
RUN sh scripts/fetch-htmx.sh /build/htmx.min.js

# The tag is pinned in the PYTHON_IMAGE argument above.
# hadolint ignore=DL3006
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000 \
    DATA_DIR=/data
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.txt
COPY app.py gunicorn.conf.py ./
COPY lobstr_dash/ lobstr_dash/
COPY templates/ templates/
COPY static/ static/
COPY --from=htmx /build/htmx.min.js static/htmx.min.js
USER app
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:app"]
