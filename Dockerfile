# The EntryPoint Engine image: one entry point, `entrypoint`, with subcommands (worker, setup, ...).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY gateway ./gateway
RUN pip install --no-cache-dir . && useradd --system --home /app entrypoint
USER entrypoint
ENTRYPOINT ["entrypoint"]
CMD ["worker"]
