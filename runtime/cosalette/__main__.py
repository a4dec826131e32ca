"""``python -m cosalette``: schema tooling for cosalette apps (see ``--help``)."""

from cosalette._cli.main import main

if __name__ == "__main__":
    main()
