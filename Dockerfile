# The container image each release publishes as ghcr.io/directus-gitops/directus-gitops:<version>,
# for CI systems that run a command in an image (docs/ci.md). It installs the wheel the release
# built, so the image holds exactly what PyPI gets (docs/releasing.md):
#   python -m build --wheel --outdir dist && docker build -t directus-gitops .
#   docker run --rm -v "$PWD:/repo" -w /repo directus-gitops check
FROM python:3.12-slim

# git: diff, log and status read revisions with it.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    # The repository is mounted from the host or the CI runner, owned by another user than the
    # container's: git refuses such a repository unless told it is safe.
    && git config --system --add safe.directory '*'

COPY dist/*.whl /tmp/wheel/
RUN pip install --no-cache-dir --disable-pip-version-check /tmp/wheel/*.whl && rm -rf /tmp/wheel

WORKDIR /repo
ENTRYPOINT ["directus-gitops"]
CMD ["--help"]
