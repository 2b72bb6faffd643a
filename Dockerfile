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
# gunicorn: gthread workers keep connections alive and a slow client does not hold a whole
# worker (this container faces clients with no buffering proxy in front, which sync workers
# need); a request's threads overlap PostgreSQL and Redis round trips. Size it without a
# rebuild: WEB_CONCURRENCY workers (about one per core) x GUNICORN_THREADS threads, each thread
# holding one PostgreSQL connection (CONN_MAX_AGE). Workers are recycled every ~2000 requests;
# the heartbeat file lives in /dev/shm, since a container's overlay filesystem can stall it.
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --worker-class gthread --workers ${WEB_CONCURRENCY:-4} --threads ${GUNICORN_THREADS:-4} --keep-alive 5 --max-requests 2000 --max-requests-jitter 200 --worker-tmp-dir /dev/shm --access-logfile -"]
