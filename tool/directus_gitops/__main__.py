from directus_gitops.cli import main

main()
