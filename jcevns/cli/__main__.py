"""``python -m jcevns.cli``: the ``jcevns`` command."""

import sys

from . import main

sys.exit(main())
