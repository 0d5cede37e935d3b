# syntax=docker/dockerfile:1
# The serving image: `offers serve` and `offers publish` with the base install only (no LightFM, MLflow,
# matplotlib or scikit-learn: see the "train" extra in pyproject.toml). The configs ship inside the
# package; the trained models come from a volume at /app/artifacts (see compose.yaml).
#   docker build -t offer-engine .

FROM python:3.11-slim AS build
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --upgrade pip setuptools wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY engine ./engine
# A wheel, not an editable install: the image holds no source tree, only the installed package.
RUN /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-cache-dir /wheels/*.whl

FROM python:3.11-slim AS serve
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 offers \
 && mkdir -p /app/artifacts /app/state \
 && chown -R offers:offers /app
WORKDIR /app
USER offers
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["offers", "serve", "--host", "0.0.0.0", "--port", "8000"]
