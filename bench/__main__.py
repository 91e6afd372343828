import sys

from bench import cold_import
from bench.engine import main

sys.exit(main() or cold_import.main())
