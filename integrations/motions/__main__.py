"""``python -m adaptive_sampling_motions ...`` runs the ``motions`` command group."""

from .cli import main

raise SystemExit(main())
