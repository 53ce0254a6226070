"""``python -m pssnmf ...``: the ``pssnmf`` command (``predict`` and the workflow's stages)."""

import sys

from pssnmf.cli import main

sys.exit(main())
