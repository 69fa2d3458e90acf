# The site's one container image: what `make publish-cloudrun` and `make publish-fly`
# deploy (leftbehind/publish.py), running the same server as `make serve`.
#
# Debian 12 (bookworm), as the machines the tests run on: SQLite 3.40.1. Python 3.11.14
# carries the fix for CPython's quadratic cookie parsing (CVE-2024-7592, fixed in 3.11.10).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LEFTBEHIND_HOME=/app \
    PORT=8080

WORKDIR /app

# Every dependency at the version the tests ran, checked against its hash
# (`make lock` writes requirements.lock from pyproject.toml).
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The project itself, as a package (its build backend is in the lock too).
COPY pyproject.toml README.md build_db.py ./
COPY leftbehind ./leftbehind
RUN pip install --no-deps --no-build-isolation . && rm -rf build leftbehind build_db.py *.egg-info

# What the server reads: metadata, templates, static files and the two built databases
# (postcodes.db, about 170 MB, answers Find my ward's postcodes).
COPY metadata.yml ./
COPY templates ./templates
COPY static ./static
COPY leftbehind.db postcodes.db ./

RUN useradd --system --home-dir /app site && chown -R site /app
USER site

EXPOSE 8080
CMD ["sh", "-c", "exec python -m leftbehind.serve serve --host 0.0.0.0 --port \"$PORT\""]
