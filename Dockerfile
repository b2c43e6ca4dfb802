# lobstr-dash image: gunicorn serving app:app on $PORT as a non-root user.
# Base images are build arguments so a registry mirror or a locally built base can be used.
# `make image-check` builds without any registry or network: its bases come from debootstrap, and
# its BUILD_IMAGE carries a pip.conf that installs from wheels downloaded on the host.
ARG PYTHON_IMAGE=python:3.11-slim
ARG BUILD_IMAGE=${PYTHON_IMAGE}
ARG NODE_IMAGE=node:20-slim

# htmx: the build context's static/htmx.min.js when it has the pinned sha256 (make fetched it),
# else the npm package htmx.org, checked against the same sha256. The tag is pinned above.
# hadolint ignore=DL3006
FROM ${NODE_IMAGE} AS htmx
WORKDIR /build
COPY static/htmx.* static/
COPY scripts/fetch-htmx.sh scripts/htmx-for-image.sh scripts/
RUN sh scripts/htmx-for-image.sh /build/htmx.min.js

# The dependencies in a virtualenv, copied whole into the final image: no pip cache, no wheels.
# BUILD_IMAGE must be PYTHON_IMAGE or built from it (the venv points at its python).
# hadolint ignore=DL3006
FROM ${BUILD_IMAGE} AS venv
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /venv \
    && /venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt

# The tag is pinned in the PYTHON_IMAGE argument above.
# hadolint ignore=DL3006
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/venv/bin:$PATH \
    PORT=8000 \
    DATA_DIR=/data
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data
WORKDIR /app
COPY --from=venv /venv /venv
COPY app.py gunicorn.conf.py ./
COPY lobstr_dash/ lobstr_dash/
COPY templates/ templates/
COPY static/ static/
COPY --from=htmx /build/htmx.min.js static/htmx.min.js
USER app
EXPOSE 8000
VOLUME ["/data"]
# Asks /healthz on the configured PORT and URL_PREFIX (it stays open when auth is on).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "lobstr_dash.ops.healthcheck"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:app"]
