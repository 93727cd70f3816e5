"""directus-gitops: a Directus project's data model under Git."""

__version__ = "0.1.0"

# Where the tool is installed from until it is on a package index: the install lines in the
# README and docs/ci.md, and the files `init` writes, all name this one repository (a fork
# changes this value, pyproject.toml's Source URL and those docs).
REPOSITORY = "https://github.com/directus-gitops/directus-gitops"
