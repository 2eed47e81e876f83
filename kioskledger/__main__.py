import sys

from kioskledger.ops.cli import main

sys.exit(main())
