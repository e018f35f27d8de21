# syntax=docker/dockerfile:1
# omnivideo's images, built from this checkout (omnivideo is not published on a package index).
#
#   docker build --target api -t omnivideo-api .        # serve --workers 0; no torch
#   docker build --target worker -t omnivideo-worker .  # worker, with torch and the wan engine
#   docker build --target worker --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu \
#     -t omnivideo-worker:cpu .                          # a CPU-only torch (small; preview/relay)
#
# Both install the exact versions of requirements/constraints.txt, as the README's commands do.
# deploy/compose.yaml runs them; docs/deploy.md explains the settings.

ARG PYTHON_VERSION=3.11

# -- what every image shares: Python, an unprivileged user, the data directory ---------------
FROM python:${PYTHON_VERSION}-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/omnivideo \
    PATH=/opt/omnivideo/bin:$PATH \
    OMNIVIDEO_DATA_DIR=/data
RUN groupadd --system omnivideo \
    && useradd --system --gid omnivideo --create-home --home-dir /home/omnivideo omnivideo \
    && mkdir -p /data \
    && chown omnivideo:omnivideo /data

# -- the API's virtual environment: server, PostgreSQL and S3, no torch -----------------------
FROM base AS build-api
WORKDIR /src
RUN python -m venv /opt/omnivideo
COPY pyproject.toml README.md ./
COPY requirements/ requirements/
COPY src/ src/
RUN pip install -c requirements/constraints.txt '.[server,postgres,s3]'

# -- the worker's: the same, plus torch (the build named by the arguments) and the wan engine --
FROM build-api AS build-worker
# The package index torch comes from: PyPI's Linux wheel is built for CUDA; the CPU build is at
# https://download.pytorch.org/whl/cpu, other CUDA builds at https://download.pytorch.org/whl/cuXYZ.
ARG TORCH_INDEX_URL=https://pypi.org/simple
# The torch the lock was resolved against (requirements/torch.txt).
ARG TORCH_VERSION=2.13.0
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
    && pip install -c requirements/constraints.txt '.[server,postgres,s3,wan]'

# -- the API image ----------------------------------------------------------------------------
FROM base AS api
COPY --from=build-api /opt/omnivideo /opt/omnivideo
USER omnivideo
WORKDIR /home/omnivideo
ENV OMNIVIDEO_HOST=0.0.0.0 \
    OMNIVIDEO_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["omnivideo"]
CMD ["serve", "--workers", "0"]

# -- the worker image (the default target) ----------------------------------------------------
FROM base AS worker
COPY --from=build-worker /opt/omnivideo /opt/omnivideo
USER omnivideo
WORKDIR /home/omnivideo
# Models fetched by hub id are cached on the data volume, so a restart does not fetch them again.
ENV HF_HOME=/data/huggingface
EXPOSE 9101
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9101/metrics', timeout=4)"]
ENTRYPOINT ["omnivideo"]
CMD ["worker", "--metrics-port", "9101", "--metrics-host", "0.0.0.0"]
