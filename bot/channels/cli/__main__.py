"""`python -m bot.channels.cli` runs the `itbot` command line."""

from bot.channels.cli.main import main

raise SystemExit(main())
