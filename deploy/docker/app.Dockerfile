# Frontdoor application image: `frontdoor serve` (webhooks, /healthz, /readyz, /metrics, the
# outbox dispatcher and the scheduler). Guide: docs/deploy.md.
#
# Build from the repository root:
#   docker build -f deploy/docker/app.Dockerfile -t frontdoor-app .
# Migrations are a separate one-off run of the same image, once per release, before the
# serving containers are replaced:
#   docker run --rm --env-file frontdoor.env frontdoor-app frontdoor db upgrade
# Then:
#   docker run -d --init --stop-timeout 60 --env-file frontdoor.env -p 8080:8080 frontdoor-app
#
# Rasa is not in this image: set FRONTDOOR_NLU_URL to a Rasa server (rasa.Dockerfile). Without
# it `serve` would try to build a Rasa environment inside the container and fail.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FRONTDOOR_HOST=0.0.0.0 \
    FRONTDOOR_PORT=8080

# Only what the package needs; .dockerignore keeps everything else (.env, .venv, *.db) out of
# the build context.
COPY pyproject.toml /src/frontdoor/pyproject.toml
COPY bot /src/frontdoor/bot
COPY nlu /src/frontdoor/nlu
COPY adapters /src/frontdoor/adapters
COPY storage /src/frontdoor/storage
COPY frontdoor /src/frontdoor/frontdoor
RUN pip install /src/frontdoor \
    && rm -rf /src/frontdoor \
    && frontdoor serve --help > /dev/null \
    && useradd --system --create-home --home-dir /home/frontdoor --shell /usr/sbin/nologin frontdoor

USER frontdoor
WORKDIR /home/frontdoor
EXPOSE 8080
# SIGTERM lets the sends in flight finish and be recorded: give `docker stop` time for it.
STOPSIGNAL SIGTERM
# --no-migrate: several containers starting at once must not race to migrate; `db upgrade`
# above is the one migration step of a release.
CMD ["frontdoor", "serve", "--no-migrate"]
