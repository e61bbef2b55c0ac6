# crisismon in a container.
#
#   docker build -t crisismon .
#   docker run --rm -p 127.0.0.1:6066:6066 crisismon            # `crisismon run`: embedded broker + SQLite
#   docker run --rm crisismon worker                             # one worker; needs CRISISMON_BROKER=kafka://…
#
# docker-compose.yml builds this image and runs two `crisismon worker`s and `crisismon web` against
# Kafka and PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Build from a copy of the source, then run from elsewhere so that only the installed package
# (with config/ packed inside it as monitor/_shipped_config) is imported.
WORKDIR /src
COPY . .
RUN pip install . \
    && useradd --create-home --uid 10001 crisismon \
    && mkdir -p /var/lib/crisismon \
    && chown crisismon /var/lib/crisismon

USER crisismon
WORKDIR /var/lib/crisismon
# Listen on every interface inside the container; publish the port to choose who can reach it.
ENV CRISISMON_DATA_DIR=/var/lib/crisismon \
    CRISISMON_WEB_HOST=0.0.0.0 \
    CRISISMON_WEB_PORT=6066
EXPOSE 6066

# The slim image has no curl; Python's urllib asks /readyz (broker and database answer, and a
# worker holds partitions) instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('CRISISMON_WEB_PORT', '6066'), timeout=3)" || exit 1

ENTRYPOINT ["crisismon"]
CMD ["run"]
