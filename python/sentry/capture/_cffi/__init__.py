"""Every cffi binding of the package, in one place.

- :mod:`.build`: how a C module compiled with cffi (API mode) is built, named by its
  sources' hash, installed into this folder and loaded (one helper for all of them).
- :mod:`.scapscan`: the C event-block walker (``scapscan.c``) read by ``capture/scapreader``.
- :mod:`.cstate`: the C state tracker (``inspect/cstate.c``) behind ``inspect/cstate``.
- :mod:`.abi`: the driver ABI headers (``driver/include``) as cffi sees them (ABI mode).
- :mod:`.libbpf`: libbpf.so.1 (ABI mode), for the eBPF source, and the object's sections.
- :mod:`.bpfsettings`: the probe's settings block and configuration (``sentry_bpf.h``).

``python -m sentry.capture._cffi`` compiles every C module into the package.
"""
