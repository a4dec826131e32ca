"""``python -m cosactl``: the same as the ``cosactl`` console script."""

from cosactl.cli import main

if __name__ == "__main__":
    main()
