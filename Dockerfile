FROM python:3.11-slim

# STATIC_MANIFEST holds for the build's collectstatic and for every container run from the
# image alike: pages name hashed static files that only a manifest build produces.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 STATIC_MANIFEST=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config config
COPY leaderboards leaderboards
COPY evaluation evaluation
COPY matchmaking matchmaking
COPY metrics metrics
RUN pip install '.[s3]'
COPY . .
# Collecting static files reads no secret; this key exists only for this step's settings.
RUN DEBUG=0 SECRET_KEY=build-only-never-used-at-run-time python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 versus && mkdir -p /data/media && chown -R versus /data /app
USER versus
EXPOSE 8000
# gunicorn's settings are in gunicorn.conf.py (preloaded gthread workers, sized by
# WEB_CONCURRENCY and GUNICORN_THREADS, heartbeat in /dev/shm, access log on stdout).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi:application"]
