"""Command-line tools: ``posecfg-train``, ``posecfg-test``, ``posecfg-print-config`` (also
``python -m posecfg.tools.<name>`` and ``tools/<name>.py`` in a checkout)."""
