"""``python -m sentry.capture._cffi``: compile every C module into the package."""

import sys

from sentry.capture._cffi.build import main

sys.exit(main())
