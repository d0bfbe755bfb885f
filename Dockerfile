# Image of the platform: the web process (gunicorn) by default; docker-compose.yml
# runs the Celery worker and beat from the same image with another command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango and a font for WeasyPrint (PDF documents), gettext for compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        fonts-dejavu-core \
        gettext \
    && rm -rf /var/lib/apt/lists/*

# The code stays owned by root, read-only for the process; only DATA_DIR is
# writable. Docker copies /data with its owner into an empty named volume, so
# the volume docker-compose.yml mounts there is writable by this user too.
RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /app --no-create-home app \
    && install -d -o app -g app /data

WORKDIR /app

# Only what runs: no .venv, var/ or .git from the build context.
COPY pyproject.toml ./
COPY config ./config
COPY accounts ./accounts
COPY audit ./audit
COPY awards ./awards
COPY consultations ./consultations
COPY deposits ./deposits
COPY messaging ./messaging
COPY signatures ./signatures
RUN pip install . && rm -rf build ./*.egg-info

COPY manage.py ./
COPY templates ./templates
COPY static ./static
# The glob keeps the build working on a checkout without translations yet:
# git does not keep the empty locale/ directory.
COPY locale* ./locale/

# The processes run the code in /app (BASE_DIR finds templates/, static/ and
# locale/ next to it), not the copy pip installed in site-packages.
ENV PYTHONPATH=/app \
    DJANGO_ENV=production \
    DATA_DIR=/data

# Production settings refuse to load without a secret key and allowed hosts:
# this throwaway pair exists only for this RUN line, never in the image's
# environment. collectstatic writes to /app/var/static, inside the image.
RUN DJANGO_SECRET_KEY=build-only-throwaway-key-not-a-secret-never-used-at-run-time-0123456789 \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 \
    EMAIL_HOST=localhost \
    sh -c 'if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then python manage.py compilemessages; fi \
        && python manage.py collectstatic --noinput' \
    && chown -R app:app /data

USER app

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
