"""directus-gitops: a Directus project's data model under Git."""

__version__ = "0.1.0"
