"""``python -m solver.render ...``: see solver/render/cli.py."""
import sys

from solver.render.cli import main

if __name__ == "__main__":
    sys.exit(main())
