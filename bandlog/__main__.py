import sys

from bandlog.cli import main

sys.exit(main())
