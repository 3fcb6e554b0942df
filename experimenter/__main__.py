import sys

from experimenter.cli import main

sys.exit(main())
