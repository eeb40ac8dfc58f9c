"""``python -m cli``: the same as the ``wangge`` entry point."""

from cli.main import main

main()
