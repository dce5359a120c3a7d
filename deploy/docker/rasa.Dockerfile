# Frontdoor's NLU server: Rasa 3.6 (Python 3.10) with the project's trained model, served by the
# project's own `frontdoor nlu serve`. Guide: docs/deploy.md.
#
# Build from the repository root (installs Rasa and trains the model: several minutes, and an
# image of a few GB, most of it TensorFlow):
#   docker build -f deploy/docker/rasa.Dockerfile -t frontdoor-rasa .
#   docker run -d --init --stop-timeout 30 -p 10.0.0.5:5005:5005 frontdoor-rasa
# and set FRONTDOOR_NLU_URL=http://10.0.0.5:5005 for the app. Publish the port on a private
# address only: `rasa run --enable-api` accepts model uploads and training requests unauthenticated.
#
# Rasa needs Python 3.10 (this base image); the `frontdoor` command needs 3.11+, which uv
# installs beside it for the command alone.
FROM python:3.10-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    FRONTDOOR_RASA_PYTHON=/usr/local/bin/python3.10 \
    FRONTDOOR_CACHE_DIR=/opt/frontdoor-cache \
    FRONTDOOR_NLU_PORT=5005 \
    PATH=/opt/frontdoor/bin:$PATH

RUN pip install 'uv>=0.4,<1' \
    && uv venv --python 3.11 /opt/frontdoor \
    && useradd --system --create-home --home-dir /home/frontdoor --shell /usr/sbin/nologin frontdoor \
    && mkdir -p /opt/frontdoor-cache \
    && chown frontdoor: /opt/frontdoor-cache

COPY pyproject.toml /src/frontdoor/pyproject.toml
COPY bot /src/frontdoor/bot
COPY nlu /src/frontdoor/nlu
COPY adapters /src/frontdoor/adapters
COPY storage /src/frontdoor/storage
COPY frontdoor /src/frontdoor/frontdoor
RUN uv pip install --python /opt/frontdoor/bin/python /src/frontdoor && rm -rf /src/frontdoor

# The Rasa environment and the model are built as the user that serves them (serving touches
# the model file to mark it recently used).
USER frontdoor
WORKDIR /home/frontdoor
RUN frontdoor nlu train

EXPOSE 5005
# Inside the container Rasa must listen on all interfaces; the published port decides who can
# reach it. SIGTERM stops Rasa too.
CMD ["frontdoor", "nlu", "serve", "--host", "0.0.0.0", "--port", "5005"]
