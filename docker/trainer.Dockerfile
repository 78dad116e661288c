# Training worker and beat: TensorFlow-CPU, tf2onnx, Celery. Non-root.
# Build from the repository root:
#   docker build -f docker/trainer.Dockerfile -t catalog-labeler-trainer .
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
COPY catalog ./catalog
COPY models ./models
COPY worker ./worker
COPY trainer ./trainer
COPY exporter ./exporter
# train: TF, tf2onnx, scikit-learn, matplotlib; worker: Celery, Redis, ORT
RUN /opt/venv/bin/pip install --no-cache-dir -c constraints.txt '.[train,worker]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 catalog \
 && mkdir -p /data && chown catalog /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MPLCONFIGDIR=/tmp/matplotlib \
    CATALOG_MODEL_STORE=/data/model-store
USER catalog
WORKDIR /home/catalog
HEALTHCHECK --interval=60s --timeout=20s --retries=3 \
  CMD celery -A worker inspect ping -d "celery@$HOSTNAME" || exit 1
CMD ["catalog", "worker", "--queues", "training"]
