"""The ``wangge`` command line: batch work over the same use cases (:mod:`service`) as the API.

One module per command group: :mod:`cli.areas` (areas, imports, maps, area
packages), :mod:`cli.grids`, :mod:`cli.network`, :mod:`cli.rules`,
:mod:`cli.serve` (serve, demo); :mod:`cli.common` holds what every command
shares (``--json``, exit codes, hints, progress); :mod:`cli.main` assembles the
app and is the entry point.
"""
