from directus_gitops.cli import entry

entry()
