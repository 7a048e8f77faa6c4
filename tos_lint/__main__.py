from tos_lint.cli import main

main()
