# One image for all four services (org, tasks, reports, notify); docker-compose.yml picks the
# module to run with `command:`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
RUN pip install . && useradd --system --uid 10001 app
USER app
CMD ["python", "-m", "services.org"]
