FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config config
COPY leaderboards leaderboards
COPY evaluation evaluation
COPY matchmaking matchmaking
COPY metrics metrics
RUN pip install '.[s3]'
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 versus && mkdir -p /data/media && chown -R versus /data /app
USER versus
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
