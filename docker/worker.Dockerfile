# Labeling worker: ONNX Runtime + Celery, no TensorFlow. Slim and non-root.
# Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t catalog-labeler-worker .
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
COPY catalog ./catalog
COPY models ./models
COPY worker ./worker
COPY trainer ./trainer
COPY exporter ./exporter
# constraints.txt is the project's lock: the same versions the tests ran with.
# worker: Celery, Redis, ONNX Runtime, pyarrow; ops: Flower
RUN /opt/venv/bin/pip install --no-cache-dir -c constraints.txt '.[worker,ops]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 catalog \
 && mkdir -p /data && chown catalog /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CATALOG_MODEL_STORE=/data/model-store
USER catalog
WORKDIR /home/catalog
HEALTHCHECK --interval=30s --timeout=10s --retries=3 \
  CMD celery -A worker inspect ping -d "celery@$HOSTNAME" || exit 1
CMD ["catalog", "worker", "--queues", "labeling"]
